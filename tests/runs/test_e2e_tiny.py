"""End to end with the real worker on the tiny model: `loratui runs start` from one process (which
exits), `loratui attach` from another, as after an SSH reconnect; the run finishes on its own."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def _dataset(root) -> str:
    from PIL import Image

    rng = random.Random(0)
    d = os.path.join(root, "2_mychar")
    os.makedirs(d)
    for k in range(3):
        Image.new("RGB", (48, 48), tuple(rng.randrange(256) for _ in range(3))).save(os.path.join(d, f"i{k}.png"))
        with open(os.path.join(d, f"i{k}.txt"), "w") as f:
            f.write("mychar, smile\n")
    return root


def _config(folder, model, data) -> str:
    from loratui.config.model import SubsetConfig, TrainConfig

    cfg = TrainConfig()
    cfg.model.base = model
    cfg.dataset.root = data
    cfg.dataset.subsets = [SubsetConfig("2_mychar", 2, "mychar")]
    cfg.dataset.resolution = [48, 48]
    cfg.dataset.min_bucket_reso = 32
    cfg.dataset.max_bucket_reso = 64
    cfg.dataset.bucket_reso_steps = 16
    cfg.network.dim = 4
    cfg.network.alpha = 2.0
    cfg.optim.batch_size = 2
    cfg.optim.mixed_precision = "no"
    cfg.schedule.epochs = 2
    cfg.schedule.sample_every_n_epochs = 0
    cfg.hardware.device = "cpu"
    cfg.output.dir = "out"
    cfg.output.name = "tiny"
    cfg.output.save_precision = "fp16"
    path = os.path.join(folder, "tiny.toml")
    cfg.save(path)
    return path


def test_real_worker_detached_then_reattached(tmp_path, monkeypatch):
    pytest.importorskip("diffusers")
    from loratui.train.tiny_model import build_tiny_model

    model = build_tiny_model(str(tmp_path / "tiny-sd"))
    cfg = _config(str(tmp_path), model, _dataset(str(tmp_path / "data")))
    runs_root = str(tmp_path / "runs")
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", LORATUI_RUNS_ROOT=runs_root)
    start = subprocess.run([sys.executable, "-m", "loratui", "train", cfg, "--detach"], capture_output=True,
                           text=True, env=env, timeout=60)
    assert start.returncode == 0, start.stderr
    name = start.stdout.split(":")[0]
    # ask for a checkpoint while it runs: the worker writes one and consumes the request
    request = os.path.join(runs_root, name, "save_now")
    open(request, "w").close()
    att = subprocess.run([sys.executable, "-m", "loratui", "attach", name], capture_output=True, text=True,
                         env=env, timeout=240)
    log = open(os.path.join(runs_root, name, "worker.log")).read()
    assert att.returncode == 0, att.stdout[-2000:] + log[-3000:]
    assert "finished: tiny.safetensors" in att.stdout
    from loratui.runs import Run

    run = Run(os.path.join(runs_root, name))
    assert run.status().state == "finished"
    p = run.progress()
    assert p.step == p.total_steps > 0 and p.epoch_marks and p.terminal["type"] == "finished"
    assert os.path.isfile(os.path.join(str(tmp_path), "out", "tiny.safetensors"))
    assert not os.path.exists(request), "the save-now request was never answered"
