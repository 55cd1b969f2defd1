"""`loratui [open] DIR`: open a dataset in the TUI."""

from __future__ import annotations

import os
import sys

HELP = "open a dataset folder in the TUI (the default: `loratui DIR`)"


def add_ui_arguments(p) -> None:
    p.add_argument("--images", choices=["auto", "kitty", "sixel", "halfcell", "none"], default=None,
                   help="how previews are drawn (default: detected, or your saved setting)")
    p.add_argument("--theme", default=None, metavar="NAME", help="colour theme (saved as your default)")


def add_arguments(p) -> None:
    p.add_argument("dir", metavar="DIR", nargs="?", default=".", help="dataset folder (default: current folder)")
    p.add_argument("--caption-ext", default=".txt", metavar="EXT", help="caption file extension (default .txt)")
    add_ui_arguments(p)


def open_tui(root: str, caption_ext: str, args) -> int:
    if not os.path.isdir(root):
        print(f"loratui: {root}: no such folder", file=sys.stderr)
        return 2
    from loratui.tui.app import run_app

    return run_app(root, caption_ext=caption_ext, images=args.images, theme=args.theme)


def run(args) -> int:
    return open_tui(args.dir, args.caption_ext, args)
