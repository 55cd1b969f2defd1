"""The VRAM estimate (loratui.config.vram) and the launch gate with a faked NVML reading."""

from __future__ import annotations

import os
import sys
import types
from dataclasses import replace

import pytest

from loratui.cli.main import main
from loratui.config.vram import GiB, GpuMemory, VramInputs, estimate, suggestions, vram_gate
from loratui.runs.gpu import check_vram, physical_index

from .helpers import ready_config

SDXL = VramInputs(family="sdxl", width=1024, height=1024, batch=1, precision="bf16",
                  cache_text_encoder_outputs=True, train_text_encoder=False)
SD15 = VramInputs(family="sd1", width=512, height=512, batch=1, precision="fp16")


def needs(i: VramInputs, **kw) -> int:
    return estimate(replace(i, **kw)).needs


@pytest.mark.parametrize("base", [SD15, SDXL])
def test_monotonic_in_batch_and_resolution(base):
    by_batch = [needs(base, batch=b) for b in (1, 2, 4, 8)]
    assert by_batch == sorted(by_batch) and len(set(by_batch)) == 4
    by_res = [needs(base, width=r, height=r) for r in (512, 768, 1024, 1536)]
    assert by_res == sorted(by_res) and len(set(by_res)) == 4
    assert needs(base, width=1024, height=768) < needs(base, width=1024, height=1024)
    # activations are linear in batch: the step from batch 1 to 2 equals the step from 2 to 3
    a1, a2, a3 = (estimate(replace(base, batch=b)).parts["activations"] for b in (1, 2, 3))
    assert a2 - a1 == pytest.approx(a3 - a2, rel=1e-6)


@pytest.mark.parametrize("base", [SD15, SDXL])
def test_gradient_checkpointing_and_caching_lower_it(base):
    assert needs(base, gradient_checkpointing=True) < needs(base) - GiB  # activations dominate
    assert needs(base, cache_latents=False) > needs(base)  # the VAE stays on the GPU
    assert needs(base, precision="no") > needs(base)  # fp32 weights and activations
    assert needs(base, optimizer="AdamW8bit") < needs(base) < needs(base, optimizer="Prodigy")
    assert needs(base, dim=128) > needs(base, dim=32)


def test_sdxl_orders_above_sd15_and_cached_text_encoders_save_their_weights():
    sdxl_full = replace(SDXL, cache_text_encoder_outputs=False, train_text_encoder=True)
    assert needs(SD15) < needs(replace(SD15, family="sdxl")) < needs(SDXL, batch=1) < needs(sdxl_full)
    te_weights = (123_060_480 + 694_659_840) * 2
    cached = estimate(replace(sdxl_full, train_text_encoder=False, cache_text_encoder_outputs=True))
    uncached = estimate(replace(sdxl_full, train_text_encoder=False))
    assert uncached.allocated - cached.allocated == te_weights
    # UNet only vs UNet + both encoders trained: the encoders' LoRA (rank 32) is trained too
    assert estimate(sdxl_full).trained_params - uncached.trained_params == 32 * (165_888 + 737_280)


def test_exact_parameter_counts_match_kohya_file_sizes():
    # SD1.5 LoRA rank 32 on UNet + TE: 18.9M params (the ~37.9 MB fp16 files everyone has seen)
    assert estimate(replace(SD15, dim=32)).trained_params == 32 * (423_936 + 165_888) == 18_874_368
    # SDXL UNet-only rank 32: 85.1M params (~170 MB fp16)
    assert estimate(replace(SDXL, dim=32)).trained_params == 85_114_880
    locon = estimate(replace(SD15, network_type="locon", dim=32, conv_dim=16)).trained_params
    assert locon == 32 * (423_936 + 82_880 + 165_888) + 16 * 544_000
    loha = estimate(replace(SD15, network_type="loha", dim=32, conv_dim=16)).trained_params
    assert loha == 2 * locon  # two Hadamard pairs per module


def test_published_figures_bracket_the_estimate():
    # calibration anchors (to be corrected by bench/gpu_train.py on a real GPU)
    assert 8e9 < needs(SDXL, gradient_checkpointing=True) < 13e9  # "SDXL LoRA on a 12 GB card"
    assert 18e9 < needs(SDXL) < 25e9  # "24 GB without checkpointing"
    assert 4e9 < needs(SD15) < 8e9  # SD1.5 LoRA, 512 px, batch 1, no checkpointing


def test_gate_passes_refuses_and_suggests():
    est = estimate(replace(SDXL, batch=4))
    ok, msg = vram_gate(est, GpuMemory(0, "NVIDIA H100", 80 * 10**9, 81 * 10**9))
    assert ok and "needs ~" in msg and "has 80.0 GB free" in msg
    card = GpuMemory(1, "RTX 4090", 23 * 10**9, 24 * 10**9)
    ok, msg = vram_gate(est, card)
    assert not ok
    assert f"needs ~{est.needs / 1e9:.1f} GB" in msg and "GPU 1 (RTX 4090) has 23.0 GB free" in msg
    assert "enable gradient checkpointing" in msg and "batch 1" in msg and "--ignore-vram" in msg
    ok, msg = vram_gate(est, card, override=True)
    assert ok and "anyway" in msg
    ok, msg = vram_gate(est, None)
    assert ok and "no NVIDIA GPU" in msg


def test_suggestions_that_fit_come_first_with_their_own_estimate():
    i = replace(SDXL, batch=4, cache_text_encoder_outputs=False, train_text_encoder=True)
    free = 24 * 10**9
    tips = suggestions(i, free)
    assert tips[0].startswith("enable gradient checkpointing")  # alone it fits 24 GB
    fits = needs(i, gradient_checkpointing=True)
    assert fits <= free and f"needs ~{fits / 1e9:.1f} GB" in tips[0]
    assert any(t.startswith("cache text-encoder outputs") for t in tips)
    assert tips[-1].startswith("all of these together")
    assert suggestions(replace(SD15, gradient_checkpointing=True, optimizer="AdamW8bit"), free) == []


