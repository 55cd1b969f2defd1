"""`loratui undo DIR`: undo the last tag edit (the journal survives restarts)."""

from __future__ import annotations

import sys

from .common import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, add_dataset_args, open_dataset, print_recovery

HELP = "undo the last tag edit made by loratui on this dataset"
DIRECTION = "undo"


def add_arguments(p) -> None:
    add_dataset_args(p)
    p.add_argument("--list", action="store_true", help="show the edit history instead")


def run(args, direction: str = DIRECTION) -> int:
    ds = open_dataset(args)
    if ds is None:
        return EXIT_USAGE
    print_recovery(ds)
    if args.list:
        entries, pos = ds.history()
        if not entries:
            print("no edits recorded")
        for i, d in enumerate(entries, 1):
            mark = "*" if i <= pos else " "
            print(f"{mark} {i:>3}  {d}")
        print("(* = applied; `loratui undo` reverts the last applied, `loratui redo` re-applies the next)")
        return EXIT_OK
    result = ds.undo() if direction == "undo" else ds.redo()
    if result is None:
        print(f"nothing to {direction}", file=sys.stderr)
        return EXIT_ERROR
    print(result.summary())
    if result.already:
        print(f"  {result.already:,} file(s) already held that text")
    for p in result.refused:
        print(f"  refused {p.path}: {p.message}", file=sys.stderr)
    return EXIT_PARTIAL if result.refused else EXIT_OK
