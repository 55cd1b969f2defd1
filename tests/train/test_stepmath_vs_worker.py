"""The config's step math reproduces the worker's own count: the `dataset` event of a real worker
process (``python -m loratui.train RUN_DIR``) on generated datasets.

The worker emits its `dataset` event before it loads any model, so a run on a missing base model
gives the real event in a second without training; one run on the demo trains for real."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest
from PIL import Image

from loratui.config import SubsetConfig, TrainConfig, step_math
from loratui.train.events import read_events


def _worker_dataset_event(tmp_path, cfg: TrainConfig) -> dict:
    run_dir = tmp_path / f"run{len(os.listdir(tmp_path))}"
    run_dir.mkdir()
    cfg.save(str(run_dir / "config.toml"))
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", WORLD_SIZE=str(cfg.hardware.num_processes))
    subprocess.run([sys.executable, "-m", "loratui.train", str(run_dir)], capture_output=True, text=True,
                   timeout=120, env=env)
    events = read_events(str(run_dir / "events.jsonl"))
    found = [e for e in events if e["type"] == "dataset"]
    assert found, events
    return found[0]


def _sized_dataset(root, layout: dict[str, list[tuple[int, int]]]) -> str:
    for folder, sizes in layout.items():
        os.makedirs(root / folder, exist_ok=True)
        for i, size in enumerate(sizes):
            Image.new("RGB", size, (i * 7 % 255, 90, 160)).save(root / folder / f"i{i:03d}.png")
            (root / folder / f"i{i:03d}.txt").write_text("mychar, 1girl", encoding="utf-8")
    return str(root)


def _cfg(root: str, subsets: list[SubsetConfig], **kw) -> TrainConfig:
    cfg = TrainConfig()
    cfg.model.base = os.path.join(root, "no-such-model.safetensors")  # the worker stops after `dataset`
    cfg.dataset.root = root
    cfg.dataset.subsets = subsets
    for k, v in kw.items():
        sec, name = k.split("__")
        setattr(getattr(cfg, sec), name, v)
    return cfg


def _assert_same(cfg: TrainConfig, ev: dict) -> None:
    m = step_math(cfg, seconds_per_step=0.0)
    got = (m.images, m.batches_per_epoch, m.steps_per_epoch, m.total_steps, m.num_epochs)
    want = (sum(s["images"] for s, sub in zip(ev["subsets"], cfg.dataset.subsets) if not sub.is_reg),
            ev["batches_per_epoch"], ev["steps_per_epoch"], ev["total_steps"], ev["epochs"])
    assert got == want, (got, want)


def test_demo_dataset_step_math_is_the_workers(tmp_path):
    """The demo's own config: the config screen said 45 steps per epoch while the worker trained 46."""
    from loratui.demo import create_demo, write_demo_config

    root = create_demo(str(tmp_path / "demo"))
    path = str(tmp_path / "demo.toml")
    write_demo_config(root, str(tmp_path / "no-model"), path, str(tmp_path / "out"))
    cfg = TrainConfig.load(path)
    (tmp_path / "runs").mkdir()
    ev = _worker_dataset_event(tmp_path / "runs", cfg)
    _assert_same(cfg, ev)
    # the old estimate (views / batch, no buckets) is what the screen showed: not the worker's figure
    assert step_math(cfg, image_counts=[s.images for s in step_math(cfg).subsets]).steps_per_epoch \
        != ev["steps_per_epoch"]


@pytest.mark.parametrize("case", [
    dict(optim__batch_size=4),
    dict(optim__batch_size=3, optim__grad_accumulation=2, dataset__bucket_no_upscale=True),
    dict(optim__batch_size=2, dataset__enable_bucket=False, schedule__max_steps=37),
    dict(optim__batch_size=5, hardware__num_processes=2, dataset__resolution=[768, 768]),
])
def test_generated_datasets_step_math_is_the_workers(tmp_path, case):
    rnd = random.Random(str(case))
    layout = {
        "10_mychar": [(rnd.choice([256, 320, 512, 640, 704, 900]), rnd.choice([256, 384, 512, 768, 1000]))
                      for _ in range(17)],
        "3_style": [(rnd.randrange(200, 1200), rnd.randrange(200, 1200)) for _ in range(9)],
        "1_reg": [(512, 512)] * 3 + [(512, 768)] * 2,
    }
    root = _sized_dataset(tmp_path / "data", layout)
    # files that are not training images: neither side may count them
    (tmp_path / "data" / "10_mychar" / "zero.png").write_bytes(b"")
    (tmp_path / "data" / "3_style" / "junk.jpg").write_bytes(b"not a jpeg")
    os.symlink(tmp_path / "missing.png", tmp_path / "data" / "3_style" / "dangling.png")
    subsets = [SubsetConfig("10_mychar", 10, "mychar"), SubsetConfig("3_style", 3, "style"),
               SubsetConfig("1_reg", 1, "1girl", True)]
    cfg = _cfg(root, subsets, **case)
    (tmp_path / "runs").mkdir()
    ev = _worker_dataset_event(tmp_path / "runs", cfg)
    _assert_same(cfg, ev)
