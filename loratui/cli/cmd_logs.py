"""`loratui logs RUN [-f]`: the worker's output (stdout/stderr) or its events."""

from __future__ import annotations

import sys

from .common import find_run_dir

HELP = "print a run's worker log (-f: follow it until the run ends; --events: the event log)"


def add_arguments(p) -> None:
    p.add_argument("run", metavar="RUN", nargs="?", help="run name, unique prefix or folder (default: the latest)")
    p.add_argument("--root", metavar="DIR", default=None, help="a runs root or dataset folder")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing until the run ends")
    p.add_argument("-n", "--lines", type=int, default=0, metavar="N", help="only the last N lines")
    p.add_argument("--events", action="store_true", help="the event log (events.jsonl) instead")


def run(args) -> int:
    import os

    from loratui.runs import tail_lines
    from loratui.runs.text import follow_log

    run_dir = find_run_dir(args)
    if run_dir is None:
        return 1
    path = os.path.join(run_dir, "events.jsonl" if args.events else "worker.log")
    if args.lines:
        for ln in tail_lines(path, args.lines, max_bytes=max(64 << 10, args.lines * 400)):
            print(ln)
    else:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                for chunk in iter(lambda: f.read(1 << 16), ""):
                    sys.stdout.write(chunk)
        except FileNotFoundError:
            print(f"loratui: {path}: nothing logged yet", file=sys.stderr)
    if args.follow:
        from loratui.runs.follow import LineFollower

        try:
            st = os.stat(path).st_size
        except OSError:
            st = 0
        try:
            follow_log(path, run_dir, follower=LineFollower(path, offset=st))
        except KeyboardInterrupt:
            return 0
    return 0
