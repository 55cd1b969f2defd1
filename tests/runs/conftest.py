"""Run tests: a fake worker launched exactly like the real one, configs in temporary folders."""

from __future__ import annotations

import os
import sys
import time

import pytest

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_worker.py")
FAKE_CMD = [sys.executable, "-u", FAKE]


def write_config(folder, name="mylora") -> str:
    from loratui.config.model import SubsetConfig, TrainConfig

    os.makedirs(folder, exist_ok=True)
    cfg = TrainConfig()
    cfg.model.base = "base.safetensors"  # never loaded by the fake worker; a config needs one to launch
    cfg.dataset.root = str(folder)
    cfg.dataset.subsets = [SubsetConfig("1_x", 1, "")]
    cfg.output.dir = "out"
    cfg.output.name = name
    path = os.path.join(folder, f"{name}.toml")
    cfg.save(path)
    return path


def wait_for(pred, timeout=15.0, poll=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(poll)
    raise AssertionError("timed out waiting")


@pytest.fixture
def runs_root(tmp_path):
    root = str(tmp_path / "runs")
    yield root
    _kill_leftovers(root)


def _kill_leftovers(root: str) -> None:
    """A failed test must not leave its detached workers training: SIGKILL them by their recorded id."""
    import signal

    from loratui.runs import layout as L
    from loratui.runs.proc import alive

    for d in L.list_run_dirs(root):
        pr = L.read_json(os.path.join(d, L.PROCESS), {}) or {}
        for key in ("worker", "supervisor"):
            ident = pr.get(key)
            if ident and alive(ident):
                try:
                    os.kill(int(ident["pid"]), signal.SIGKILL)
                except OSError:
                    pass


@pytest.fixture
def fake(monkeypatch):
    def set_(**opts):
        import json

        monkeypatch.setenv("FAKE_WORKER", json.dumps(opts))
    set_()
    return set_
