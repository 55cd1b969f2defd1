from __future__ import annotations

from loratui.config import SubsetConfig, TrainConfig, format_duration, record_speed, step_math

from .helpers import ready_config


def cfg_with(subsets, **optim):
    cfg = TrainConfig()
    cfg.dataset.subsets = [SubsetConfig(f"{r}_s{i}", r) for i, r in enumerate(subsets)]
    for k, v in optim.items():
        setattr(cfg.optim, k, v)
    return cfg


def test_images_times_repeats_and_steps():
    m = step_math(cfg_with([10, 3]), image_counts=[20, 10], seconds_per_step=None)
    assert [s.views for s in m.subsets] == [200, 30]
    assert m.views_per_epoch == 230 and m.images == 30
    assert m.steps_per_epoch == 230 and m.total_steps == 2300
    assert m.eta_seconds is None
    assert round(m.views_per_image) == round(2300 / 30)


def test_batch_accumulation_processes_round_up():
    cfg = cfg_with([10], batch_size=4, grad_accumulation=2)
    m = step_math(cfg, image_counts=[21])  # 210 views -> 53 batches -> 27 steps
    assert (m.batches_per_epoch, m.steps_per_epoch, m.total_steps) == (53, 27, 270)
    cfg.hardware.num_processes = 2
    assert step_math(cfg, image_counts=[21]).steps_per_epoch == 14  # ceil(ceil(53/2)/2)
    assert any("bucket" in n for n in m.notes)


def test_max_steps_and_fractional_epochs():
    cfg = cfg_with([10])
    cfg.schedule.max_steps = 500
    m = step_math(cfg, image_counts=[20])
    assert m.total_steps == 500 and m.epochs == 2.5


def test_regularisation_doubles_views():
    cfg = cfg_with([10])
    cfg.dataset.subsets.append(SubsetConfig("reg", 1, "1girl", True))
    m = step_math(cfg, image_counts=[20, 100])
    assert m.views_per_epoch == 400 and m.images == 20


def test_eta_from_recorded_speed(tmp_path):
    cfg = ready_config(tmp_path, {"10_mychar": 20})
    assert cfg.step_math().eta_seconds is None
    record_speed(cfg, 0.5)
    m = cfg.step_math()
    assert m.total_steps == 2000 and m.eta_seconds == 1000.0
    assert any("ETA 16m40s" in line for line in m.lines())
    other = cfg.copy()
    other.optim.batch_size = 2
    assert other.step_math().eta_seconds is None  # a different setup has no measured speed


def test_counts_from_folders(tmp_path):
    cfg = ready_config(tmp_path, {"10_a": 5, "2_b": 7})
    m = cfg.step_math()
    assert [(s.images, s.repeats) for s in m.subsets] == [(5, 10), (7, 2)]
    assert m.to_dict()["views_per_epoch"] == 64


def test_format_duration():
    assert format_duration(59) == "59s" and format_duration(61) == "1m01s" and format_duration(3 * 3600 + 120) == "3h02m"
