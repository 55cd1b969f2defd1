"""Leave when the terminal is gone.

When an SSH connection drops, the kernel sends SIGHUP to the session's controlling process, which
passes it on or not: under `make demo`, for one, make takes it and loratui never hears of it. Its
terminal then reads as empty forever, and Textual's input thread reads it in a loop, at full speed,
until someone kills the process. Asking the terminal for its settings fails once it is gone (EIO),
which a timer notices; the app then exits the way `q` does (a running training is a separate,
detached process and carries on).
"""

from __future__ import annotations

import os
import sys

CHECK_EVERY_S = 2.0


def watch_terminal(app) -> None:
    """From ``on_mount``: exit ``app`` once its terminal is gone. Nothing is watched in a headless
    app (tests) or when standard input is not a terminal."""
    if app.is_headless:
        return
    try:
        import termios

        fd = sys.__stdin__.fileno() if sys.__stdin__ is not None else -1
        if fd < 0 or not os.isatty(fd):
            return
    except (ImportError, OSError, ValueError):
        return

    def check() -> None:
        if terminal_gone(fd, termios):
            app.exit(return_code=129)  # 128 + SIGHUP, as if the hangup had reached us

    app.set_interval(CHECK_EVERY_S, check, name="terminal-watch")


def terminal_gone(fd: int, termios) -> bool:
    try:
        termios.tcgetattr(fd)
    except (termios.error, OSError):
        return True
    return False