def test_physical_index_follows_cuda_visible_devices_and_gpu_flag():
    assert physical_index("auto", env={}) == 0
    assert physical_index("cuda:1", env={}) == 1
    assert physical_index("cuda:1", env={"CUDA_VISIBLE_DEVICES": "2,3"}) == 3
    assert physical_index("cuda", env={"CUDA_VISIBLE_DEVICES": "GPU-1234"}) is None
    assert physical_index("cuda:2", env={"CUDA_VISIBLE_DEVICES": "0"}) is None
    assert physical_index("cpu", env={}) is None
    assert physical_index("auto", gpu="1", env={"CUDA_VISIBLE_DEVICES": "5"}) == 1  # --gpu is physical


def _sdxl_config(tmp_path):
    cfg = ready_config(tmp_path)
    cfg.model.family = "sdxl"
    cfg.dataset.resolution = [1024, 1024]
    cfg.optim.batch_size = 4
    cfg.optim.mixed_precision = "bf16"
    cfg.optim.gradient_checkpointing = False
    return cfg


def test_check_vram_reads_the_run_gpu_and_compares_queued_runs_with_total(tmp_path):
    cfg = _sdxl_config(tmp_path)
    seen = []

    def reader(index):
        seen.append(index)
        return GpuMemory(index, "RTX 4090", 2 * 10**9, 24 * 10**9)  # another run holds the card

    ok, msg = check_vram(cfg, gpu="1", reader=reader, env={})
    assert not ok and seen == [1] and "has 2.0 GB free" in msg
    cfg.optim.gradient_checkpointing = True
    ok, msg = check_vram(cfg, gpu="1", queued=True, reader=reader, env={})
    assert ok and "24.0 GB free" in msg and "when the queue reaches this run" in msg
    cfg.hardware.device = "cpu"
    ok, msg = check_vram(cfg, reader=lambda i: pytest.fail("no GPU reading for a CPU run"), env={})
    assert ok and "CPU" in msg


@pytest.fixture
def fake_nvml(monkeypatch):
    """pynvml answering for one 24 GB card with 6 GB free."""
    mod = types.ModuleType("pynvml")
    mod.nvmlInit = lambda: None
    mod.nvmlShutdown = lambda: None
    mod.nvmlDeviceGetCount = lambda: 1
    mod.nvmlDeviceGetHandleByIndex = lambda i: i
    mod.nvmlDeviceGetName = lambda h: b"NVIDIA GeForce RTX 4090"
    mod.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(free=6 * 10**9, total=24 * 10**9, used=18 * 10**9)
    monkeypatch.setitem(sys.modules, "pynvml", mod)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return mod


def test_train_and_runs_start_refuse_before_creating_anything(tmp_path, capsys, fake_nvml, monkeypatch):
    cfg = _sdxl_config(tmp_path)
    path = str(tmp_path / "run.toml")
    cfg.save(path)
    monkeypatch.setenv("LORATUI_RUNS_ROOT", str(tmp_path / "runs"))
    assert main(["train", path, "--ignore-check"]) == 1
    err = capsys.readouterr().err
    assert "needs ~" in err and "GPU 0 (NVIDIA GeForce RTX 4090) has 6.0 GB free of 24.0 GB" in err
    assert "enable gradient checkpointing" in err
    out_dir = cfg.resolved().output.dir
    assert not os.path.exists(os.path.join(out_dir, f"{cfg.output.name}.run"))
    assert main(["runs", "start", path]) == 1
    assert "has 6.0 GB free" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "runs") or not os.listdir(tmp_path / "runs")


def test_config_check_shows_the_estimate(tmp_path, capsys):
    cfg = _sdxl_config(tmp_path)
    path = str(tmp_path / "run.toml")
    cfg.save(path)
    main(["config", "check", path, "--no-files"])
    out = capsys.readouterr().out
    est = estimate(VramInputs.from_config(cfg))
    assert f"needs ~{est.needs / 1e9:.1f} GB of GPU memory (sdxl, 1024x1024, batch 4, bf16" in out
    assert "activations" in out
    main(["config", "check", path, "--no-files", "--json"])
    import json

    assert json.loads(capsys.readouterr().out)["vram"]["needs_bytes"] == est.needs


def test_the_worker_warns_before_loading_when_the_estimate_exceeds_free_memory():
    from loratui.runs.gpu import worker_vram_warning
    from loratui.train.spec import TrainSpec

    spec = TrainSpec(base_model="m", output_dir="o", family="sdxl", resolution=(1024, 1024), batch_size=4,
                     mixed_precision="bf16", network_dim=32, device="auto")
    card = lambda i: GpuMemory(i, "RTX 4090", 20 * 10**9, 24 * 10**9)  # noqa: E731
    msg = worker_vram_warning(spec, reader=card, env={"CUDA_VISIBLE_DEVICES": "1"})
    assert msg and "GPU 1 (RTX 4090) has 20.0 GB free" in msg and "enable gradient checkpointing" in msg
    big = lambda i: GpuMemory(i, "H200", 140 * 10**9, 141 * 10**9)  # noqa: E731
    assert worker_vram_warning(spec, reader=big, env={}) is None
    assert worker_vram_warning(spec, reader=lambda i: None, env={}) is None  # no NVML: nothing to say
    spec.device = "cpu"
    assert worker_vram_warning(spec, reader=card, env={}) is None
