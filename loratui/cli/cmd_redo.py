"""`loratui redo DIR`: re-apply the last undone tag edit."""

from __future__ import annotations

from . import cmd_undo

HELP = "re-apply the last undone tag edit"


def add_arguments(p) -> None:
    cmd_undo.add_arguments(p)


def run(args) -> int:
    return cmd_undo.run(args, direction="redo")
