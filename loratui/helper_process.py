"""Child Python processes loratui starts for a bulk job (reading captions, decoding images):
each is ``sys.executable`` talking over pipes, and is ended here the same way whatever happened."""

from __future__ import annotations

import subprocess


def end_helper(proc: subprocess.Popen) -> None:
    """Stop ``proc`` if it still runs, reap it and close its pipes (never raises for a pipe that
    is already broken)."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for f in (proc.stdin, proc.stdout):
        if f is not None:
            try:
                f.close()
            except OSError:
                pass
