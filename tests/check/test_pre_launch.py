from __future__ import annotations

from loratui.check import launch_gate, pre_launch_check
from loratui.config import SubsetConfig, TrainConfig

from .helpers import character_dataset, save


def _cfg(tmp_path, **kw) -> TrainConfig:
    cfg = TrainConfig()
    cfg.base_dir = str(tmp_path)
    cfg.dataset.root = "ds"
    cfg.dataset.subsets = [SubsetConfig("10_mychar", 10)]
    cfg.output.trigger_words = ["mychar"]
    for k, v in kw.items():
        setattr(cfg.dataset, k, v)
    return cfg


def test_clean_dataset_launches(tmp_path):
    character_dataset(tmp_path / "ds", 20)
    r = pre_launch_check(_cfg(tmp_path))
    ok, msg = launch_gate(r)
    assert ok and not r.blocks_launch
    assert r.stats["total_steps"] == 2000  # 20 x 10 repeats x 10 epochs at batch 1


def test_errors_block_unless_overridden_warnings_never_block(tmp_path):
    character_dataset(tmp_path / "ds", 20)
    (tmp_path / "ds" / "10_mychar" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    r = pre_launch_check(_cfg(tmp_path))
    ok, msg = launch_gate(r)
    assert not ok and "broken.jpg" in msg and "override" in msg
    ok, msg = launch_gate(r, override=True)
    assert ok and "overridden" in msg
    (tmp_path / "ds" / "10_mychar" / "broken.jpg").unlink()
    save(tmp_path / "ds", "10_mychar/tiny.png", seed=3, size=(100, 100), caption="mychar, 1girl")
    r = pre_launch_check(_cfg(tmp_path))
    ok, msg = launch_gate(r)
    assert ok and "warning" in msg and r.find("upscaled")


def test_config_resolution_and_keep_tokens_are_used(tmp_path):
    character_dataset(tmp_path / "ds", 20, extra=lambda i, t: [t[1], t[0], *t[2:]] if i == 0 else t)
    r = pre_launch_check(_cfg(tmp_path, resolution=[768, 768], keep_tokens=2))
    assert not r.find("trigger-not-first")
    assert len(r.find("upscaled")[0].image_ids) == 20  # 512px images at 768: x1.5 is a warning
    r = pre_launch_check(_cfg(tmp_path, resolution=[576, 576], keep_tokens=1))
    assert len(r.find("upscaled-slightly")[0].image_ids) == 20 and r.find("trigger-not-first")


def test_config_without_dataset_is_an_error(tmp_path):
    cfg = TrainConfig()
    cfg.base_dir = str(tmp_path)
    r = pre_launch_check(cfg)
    assert r.blocks_launch and r.findings[0].code == "no-dataset"
