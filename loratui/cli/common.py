"""Helpers shared by CLI commands: opening a dataset with a clear message, printing problems."""

from __future__ import annotations

import sys

from loratui.dataset import Dataset, DatasetError


def add_dataset_args(parser, required: bool = True) -> None:
    if required:
        parser.add_argument("dir", metavar="DIR", help="dataset folder (kohya layout: 10_name/img.png + img.txt)")
    else:
        parser.add_argument("dir", metavar="DIR", nargs="?", default=None,
                            help="dataset folder (kohya layout: 10_name/img.png + img.txt)")
    parser.add_argument("--caption-ext", default=".txt", metavar="EXT",
                        help="caption file extension (default .txt; kohya configs often use .caption)")


def open_dataset(args) -> Dataset | None:
    """Open ``args.dir`` or print why not (returns None)."""
    try:
        return Dataset.open(args.dir, args.caption_ext)
    except DatasetError as e:
        print(f"loratui: {e}", file=sys.stderr)
        return None


def print_recovery(ds: Dataset) -> None:
    for p in ds.recovery:
        print(f"loratui: {p}", file=sys.stderr)


EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
"""Some files were refused (read-only, changed outside): the rest was written."""


def find_run_dir(args) -> str | None:
    """The run folder ``args.run``/``args.root`` name, or None after saying why."""
    from loratui.runs import RunError, find_run, roots_for

    try:
        return find_run(args.run, roots_for(args.root))
    except RunError as e:
        print(f"loratui: {e}", file=sys.stderr)
        return None
