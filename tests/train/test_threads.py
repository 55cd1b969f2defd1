"""The worker's CPU thread count: the cores the process may use, unless the user says otherwise."""

from __future__ import annotations

import os

from loratui.config.model import TrainConfig
from loratui.train import threads


def test_setting_wins_then_omp_then_available_cores(monkeypatch):
    monkeypatch.setattr(threads, "available_cpus", lambda: 3)
    assert threads.cpu_threads(5, {"OMP_NUM_THREADS": "2"}) == (5, "hardware.cpu_threads")
    assert threads.cpu_threads(0, {"OMP_NUM_THREADS": "2"}) == (2, "OMP_NUM_THREADS")
    assert threads.cpu_threads(0, {"OMP_NUM_THREADS": "junk"}) == (3, "cores available to this process")
    assert threads.cpu_threads(0, {}) == (3, "cores available to this process")


def test_available_cpus_is_the_affinity_not_the_machine(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 5})
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(threads, "cgroup_quota", lambda path=threads.CGROUP_CPU_MAX: None)
    assert threads.available_cpus() == 2
    monkeypatch.setattr(threads, "cgroup_quota", lambda path=threads.CGROUP_CPU_MAX: 1.5)
    assert threads.available_cpus() == 1  # a quota of 1.5 CPUs: one thread, not oversubscribed


def test_cgroup_quota_parsing(tmp_path):
    f = tmp_path / "cpu.max"
    for text, want in [("max 100000\n", None), ("200000 100000\n", 2.0), ("50000 100000", 0.5),
                       ("garbage", None), ("", None), ("0 100000", None)]:
        f.write_text(text)
        assert threads.cgroup_quota(str(f)) == want, text
    assert threads.cgroup_quota(str(tmp_path / "absent")) is None


def test_config_field_reaches_the_spec(tmp_path):
    from loratui.train.spec import spec_from_config

    cfg = TrainConfig()
    cfg.hardware.cpu_threads = 3
    text = cfg.to_toml()
    assert "cpu_threads = 3" in text
    back = TrainConfig.from_toml(text)
    assert back.hardware.cpu_threads == 3
    assert spec_from_config(back).cpu_threads == 3
