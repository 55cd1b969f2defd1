"""The run commands end to end through `loratui ...` in a subprocess (fake worker)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from loratui.runs import Run, launch

from .conftest import FAKE_CMD, wait_for, write_config

pytestmark = pytest.mark.slow


def cli(*args, env=None, timeout=60):
    return subprocess.run([sys.executable, "-m", "loratui", *args], capture_output=True, text=True,
                          env=env or dict(os.environ), timeout=timeout)


def test_runs_table_stop_resume_logs(tmp_path, runs_root, fake):
    fake(steps=2000, delay=0.01, noisy=True)  # long enough to still run on a loaded machine
    run = launch(write_config(tmp_path), runs_root, worker_cmd=FAKE_CMD)
    wait_for(lambda: run.progress().step >= 3)
    table = cli("runs")
    assert table.returncode == 0 and run.name in table.stdout and "running" in table.stdout
    rows = [json.loads(x) for x in cli("runs", "--json", "--root", runs_root).stdout.splitlines()]
    assert rows[0]["name"] == run.name and rows[0]["state"] == "running"
    s = cli("stop", run.name, "--grace", "10")
    assert s.returncode == 0 and "stopped cleanly" in s.stdout, (s.stdout, s.stderr)
    assert "stopped" in cli("runs").stdout
    assert cli("stop", run.name).returncode == 1  # not running any more
    r = cli("resume", run.name, env=dict(os.environ, FAKE_WORKER=json.dumps({"steps": 2000, "delay": 0.001})))
    assert r.returncode == 0, r.stderr
    lg = cli("logs", run.name, "-f")
    assert lg.returncode == 0 and "worker ended: exit status 0" in lg.stdout and "noise 3" in lg.stdout
    assert Run(run.dir).status().state == "finished"
    ev = cli("logs", run.name, "--events", "-n", "1")
    assert json.loads(ev.stdout)["type"] == "finished"
    assert cli("attach", "nope").returncode == 1


def test_runs_start_and_refusal(tmp_path, runs_root, fake, monkeypatch):
    """`loratui runs start` uses the real worker command; the config is bad, so the run fails
    or crashes, and the CLI says where to look."""
    monkeypatch.setenv("LORATUI_RUNS_ROOT", runs_root)
    cfg = write_config(tmp_path)
    refused = cli("runs", "start", cfg)  # the dataset check runs first, as for `train --detach`
    assert refused.returncode == 1 and "--ignore-check" in refused.stderr, refused.stderr
    assert not os.path.isdir(runs_root) or not os.listdir(runs_root)
    out = cli("runs", "start", cfg, "--ignore-check")
    assert out.returncode == 0, out.stderr
    assert "loratui attach" in out.stdout
    name = out.stdout.split(":")[0]
    run = Run(os.path.join(runs_root, name))
    st = wait_for(lambda: (s := run.status()).state in ("failed", "crashed") and s, timeout=60)
    assert st.report  # the worker's error (no images in this dataset) is the report
    att = cli("attach", name)
    assert att.returncode == 1 and ("error" in att.stdout or "crash" in att.stdout)


def test_train_detach_flags_are_checked(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("schema_version = 1\n")
    p = subprocess.run([sys.executable, "-m", "loratui", "train", str(cfg), "--detach", "--run-dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "--run-dir and --detach" in p.stderr
    p = subprocess.run([sys.executable, "-m", "loratui", "train", str(cfg), "--queue"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "go with --detach" in p.stderr


def test_train_runs_the_dataset_check_first(tmp_path):
    from loratui.config import new_config

    data = tmp_path / "data" / "10_char"
    data.mkdir(parents=True)
    (data / "a.png").write_bytes(b"")  # zero-byte image: an error finding
    (data / "a.txt").write_text("char")
    cfg = new_config(str(tmp_path / "data"), "character", base=str(tmp_path / "nomodel"))
    path = tmp_path / "c.toml"
    cfg.save(str(path))
    p = subprocess.run([sys.executable, "-m", "loratui", "train", str(path)], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 1
    assert "dataset check found" in p.stderr and "--ignore-check" in p.stderr and "a.png" in p.stderr
    p = subprocess.run([sys.executable, "-m", "loratui", "train", str(path), "--ignore-check"],
                       capture_output=True, text=True, timeout=120)
    assert "launching despite" in p.stderr  # the override lets it through (the missing model stops it later)
