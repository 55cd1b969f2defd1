"""Validation, EMA, masked-loss and watchdog settings: TOML, validation, form lines, kohya interop."""

from __future__ import annotations

import os

from loratui.config.fields import format_subset, parse_subset
from loratui.config.model import SubsetConfig, TrainConfig


def _cfg(tmp_path) -> TrainConfig:
    cfg = TrainConfig()
    cfg.base_dir = str(tmp_path)
    cfg.dataset.root = str(tmp_path)
    cfg.dataset.subsets = [SubsetConfig("10_x", 10, "x"), SubsetConfig("1_val", 1, "x")]
    cfg.dataset.subsets[1].validation = True
    cfg.dataset.validation_split = 0.1
    cfg.dataset.alpha_mask = True
    cfg.schedule.validate_every_n_steps = 50
    cfg.optim.ema = True
    cfg.optim.ema_decay = 0.995
    cfg.output.save_raw_with_ema = True
    cfg.hardware.stall_minutes = 2.5
    return cfg


def test_toml_round_trip_and_subset_line(tmp_path):
    cfg = _cfg(tmp_path)
    back = TrainConfig.from_toml(cfg.to_toml(), base_dir=str(tmp_path))
    assert back.dataset.validation_split == 0.1 and back.dataset.alpha_mask and back.dataset.subsets[1].validation
    assert back.optim.ema and back.optim.ema_decay == 0.995 and back.output.save_raw_with_ema
    assert back.schedule.validate_every_n_steps == 50 and back.hardware.stall_minutes == 2.5
    line = format_subset(cfg.dataset.subsets[1])
    assert line == "1 x 1_val | x | val" and parse_subset(line).validation


def test_validation_teaches(tmp_path):
    cfg = TrainConfig()
    cfg.schedule.validate_every_n_steps = 10
    cfg.optim.ema_decay = 0.5
    cfg.optim.ema = True
    paths = {f.path for f in cfg.validate(image_counts=[], check_files=False)}
    assert {"schedule.validate_every_n_steps", "optim.ema_decay"} <= paths
    cfg.optim.ema_decay = 2.0
    assert any(f.path == "optim.ema_decay" and f.level == "error" for f in cfg.validate(image_counts=[], check_files=False))


def test_kohya_export_and_import(tmp_path):
    from loratui.config.kohya import import_kohya, to_kohya

    (tmp_path / "10_x").mkdir()
    (tmp_path / "1_val").mkdir()
    args, dataset, notes = to_kohya(_cfg(tmp_path))
    assert args["training_arguments"]["validate_every_n_steps"] == 50
    assert dataset["general"]["validation_split"] == 0.1 and dataset["general"]["alpha_mask"] is True
    text = " ".join(notes)
    assert "optim.ema" in text and "optim.ema_decay" in text and "subsets marked validation" in text
    ds = tmp_path / "ds.toml"
    ds.write_text('[general]\nvalidation_split = 0.2\n[[datasets]]\n[[datasets.subsets]]\n'
                  f'image_dir = "{tmp_path / "10_x"}"\nalpha_mask = true\n')
    res = import_kohya(str(ds))
    assert res.config.dataset.validation_split == 0.2 and res.config.dataset.alpha_mask
    assert not [u for u in res.unmapped if "alpha_mask" in u.key or "validation" in u.key]
    args_file = tmp_path / "args.toml"
    args_file.write_text("validate_every_n_steps = 25\nalpha_mask = true\n")
    res = import_kohya(str(args_file))
    assert res.config.schedule.validate_every_n_steps == 25 and res.config.dataset.alpha_mask
    assert os.path.exists(ds)


def test_step_math_counts_the_images_the_worker_trains(tmp_path):
    from PIL import Image

    from loratui.train.data import build_train_data
    from loratui.train.spec import spec_from_config
    from loratui.train.validation import split_validation

    d = tmp_path / "2_x"
    d.mkdir()
    for k in range(10):
        Image.new("RGB", (64 + 16 * (k % 3), 64)).save(d / f"i{k}.png")
    cfg = TrainConfig()
    cfg.base_dir = str(tmp_path)
    cfg.dataset.root = str(tmp_path)
    cfg.dataset.subsets = [SubsetConfig("2_x", 2, "x")]
    cfg.dataset.validation_split = 0.3
    cfg.optim.batch_size = 2
    sm = cfg.step_math()
    spec = spec_from_config(cfg)
    data = build_train_data(spec)
    held = split_validation(data, spec)
    assert len(held) == 3 and len(data.items) == 7
    assert sm.total_steps == data.total_steps()
