"""`loratui doctor RUN`: what happened to a run and what to try next."""

from __future__ import annotations

import json

from .common import find_run_dir

HELP = "explain a run's state (running, stalled, crashed, failed, stopped...) and what to try next"


def add_arguments(p) -> None:
    p.add_argument("run", metavar="RUN", nargs="?", help="run name, unique prefix or folder (default: the latest)")
    p.add_argument("--root", metavar="DIR", default=None, help="a runs root or dataset folder")
    p.add_argument("--json", action="store_true", help="the diagnosis as one JSON object")


def run(args) -> int:
    from loratui.runs.doctor import diagnose, format_diagnosis

    run_dir = find_run_dir(args)
    if run_dir is None:
        return 1
    dg = diagnose(run_dir)
    print(json.dumps(dg.to_dict()) if args.json else format_diagnosis(dg))
    return 0
