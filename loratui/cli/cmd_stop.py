"""`loratui stop RUN`: stop a run with a checkpoint (stop file, then SIGINT, then SIGKILL)."""

from __future__ import annotations

import sys

from .common import find_run_dir

HELP = "stop a training run (it saves a resumable checkpoint first); dequeue a queued one"


def add_arguments(p) -> None:
    p.add_argument("run", metavar="RUN", nargs="?", help="run name, unique prefix or folder (default: the running one)")
    p.add_argument("--root", metavar="DIR", default=None, help="a runs root or dataset folder")
    p.add_argument("--grace", type=float, default=120.0, metavar="S",
                   help="seconds to wait for a clean stop before SIGINT (default 120)")
    p.add_argument("--kill-after", type=float, default=30.0, metavar="S",
                   help="seconds after SIGINT before SIGKILL (default 30)")
    p.add_argument("--no-wait", action="store_true", help="only request the stop")


def run(args) -> int:
    from loratui.runs import stop

    run_dir = find_run_dir(args)
    if run_dir is None:
        return 1
    res = stop(run_dir, grace=args.grace, kill_after=args.kill_after, wait=not args.no_wait,
               progress=lambda text: print(text, file=sys.stderr, flush=True))
    print(res.message)
    return 0 if res.ok else 1
