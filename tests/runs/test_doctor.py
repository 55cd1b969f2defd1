"""`loratui doctor`: a diagnosis and concrete advice for each state, from crafted run folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from loratui.runs import layout as L
from loratui.runs.doctor import diagnose, format_diagnosis
from loratui.runs.proc import identity

NOW = time.time()


def make_run(root, name="r1", events=(), exit=None, log="", stall=None, alive=False, **cfg_over) -> str:
    from loratui.config.model import TrainConfig

    d = os.path.join(str(root), name)
    os.makedirs(d)
    cfg = TrainConfig()
    cfg.optim.mixed_precision = "fp16"
    for dotted, v in cfg_over.items():
        sec, key = dotted.split("__")
        setattr(getattr(cfg, sec), key, v)
    cfg.save(os.path.join(d, L.CONFIG))
    L.write_json(os.path.join(d, L.RECORD), {"name": name, "launches": [{"t": NOW - 100}], "output_file": "/o/x.safetensors"})
    with open(os.path.join(d, L.EVENTS), "w") as f:
        for k, ev in enumerate(events):
            f.write(json.dumps({"v": 1, "t": NOW - 90 + k, **ev}) + "\n")
    with open(os.path.join(d, L.LOG), "w") as f:
        f.write(log)
    if exit is not None:
        L.write_json(os.path.join(d, L.EXIT), {"ended": NOW - 5, **exit})
    ident = identity(os.getpid()) if alive else {"pid": 999999999, "ticks": "1"}
    L.write_json(os.path.join(d, L.PROCESS), {"started": NOW - 99, "supervisor": ident, "worker": ident})
    if stall is not None:
        L.write_json(os.path.join(d, "stall.json"), stall)
    return d


START = {"type": "start", "pid": 1, "spec": {"epochs": 2}}
STEP = {"type": "step", "step": 5, "total_steps": 20, "epoch": 1, "loss": 0.1, "it_s": 2.0, "eta_s": 30}


def test_finished_points_at_the_file(tmp_path):
    d = make_run(tmp_path, events=[START, STEP, {"type": "finished", "step": 20, "epoch": 2, "path": "/o/x.safetensors",
                                                 "seconds": 100}])
    dg = diagnose(d)
    assert dg.state == "finished" and "/o/x.safetensors" in " ".join(dg.facts) and "inspect" in dg.advice[0]


def test_stopped_says_resume_and_where(tmp_path):
    d = make_run(tmp_path, events=[START, STEP, {"type": "stopped", "step": 5, "epoch": 1, "reason": "stop_file",
                                                 "checkpoint": "/c"}])
    dg = diagnose(d)
    assert dg.state == "stopped" and "loratui resume r1" in dg.advice[0] and "step 5" in dg.advice[0]


def test_nan_failure_suggests_learning_rate_and_precision(tmp_path):
    err = {"type": "error", "kind": "nan", "step": 6, "message": "the loss became nan at step 6", "checkpoint": "/c"}
    d = make_run(tmp_path, events=[START, STEP, err], optim__unet_lr=1e-3)
    dg = diagnose(d)
    text = format_diagnosis(dg)
    assert dg.state == "failed" and "NaN" in dg.finding and "step 6" in dg.finding
    assert "optim.unet_lr = 0.001 -> 0.0001" in text and '"fp16" -> "bf16"' in text
    assert "loratui resume r1" in text and "before the NaN" in text


def test_cuda_oom_failure_lists_the_settings_that_lower_vram(tmp_path):
    err = {"type": "error", "message": "OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"}
    d = make_run(tmp_path, events=[START, err], optim__batch_size=4)
    dg = diagnose(d)
    text = format_diagnosis(dg)
    assert "out of memory" in dg.finding
    assert "optim.gradient_checkpointing = true" in text and "optim.batch_size = 4 -> 2" in text


def test_crash_by_sigkill_is_the_kernel_oom_killer(tmp_path):
    d = make_run(tmp_path, events=[START, STEP], exit={"rc": -9, "signal": 9}, log="step\nstep\n")
    dg = diagnose(d)
    assert dg.state == "crashed" and "OOM killer" in dg.finding and any("dmesg" in a for a in dg.advice)
    d2 = make_run(tmp_path, "r2", events=[START], exit={"rc": 1, "signal": None},
                  log="Traceback\ntorch.OutOfMemoryError: CUDA out of memory.\n")
    assert "out of memory" in diagnose(d2).finding


def test_stalled_in_the_data_loader_names_the_image(tmp_path):
    stacks = ('Current thread 0x00007f (most recent call first):\n'
              '  File "/usr/lib/python3/site-packages/PIL/ImageFile.py", line 300 in load\n'
              '  File "/x/loratui/train/data.py", line 120 in load_pixels\n'
              '  File "/x/loratui/train/trainer.py", line 300 in micro_step\n')
    stall = {"t": NOW - 1, "since": NOW - 90 + 1, "age_s": 600, "threshold_s": 300, "median_step_s": 2.0,
             "factor": 10, "min_s": 300, "last_event": {"type": "step", "step": 5}, "gpu": "no NVIDIA GPU (test)",
             "cpu_percent": 0.0, "proc_state": "D", "threads": 12, "open_images": ["/data/10_x/big.png"],
             "stacks": stacks, "stacks_note": "stack dump", "log_tail": ["a", "b"]}
    d = make_run(tmp_path, events=[START, STEP], stall=stall, alive=True)
    dg = diagnose(d)
    text = format_diagnosis(dg)
    assert dg.state == "stalled" and "no progress for" in dg.detail
    assert dg.finding == "the data loader is stuck reading /data/10_x/big.png"
    assert "no NVIDIA GPU (test)" in text and "waiting on disk or network I/O" in text
    assert "data.py:120 in load_pixels" in text and "loratui stop r1" in text


def test_running_and_recovered_stall(tmp_path):
    stall = {"t": NOW - 50, "since": NOW - 95, "last_event": {"type": "start"}}
    d = make_run(tmp_path, events=[START, STEP], stall=stall, alive=True)  # events came after the stall
    dg = diagnose(d)
    assert dg.state == "running" and "loratui attach r1" in dg.advice[0] and "2.0 steps/s" in " ".join(dg.facts)


@pytest.mark.slow
def test_cli_doctor_and_unknown_command(tmp_path):
    make_run(tmp_path, events=[START, STEP], exit={"rc": -9, "signal": 9})
    env = dict(os.environ, LORATUI_RUNS_ROOT=str(tmp_path))
    p = subprocess.run([sys.executable, "-m", "loratui", "doctor", "r1"], capture_output=True, text=True, env=env)
    assert p.returncode == 0 and p.stdout.startswith("r1: crashed") and "what to try:" in p.stdout
    p = subprocess.run([sys.executable, "-m", "loratui", "doctor", "r1", "--json"], capture_output=True, text=True,
                       env=env)
    assert json.loads(p.stdout)["state"] == "crashed"
    p = subprocess.run([sys.executable, "-m", "loratui", "doctr", "--help"], capture_output=True, text=True,
                       cwd=str(tmp_path))
    assert p.returncode == 2 and "unknown command 'doctr'" in p.stderr and "loratui doctor" in p.stderr
    assert "usage" not in p.stdout
