"""`loratui resume RUN`: continue a stopped or crashed run from its last checkpoint, detached."""

from __future__ import annotations

import sys

HELP = "resume a stopped, crashed or failed run from its last checkpoint (detached)"


def add_arguments(p) -> None:
    p.add_argument("run", metavar="RUN", nargs="?", help="run name, unique prefix or folder (default: the latest)")
    p.add_argument("--root", metavar="DIR", default=None, help="a runs root or dataset folder")
    p.add_argument("--queue", action="store_true", help="wait in the queue for the GPU slot")
    p.add_argument("--fresh", action="store_true", help="start over at step 0 (ignore the checkpoint)")


def run(args) -> int:
    from loratui.runs import Run, RunError, find_run, roots_for

    try:
        run = Run(find_run(args.run, roots_for(args.root)))
        run.resume(queue=args.queue, fresh=args.fresh)
    except RunError as e:
        print(f"loratui: {e}", file=sys.stderr)
        return 1
    st = run.status()
    print(f"{run.name}: {st.state}; follow it: loratui attach {run.name}")
    return 0
