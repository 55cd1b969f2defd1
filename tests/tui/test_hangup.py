"""The app leaves when its terminal is gone, even when no SIGHUP reaches it (a parent such as
make takes the hangup): before, Textual's input thread read the dead terminal in a loop at full
speed until someone killed the process. The real CLI on a pseudo-terminal, in a subprocess."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

from .helpers import make_dataset


def test_the_app_exits_when_its_terminal_is_closed(tmp_path):
    root = make_dataset(tmp_path / "ds")
    master, slave = os.openpty()
    env = dict(os.environ, TERM="xterm-256color", LORATUI_CONFIG_DIR=str(tmp_path / "config"),
               HF_HUB_OFFLINE="1", COLUMNS="100", LINES="30")
    proc = subprocess.Popen(
        [sys.executable, "-m", "loratui", str(root), "--images", "none"],
        stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
        # as under a parent that keeps the hangup to itself: none would reach the app anyway
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    os.close(slave)
    try:
        seen = b""
        deadline = time.monotonic() + 60
        while b"Images" not in seen:  # the dataset screen is drawn: the app runs
            assert time.monotonic() < deadline and proc.poll() is None, seen[-2000:]
            if select.select([master], [], [], 0.5)[0]:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break
        os.close(master)  # the terminal goes away (a dropped SSH connection)
        master = -1
        assert proc.wait(timeout=30) != 0
    finally:
        if master >= 0:
            os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
