"""Diagnostics inside the worker: the stack dump handler, and the test hooks that make a run hang
or produce a NaN loss on purpose (so the watchdog and the NaN guard are tested on the real worker).

- ``install_stack_dump(run_dir)``: ``faulthandler`` dumps every thread's Python stack into
  ``RUN_DIR/stacks.txt`` on SIGUSR1 (from C, so it works while the main thread is stuck in a
  kernel call or holding the GIL). The supervisor's watchdog sends the signal.
- ``$LORATUI_HANG_AT_STEP=N``: the micro-step that produces update N sleeps
  (``$LORATUI_HANG_SECONDS``, default an hour) inside ``hang_for_test``.
- ``$LORATUI_NAN_AT_STEP=N``: the loss of update N becomes NaN.
"""

from __future__ import annotations

import os

STACKS_FILE = "stacks.txt"  # loratui.runs.watchdog.STACKS_FILE
STACK_SIGNAL = "SIGUSR1"
HANG_ENV = "LORATUI_HANG_AT_STEP"
HANG_SECONDS_ENV = "LORATUI_HANG_SECONDS"
NAN_ENV = "LORATUI_NAN_AT_STEP"

_kept: list = []  # faulthandler keeps the fd, not the file object: keep the object open too


def install_stack_dump(run_dir: str | None) -> str | None:
    """Register the dump; returns the signal's name (announced in the ``start`` event) or None."""
    import faulthandler
    import signal

    sig = getattr(signal, STACK_SIGNAL, None)
    if run_dir is None or sig is None or not hasattr(faulthandler, "register"):
        return None
    try:  # never through a symlink planted in the run folder
        fd = os.open(os.path.join(run_dir, STACKS_FILE), os.O_WRONLY | os.O_APPEND | os.O_CREAT
                     | getattr(os, "O_NOFOLLOW", 0), 0o600)
        f = os.fdopen(fd, "a", encoding="utf-8")
    except OSError:
        return None
    _kept.append(f)
    faulthandler.register(sig, file=f, all_threads=True, chain=False)
    return STACK_SIGNAL


def uninstall_stack_dump() -> None:
    import faulthandler
    import signal

    sig = getattr(signal, STACK_SIGNAL, None)
    if sig is not None and hasattr(faulthandler, "unregister") and _kept:
        faulthandler.unregister(sig)
    while _kept:
        _kept.pop().close()


def _env_step(name: str) -> int | None:
    v = os.environ.get(name, "").strip()
    return int(v) if v.isdigit() else None


def hang_for_test(step: int) -> None:
    """Sleep here when ``$LORATUI_HANG_AT_STEP`` names this update (the watchdog test's hang)."""
    if _env_step(HANG_ENV) == step:
        import time

        time.sleep(float(os.environ.get(HANG_SECONDS_ENV, "3600") or 3600))


def nan_for_test(loss, step: int):
    """The loss, or NaN when ``$LORATUI_NAN_AT_STEP`` names this update."""
    if _env_step(NAN_ENV) == step:
        return loss * float("nan")
    return loss
