"""`loratui` entry point. Subcommands live in ``loratui/cli/cmd_*.py``; each module defines
``HELP``, ``add_arguments(parser)`` and ``run(args) -> int`` and imports nothing heavy at module
level (``loratui --help`` must not import torch, onnxruntime, ...)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# (command, module under loratui.cli). Keep the order: it is the order of `loratui --help`.
COMMANDS: list[tuple[str, str]] = [
    ("open", "cmd_open"),
    ("demo", "cmd_demo"),
    ("stats", "cmd_stats"),
    ("check", "cmd_check"),
    ("tags", "cmd_tags"),
    ("undo", "cmd_undo"),
    ("redo", "cmd_redo"),
    ("config", "cmd_config"),
    ("inspect", "cmd_inspect"),
    ("tag", "cmd_tag"),
    ("models", "cmd_models"),
    ("train", "cmd_train"),
    ("runs", "cmd_runs"),
    ("attach", "cmd_attach"),
    ("stop", "cmd_stop"),
    ("resume", "cmd_resume"),
    ("logs", "cmd_logs"),
    ("doctor", "cmd_doctor"),
]

EPILOG = """\
examples:
  loratui ~/datasets/mychar          open a dataset folder in the TUI
  loratui demo                       open the built-in demo workspace
  loratui stats DIR                  summary of a dataset
  loratui tags DIR --rename "blonde hair=yellow hair" --dry-run
  loratui undo DIR                   undo the last edit (works across restarts)

every command has --help."""


def build_parser() -> argparse.ArgumentParser:
    from loratui import __version__

    parser = argparse.ArgumentParser(
        prog="loratui",
        description="From a folder of images to a trained LoRA, in a terminal.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"loratui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS:
        mod = importlib.import_module(f"loratui.cli.{module}")
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(_module=mod)
    return parser


def _looks_like_dataset(folder: str) -> bool:
    """A kohya subset folder, or a folder holding one or holding images (top level only: cheap)."""
    from loratui.dataset.scan import IMAGE_EXTS, SUBSET_RE

    if SUBSET_RE.match(os.path.basename(os.path.abspath(folder))):
        return True
    try:
        with os.scandir(folder) as it:
            for e in it:
                if SUBSET_RE.match(e.name) and e.is_dir():
                    return True
                if os.path.splitext(e.name)[1].lower() in IMAGE_EXTS:
                    return True
    except OSError:
        return False
    return False


def _tolerant_output() -> None:
    """File names that are not valid UTF-8 reach Python as lone surrogates; printing one must show
    it escaped (``\\udcff``), not end the command with UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):  # replaced streams (tests, pipes closed)
            pass


def _unknown_command(argv: list[str], names: set[str]) -> bool:
    """A first word that is neither a command nor an existing path, followed by ``--help`` or close to
    a command name, is a mistyped command (not a folder to open): say so (exit 2)."""
    import difflib

    word = argv[0]
    if os.path.exists(word):
        return False
    close = difflib.get_close_matches(word, sorted(names), n=1, cutoff=0.75)
    if not close and "--help" not in argv and "-h" not in argv:
        return False
    hint = f"; did you mean `loratui {close[0]}`?" if close else ""
    print(f"loratui: unknown command {word!r}{hint} (commands: {', '.join(n for n, _ in COMMANDS)}; "
          "`loratui --help` describes them)", file=sys.stderr)
    return True


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    names = {name for name, _ in COMMANDS}
    if not argv and not _looks_like_dataset(os.getcwd()):
        # bare `loratui` outside a dataset: scanning this folder (perhaps a home directory) would
        # be slow and pointless; say how to start instead
        build_parser().print_help()
        print("\nno dataset here: give a dataset folder (`loratui DIR`) or try `loratui demo`")
        return 0
    if argv and argv[0] not in names and not argv[0].startswith("-") and _unknown_command(argv, names):
        return 2
    # `loratui DIR` and bare `loratui` (inside a dataset) mean `loratui open ...`
    if not argv or (argv[0] not in names and not argv[0].startswith("-")) or (
        argv[0].startswith("--") and argv[0] not in ("--help", "--version") and "-h" not in argv
    ):
        argv = ["open", *argv]
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_module", None) is None:
        parser.print_help()
        return 2
    from loratui.dataset.journal import JournalError
    from loratui.dataset.safe_paths import UnsafePath

    _tolerant_output()
    try:
        return int(args._module.run(args) or 0)
    except (JournalError, UnsafePath) as e:  # refusals with their own message, never a traceback
        print(f"loratui: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
