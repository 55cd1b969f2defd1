"""`loratui demo`: create the demo workspace once and open the TUI on it."""

from __future__ import annotations

HELP = "open the built-in demo workspace (created on first use)"


def add_arguments(p) -> None:
    p.add_argument("--path", metavar="DIR", help="where to create/open the demo (default: your user data dir)")
    p.add_argument("--no-open", action="store_true", help="only create it and print its path")
    p.add_argument("--no-model", action="store_true",
                   help="skip the tiny random-weight training model (and its ready config)")
    from .cmd_open import add_ui_arguments

    add_ui_arguments(p)


def run(args) -> int:
    import sys

    from loratui.demo import create_demo, ensure_demo_training

    root = create_demo(args.path)
    if not args.no_model:
        ensure_demo_training(root, log=lambda m: print(f"loratui: {m}", file=sys.stderr))
    if args.no_open:
        print(root)
        return 0
    from .cmd_open import open_tui

    return open_tui(root, ".txt", args)
