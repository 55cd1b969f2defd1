"""The stall watchdog: a hung worker becomes "stalled" with a diagnosis naming where it hangs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from loratui.runs import launch, stop

from .conftest import FAKE_CMD, wait_for, write_config

pytestmark = pytest.mark.slow


@pytest.fixture
def fast_watchdog(monkeypatch):
    monkeypatch.setenv("LORATUI_STALL_MIN_S", "1")
    monkeypatch.setenv("LORATUI_STALL_POLL_S", "0.1")


def test_hung_fake_worker_is_stalled_with_stacks_then_stop_kills_it(tmp_path, runs_root, fake, fast_watchdog):
    fake(steps=200, delay=0.02, stall_at=6)
    run = launch(write_config(tmp_path), runs_root, worker_cmd=FAKE_CMD)
    st = wait_for(lambda: (s := run.status()).state == "stalled" and s, timeout=30)
    assert "no progress for" in st.detail and "last: step 5" in st.detail
    d = st.stall
    assert d["last_event"]["type"] == "step" and d["last_event"]["step"] == 5
    assert d["threshold_s"] >= 1 and d["age_s"] >= d["threshold_s"]
    assert "stuck_in_fake_step" in d["stacks"], d["stacks_note"]
    assert "fake_worker.py" in d["stacks"]
    assert isinstance(d["gpu"], (list, str)) and (d["gpu"] if isinstance(d["gpu"], list) else "no NVIDIA GPU" in d["gpu"])
    assert d["cpu_percent"] is not None and d["cpu_percent"] < 50  # asleep, not spinning
    assert os.path.isfile(os.path.join(run.dir, "stacks.txt"))
    assert "stalled: no event" in open(run.log_path).read()
    # the runs table and `runs --json` say so
    env = dict(os.environ, LORATUI_RUNS_ROOT=runs_root)
    out = subprocess.run([sys.executable, "-m", "loratui", "runs", "--json"], capture_output=True, text=True, env=env)
    assert json.loads(out.stdout.splitlines()[0])["state"] == "stalled"
    res = stop(run.dir, grace=0.5, kill_after=0.5)
    assert res.how == "SIGKILL" or res.how == "SIGINT"
    assert run.status().state == "stopped"


def test_a_slow_phase_that_resumes_is_running_again(tmp_path, runs_root, fake, fast_watchdog, monkeypatch):
    from loratui.runs.watchdog import StallPolicy, Watchdog

    run_dir = tmp_path / "r"
    run_dir.mkdir()
    ev = run_dir / "events.jsonl"
    ev.write_text("".join(json.dumps({"type": "step", "t": 100.0 + k, "step": k}) + "\n" for k in range(1, 6)))
    dog = Watchdog(str(run_dir), os.getpid(), StallPolicy(factor=10, min_s=2, poll_s=0.1))
    assert list(dog.intervals) == [1.0] * 4  # earlier sections' step times count
    dog.last_t = 1000.0
    assert dog.poll(now=1005.0) is None  # 10 x 1 s median: not yet
    rec = dog.poll(now=1011.0)
    assert rec is not None and rec["threshold_s"] == 10.0 and rec["median_step_s"] == 1.0
    assert rec["stacks"] == "" and "no stack dump handler" in rec["stacks_note"]
    assert dog.poll(now=1020.0) is None  # reported once per silence
    with open(ev, "a") as f:
        f.write(json.dumps({"type": "step", "t": 1021.0, "step": 6}) + "\n")
    dog.poll(now=1021.5)
    assert dog.recovered


@pytest.mark.parametrize("cfg,env,want", [({"stall_factor": 0}, {}, False), ({"stall_minutes": 2}, {}, 120.0),
                                           ({}, {"LORATUI_STALL_MIN_S": "3"}, 3.0)])
def test_policy_from_the_run_config(tmp_path, monkeypatch, cfg, env, want):
    from loratui.runs.watchdog import load_policy

    monkeypatch.delenv("LORATUI_STALL_MIN_S", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    lines = "\n".join(f"{k} = {v}" for k, v in cfg.items())
    (tmp_path / "config.toml").write_text(f"[hardware]\n{lines}\n")
    pol = load_policy(str(tmp_path))
    assert pol.enabled is bool(want)
    if want:
        assert pol.min_s == want


def test_real_worker_hung_in_a_step_names_the_sleeping_frame(tmp_path, runs_root, monkeypatch, fast_watchdog):
    pytest.importorskip("diffusers")
    from loratui.train.tiny_model import build_tiny_model

    from .test_e2e_tiny import _config, _dataset

    monkeypatch.setenv("LORATUI_HANG_AT_STEP", "2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = build_tiny_model(str(tmp_path / "tiny-sd"))
    cfg = _config(str(tmp_path), model, _dataset(str(tmp_path / "data")))
    run = launch(cfg, runs_root)
    # (a slow model load under a 1 s floor may be reported as a stall first; it clears with the next event)
    st = wait_for(lambda: (s := run.status()).state in ("crashed", "failed", "finished") and s or (
        s.state == "stalled" and s.stall["last_event"].get("type") == "step" and s), timeout=300, poll=0.3)
    assert st.state == "stalled", (st.detail, open(run.log_path).read()[-3000:])
    from loratui.runs.watchdog import main_thread_frames

    frames = main_thread_frames(st.stall["stacks"])
    assert frames[0][2] == "hang_for_test" and frames[0][0].endswith(os.path.join("train", "hooks.py"))
    assert any(fn == "micro_step" for _, _, fn in frames)
    assert st.stall["last_event"]["type"] == "step" and st.stall["last_event"]["step"] == 1
    assert stop(run.dir, grace=0.5, kill_after=0.5).how in ("SIGINT", "SIGKILL")
