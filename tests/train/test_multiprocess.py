"""The multi-GPU path for real, on CPU: ``accelerate launch --multi_gpu --num_processes 2 -m loratui.train``
runs two worker processes over gloo (torchrun sets RANK/WORLD_SIZE; the worker's Accelerator(cpu=True)
picks the gloo backend). Rank r trains batch ``2*b + r`` and DDP averages the two gradients, so the
run must equal one process with ``grad_accumulation = 2`` over the same batches.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from loratui.train.events import read_events

from .conftest import make_dataset, write_run_config

pytestmark = pytest.mark.slow

# one bucket, 3*2 + 2 = 8 training images, batch 2: 4 batches per epoch, an even number, so neither
# rank pads its last micro-step with a repeated batch
DATA = {"2_mychar": [((64, 64), f"mychar, tag{k}, smile") for k in range(3)],
        "1_bg": [((64, 64), "scenery, sky"), ((64, 64), "scenery, tree")]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_two(run_dir: str, **env) -> subprocess.CompletedProcess:
    e = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1",
             MASTER_ADDR="127.0.0.1", **env)
    e.pop("CUDA_VISIBLE_DEVICES", None)
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_ip", "127.0.0.1", "--main_process_port", str(_free_port()),
           "-m", "loratui.train", run_dir]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=e)


def config(run_dir: str, model: str, data: str, ga: int) -> None:
    write_run_config(run_dir, model, data, optim__grad_accumulation=ga, optim__batch_size=2,
                     output__save_precision="fp32")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> str:
    return make_dataset(str(tmp_path_factory.mktemp("mp") / "data"), DATA)


@pytest.fixture(scope="module")
def single_run(tiny_model, data_root, tmp_path_factory) -> str:
    """The reference: one process, grad_accumulation = 2 (in this process: no launcher start-up)."""
    from loratui.train.worker import run_worker

    run_dir = str(tmp_path_factory.mktemp("single"))
    config(run_dir, tiny_model, data_root, ga=2)
    assert run_worker(run_dir) == 0
    return run_dir


def test_two_processes_stop_resume_and_equal_one_process_with_accumulation(single_run, tiny_model, data_root,
                                                                          tmp_path):
    import torch
    from safetensors.torch import load_file

    run_dir = str(tmp_path / "multi")
    config(run_dir, tiny_model, data_root, ga=1)

    # session 1: both ranks stop after step 1 (the test hook); rank 0 alone writes the checkpoint
    p1 = launch_two(run_dir, LORATUI_STOP_AT_STEP="1")
    ev1 = read_events(os.path.join(run_dir, "events.jsonl"))
    assert ev1 and ev1[-1]["type"] == "stopped", p1.stderr[-4000:]
    assert ev1[-1]["step"] == 1 and os.path.isfile(ev1[-1]["checkpoint"])
    assert p1.returncode != 0  # the worker's "stopped" status (3), reported by torchrun as a failure
    ckpt = torch.load(ev1[-1]["checkpoint"], map_location="cpu", weights_only=True)
    assert ckpt["world"] == 2 and (ckpt["step"], ckpt["epoch"], ckpt["batch"]) == (1, 0, 1)
    assert not os.path.exists(os.path.join(run_dir, "output"))

    # session 2: resumed by two processes, to the end
    p2 = launch_two(run_dir)
    assert p2.returncode == 0, p2.stderr[-4000:]
    ev = read_events(os.path.join(run_dir, "events.jsonl"))
    starts = [e for e in ev if e["type"] == "start"]
    assert len(starts) == 2 and [s["resume"] for s in starts] == [False, True]  # one writer per session
    assert sum(e["type"] == "dataset" for e in ev) == 2 and sum(e["type"] == "finished" for e in ev) == 1
    assert next(e for e in ev if e["type"] == "dataset")["total_steps"] == 4
    resumed = next(e for e in ev if e["type"] == "resumed")
    assert (resumed["step"], resumed["batch"]) == (1, 1)
    assert next(e for e in ev if e["type"] == "model_loaded")["device"].startswith("cpu")

    # only the main process writes: one set of files, no second pid file or event log anywhere
    assert sorted(os.listdir(run_dir)) == ["config.toml", "events.jsonl", "output", "stacks.txt", "state"]
    assert sorted(os.listdir(os.path.join(run_dir, "output"))) == ["tiny-000001.safetensors", "tiny.safetensors"]
    assert sorted(os.listdir(os.path.join(run_dir, "state"))) == ["checkpoint.pt", "finished.json"]
    saved = [e for e in ev if e["type"] == "saved"]
    assert [(os.path.basename(e["path"]), e["step"]) for e in saved] == [
        ("tiny-000001.safetensors", 2), ("tiny.safetensors", 4)]

    # the same trajectory as one process accumulating two batches per step
    ev_s = read_events(os.path.join(single_run, "events.jsonl"))
    steps_s = [e for e in ev_s if e["type"] == "step"]
    steps_m = [e for e in ev if e["type"] == "step"]
    assert [e["step"] for e in steps_m] == [e["step"] for e in steps_s] == [1, 2, 3, 4]
    for a, b in zip(steps_m, steps_s):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4)  # the mean over both ranks' batches
        assert a["lr"] == b["lr"]
    assert steps_m[0]["samples_s"] > 0
    a = load_file(os.path.join(single_run, "output", "tiny.safetensors"))
    b = load_file(os.path.join(run_dir, "output", "tiny.safetensors"))
    assert a.keys() == b.keys() and len(a) == 3 * 60
    moved = 0
    for k in a:
        assert torch.allclose(a[k], b[k], rtol=1e-4, atol=1e-5), k
        moved += k.endswith("lora_up.weight") and bool(a[k].abs().sum() > 0)
    assert moved > 0  # the comparison is between trained weights, not two zero-initialised ups
    with open(os.path.join(run_dir, "state", "finished.json")) as f:
        assert json.load(f)["step"] == 4
