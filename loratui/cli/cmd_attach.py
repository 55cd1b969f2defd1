"""`loratui attach [RUN]`: follow a run live, in any terminal (or in the TUI with --tui)."""

from __future__ import annotations

import sys

from .common import find_run_dir

HELP = "follow a training run live (Ctrl-C detaches; the run goes on)"
DESCRIPTION = """\
Print a run's progress as it happens: events as lines, the step counter as one updating status
line. Without RUN: the running run (or the latest one). Ctrl-C detaches; the run keeps training.
--tui opens the live monitor (charts, GPU, samples) instead."""


def add_arguments(p) -> None:
    p.add_argument("run", metavar="RUN", nargs="?", help="run name, unique prefix or folder")
    p.add_argument("--root", metavar="DIR", default=None, help="a runs root or dataset folder")
    p.add_argument("--tui", action="store_true", help="open the TUI monitor on the run")
    p.add_argument("--once", action="store_true", help="print what happened so far and exit")


def run(args) -> int:
    run_dir = find_run_dir(args)
    if run_dir is None:
        return 1
    if args.tui:
        from loratui.tui.screens.monitor.app import run_monitor

        return run_monitor(run_dir)
    from loratui.runs.text import follow_text

    try:
        st = follow_text(run_dir, follow=not args.once)
    except KeyboardInterrupt:
        print("\ndetached; the run goes on", file=sys.stderr)
        return 0
    return 0 if st.state in ("finished", "running", "queued", "stopped", "starting", "created", "stalled") else 1
