"""Detached runs with a fake worker: state, crash report, stop escalation, resume, queue, conflicts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from loratui.runs import Run, RunError, find_run, launch, stop
from loratui.runs import layout as L

from .conftest import FAKE_CMD, wait_for, write_config

pytestmark = pytest.mark.slow


def final_state(run, timeout=20.0):
    return wait_for(lambda: (s := run.status()).state not in ("running", "starting", "queued") and s, timeout)


def test_launch_detached_runs_to_finished(tmp_path, runs_root, fake):
    run = launch(write_config(tmp_path), runs_root, worker_cmd=FAKE_CMD)
    assert run.status().state == "running"
    pr = L.read_json(os.path.join(run.dir, L.PROCESS))
    assert pr["worker"]["pid"] != os.getpid() and pr["supervisor"]["host"] and pr["command"][-1] == run.dir
    assert os.getsid(pr["supervisor"]["pid"]) != os.getsid(0)  # its own session: no SIGHUP from our terminal
    st = final_state(run)
    assert st.state == "finished" and st.detail == "fake.safetensors"
    p = run.progress()
    assert p.step == 20 and p.epoch_marks == [10, 20] and p.terminal["type"] == "finished"
    assert "worker ended: exit status 0" in open(run.log_path).read()
    assert os.path.islink(os.path.join(run.dir, "output"))
    assert L.read_json(os.path.join(run.dir, L.RECORD))["output_file"].endswith("out/mylora.safetensors")


def test_sigkill_worker_is_crashed_with_report(tmp_path, runs_root, fake):
    fake(steps=2000, delay=0.02, noisy=True)
    run = launch(write_config(tmp_path), runs_root, worker_cmd=FAKE_CMD)
    wait_for(lambda: run.progress().step >= 3)
    os.kill(L.read_json(os.path.join(run.dir, L.PROCESS))["worker"]["pid"], signal.SIGKILL)
    st = final_state(run)
    assert st.state == "crashed"
    assert "SIGKILL" in st.detail and "out of memory" in st.detail
    assert any(line.startswith("noise ") for line in st.report)  # the last lines of the worker's output


def test_stale_pid_after_reboot_is_not_running(tmp_path, runs_root, fake):
    run = launch(write_config(tmp_path), runs_root, worker_cmd=FAKE_CMD)
    final_state(run)
    pr_path = os.path.join(run.dir, L.PROCESS)
    pr = L.read_json(pr_path)
    # the pids now belong to "another process" (this test), or to another boot of this machine
    for k in ("supervisor", "worker"):
        pr[k].update(pid=os.getpid(), ticks="1")
    L.write_json(pr_path, pr)
    assert run.status().state == "finished"
    with open(os.path.join(run.dir, L.EVENTS)) as f:
        lines = f.readlines()
    with open(os.path.join(run.dir, L.EVENTS), "w") as f:
        f.writelines(lines[:-3])  # no final event
    os.unlink(os.path.join(run.dir, L.EXIT))
    from loratui.runs.proc import identity

    for k in ("supervisor", "worker"):
        pr[k] = dict(identity(os.getpid()), boot_id="another-boot")
    L.write_json(pr_path, pr)
    st = run.status()
    assert st.state == "crashed" and "vanished" in st.detail


def test_error_event_is_failed_with_the_error(tmp_path, runs_root, fake):
    fake(fail_at=3)
    run = launch(write_config(tmp_path), runs_root, worker_cmd=FAKE_CMD)
    st = final_state(run)
    assert st.state == "failed" and "fake failure" in st.detail and "RuntimeError: fake failure" in st.report[-1]


def test_stop_then_resume_finishes(tmp_path, runs_root, fake):
    fake(steps=400, delay=0.01)
    run = launch(write_config(tmp_path), runs_root, worker_cmd=FAKE_CMD)
    wait_for(lambda: run.progress().step >= 5)
    res = stop(run.dir, grace=10)
    assert res.how == "stop_file", res.message
    st = run.status()
    assert st.state == "stopped" and "step" in st.detail
    stopped_at = run.progress().step
    assert os.path.exists(os.path.join(run.dir, "stop"))
    fake(steps=400, delay=0.001)
    run.resume()
    assert not os.path.exists(os.path.join(run.dir, "stop"))
    st = final_state(run)
    assert st.state == "finished"
    p = run.progress()
    assert [e["type"] for e in _events(run) if e["type"] in ("start", "resumed")] == ["start", "start", "resumed"]
    assert next(e for e in _events(run) if e["type"] == "resumed")["step"] == stopped_at
    assert p.steps == list(range(1, 401))
    with pytest.raises(RunError, match="finished"):
        run.resume()


def test_stop_escalates_to_sigkill_for_a_hung_worker(tmp_path, runs_root, fake):
    fake(steps=100000, delay=0.01, hang=True)
    run = launch(write_config(tmp_path), runs_root, worker_cmd=FAKE_CMD)
    wait_for(lambda: run.progress().step >= 2)
    said = []
    res = stop(run.dir, grace=0.5, kill_after=0.5, progress=said.append)
    assert res.how == "SIGKILL" and len(said) == 3
    st = run.status()
    assert st.state == "stopped" and "killed" in st.detail
    assert L.read_json(os.path.join(run.dir, L.EXIT))["by_stop"] is True


def test_save_now_request(tmp_path, runs_root, fake):
    fake(steps=300, delay=0.01)
    run = launch(write_config(tmp_path), runs_root, worker_cmd=FAKE_CMD)
    wait_for(lambda: run.progress().step >= 2)
    run.save_now()
    wait_for(lambda: run.progress().checkpoints)
    assert not os.path.exists(os.path.join(run.dir, L.SAVE_NOW))
    stop(run.dir, grace=10)


def test_same_output_is_refused_while_active(tmp_path, runs_root, fake):
    fake(steps=300, delay=0.01)
    cfg = write_config(tmp_path)
    a = launch(cfg, runs_root, worker_cmd=FAKE_CMD)
    with pytest.raises(RunError, match="already writes"):
        launch(cfg, runs_root, worker_cmd=FAKE_CMD)
    assert len(L.list_run_dirs(runs_root)) == 1  # the refused run left nothing behind
    other = write_config(tmp_path / "b", name="other")
    b = launch(other, runs_root, worker_cmd=FAKE_CMD)  # another output name is fine
    stop(a.dir, grace=10)
    stop(b.dir, grace=10)
    c = launch(cfg, runs_root, worker_cmd=FAKE_CMD)  # a stopped run no longer holds the name
    stop(c.dir, grace=10)


def test_queue_runs_one_after_another(tmp_path, runs_root, fake):
    fake(steps=30, delay=0.01)
    a = launch(write_config(tmp_path / "a", name="a"), runs_root, queue=True, worker_cmd=FAKE_CMD)
    b = launch(write_config(tmp_path / "b", name="b"), runs_root, queue=True, worker_cmd=FAKE_CMD)
    assert a.status().state in ("running", "starting")
    assert b.status().state == "queued"
    assert final_state(a).state == "finished"
    assert final_state(b, 30).state == "finished"
    a_end = _events(a)[-1]["t"]
    b_start = _events(b)[0]["t"]
    assert b_start >= a_end  # never side by side


def test_queue_slots_per_gpu_run_side_by_side(tmp_path, runs_root, fake):
    fake(steps=100, delay=0.01)
    a = launch(write_config(tmp_path / "a", name="a"), runs_root, queue=True, gpu=0, worker_cmd=FAKE_CMD)
    b = launch(write_config(tmp_path / "b", name="b"), runs_root, queue=True, gpu=1, worker_cmd=FAKE_CMD)
    c = launch(write_config(tmp_path / "c", name="c"), runs_root, queue=True, gpu=0, worker_cmd=FAKE_CMD)
    assert b.status().state in ("running", "starting") and c.status().state == "queued"
    assert stop(c.dir).how == "dequeued" and c.status().state == "stopped"
    for r in (a, b):
        stop(r.dir, grace=10)


def test_clone_and_find(tmp_path, runs_root, fake):
    run = launch(write_config(tmp_path), runs_root, worker_cmd=FAKE_CMD)
    final_state(run)
    twin = run.clone(name="twin")
    assert twin.status().state == "created"
    assert open(os.path.join(twin.dir, "config.toml")).read() == open(os.path.join(run.dir, "config.toml")).read()
    assert find_run("twin", [runs_root]) == twin.dir
    assert find_run(run.name, [runs_root]) == run.dir
    assert find_run(run.dir) == run.dir
    run.clone()  # mylora-DATE-TIME-2
    with pytest.raises(RunError, match="matches 2"):
        find_run("mylora", [runs_root])  # the prefix of both names
    with pytest.raises(RunError, match="no run named"):
        find_run("nope", [runs_root])
    twin.resume()
    assert final_state(twin).state == "finished"


def test_reattach_from_a_new_process(tmp_path, runs_root, fake):
    """Launch from one process that exits at once; follow from another (like a new SSH session)."""
    fake(steps=40, delay=0.02)
    cfg = write_config(tmp_path)
    env = dict(os.environ, FAKE_WORKER=json.dumps({"steps": 40, "delay": 0.02}))
    code = ("import sys; from loratui.runs import launch; "
            f"r = launch({cfg!r}, {runs_root!r}, worker_cmd={FAKE_CMD!r}); print(r.dir)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=30)
    assert p.returncode == 0, p.stderr
    run_dir = p.stdout.strip()
    att = subprocess.run([sys.executable, "-m", "loratui", "attach", run_dir], capture_output=True, text=True,
                         env=env, timeout=60)
    assert att.returncode == 0, att.stderr
    assert "finished: fake.safetensors" in att.stdout and "step 40/40" in att.stdout
    assert Run(run_dir).status().state == "finished"


def _events(run):
    from loratui.train.events import read_events

    return read_events(run.events_path)
