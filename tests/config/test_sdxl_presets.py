"""Base-model detection (loratui.config.base_model), SDXL concept and model presets, `config new --base`."""

from __future__ import annotations

import json
import struct

import pytest

from loratui.cli.main import main
from loratui.config import TrainConfig, new_config
from loratui.config.base_model import detect_base_model
from loratui.config.presets import MODEL_PRESETS, PONY_SCORE_TAGS, apply_preset

from .helpers import make_images


def write_checkpoint(path, names) -> str:
    """A .safetensors whose tensors are 1-element fp16 stand-ins with these names."""
    header = {n: {"dtype": "F16", "shape": [1], "data_offsets": [2 * i, 2 * i + 2]} for i, n in enumerate(names)}
    raw = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + b"\0\0" * len(names))
    return str(path)


SDXL_KEYS = ["conditioner.embedders.0.transformer.text_model.embeddings.position_ids",
             "conditioner.embedders.1.model.ln_final.weight", "model.diffusion_model.label_emb.0.0.weight"]
SD1_KEYS = ["cond_stage_model.transformer.text_model.final_layer_norm.weight", "model.diffusion_model.out.0.weight"]


def test_detects_checkpoints_folders_and_says_why_it_cannot(tmp_path):
    xl = detect_base_model(write_checkpoint(tmp_path / "illu.safetensors", SDXL_KEYS))
    assert (xl.family, xl.v_prediction, xl.zero_terminal_snr) == ("sdxl", None, None)
    noob = detect_base_model(write_checkpoint(tmp_path / "noob.safetensors", SDXL_KEYS + ["v_pred", "ztsnr"]))
    assert (noob.family, noob.v_prediction, noob.zero_terminal_snr) == ("sdxl", True, True)
    assert "v_pred key" in noob.describe()
    assert detect_base_model(write_checkpoint(tmp_path / "sd15.safetensors", SD1_KEYS)).family == "sd1"
    folder = tmp_path / "xl-diffusers"
    (folder / "unet").mkdir(parents=True)
    (folder / "text_encoder_2").mkdir()
    (folder / "unet" / "config.json").write_text('{"cross_attention_dim": 2048}')
    (folder / "scheduler").mkdir()
    (folder / "scheduler" / "scheduler_config.json").write_text('{"prediction_type": "v_prediction"}')
    f = detect_base_model(str(folder))
    assert f.family == "sdxl" and f.v_prediction is True
    bad = tmp_path / "junk.safetensors"
    bad.write_bytes(b"\xff" * 64)
    info = detect_base_model(str(bad))
    assert info.family is None and "junk.safetensors" in info.why  # the reason names the file
    assert detect_base_model(str(tmp_path / "missing.safetensors")).why == "file not found"


def test_config_new_base_detects_sdxl_and_applies_its_conventions(tmp_path, capsys):
    data = make_images(tmp_path / "data", {"10_mychar": 24})
    base = write_checkpoint(tmp_path / "some_model.safetensors", SDXL_KEYS)  # no "xl" in the name
    out = str(tmp_path / "run.toml")
    assert main(["config", "new", str(data), "--base", base, "-o", out]) == 0
    err = capsys.readouterr().err
    assert "model family sdxl: sdxl (two text encoders in the checkpoint)" in err
    cfg = TrainConfig.load(out)
    assert cfg.model.family == "sdxl" and cfg.model.prediction_type == "epsilon"
    assert cfg.dataset.resolution == [1024, 1024] and cfg.dataset.bucket_reso_steps == 64
    assert cfg.model.clip_skip == 1 and cfg.network.train_text_encoder is False
    assert cfg.optim.mixed_precision == "bf16" and cfg.optim.gradient_checkpointing is True
    assert "--w 1024" in cfg.schedule.sample_prompts[0]
    assert not [f for f in cfg.validate(check_files=False) if f.is_error]


def test_noobai_vpred_checkpoint_gets_v_prediction_and_zero_terminal_snr(tmp_path):
    notes: list[str] = []
    base = write_checkpoint(tmp_path / "noob.safetensors", SDXL_KEYS + ["v_pred", "ztsnr"])
    cfg = new_config("", "character", base=base, notes=notes)
    assert (cfg.model.family, cfg.model.prediction_type, cfg.model.zero_terminal_snr) == ("sdxl", "v_prediction", True)
    assert notes and "ztsnr key" in notes[0]
    # SD 1.x file: stays sd1 at 512, the text encoder trained
    cfg = new_config("", "character", base=write_checkpoint(tmp_path / "a.safetensors", SD1_KEYS))
    assert cfg.model.family == "sd1" and cfg.dataset.resolution == [512, 512] and cfg.network.train_text_encoder


def test_model_presets_and_an_explicit_family_that_contradicts_the_files(tmp_path):
    notes: list[str] = []
    base = write_checkpoint(tmp_path / "sd15.safetensors", SD1_KEYS)
    cfg = new_config("", "character", base=base, model_preset="pony", notes=notes)
    assert cfg.model.family == "sdxl" and cfg.model.prediction_type == "epsilon"
    assert any("as asked, but the files say sd1" in n for n in notes)
    assert MODEL_PRESETS["pony"].caption_prefix_hint == PONY_SCORE_TAGS
    v = new_config("", "style", model_preset="noobai-vpred")
    assert (v.model.prediction_type, v.model.zero_terminal_snr, v.network.type) == ("v_prediction", True, "locon")
    with pytest.raises(KeyError):
        new_config("", "character", model_preset="nope")


def test_sdxl_concept_presets():
    c = apply_preset("sdxl-character")
    assert (c.concept, c.network.type, c.network.dim, c.model.family) == ("character", "lora", 16, "sdxl")
    assert c.optim.unet_lr == 1e-4 and not c.network.train_text_encoder and c.dataset.keep_tokens == 1
    s = apply_preset("sdxl-style")
    assert (s.concept, s.network.type, s.optim.unet_lr, s.dataset.resolution) == ("style", "locon", 8e-5, [1024, 1024])


def test_pony_score_tags_are_an_option_kept_in_front_and_exported(tmp_path, capsys):
    from loratui.config import export_kohya, import_kohya

    data = make_images(tmp_path / "data", {"10_mychar": 24})
    out = str(tmp_path / "pony.toml")
    assert main(["config", "new", str(data), "--model-preset", "pony", "--score-tags", "-o", out]) == 0
    assert "caption prefix 'score_9, score_8_up, score_7_up'" in capsys.readouterr().err
    cfg = TrainConfig.load(out)
    assert cfg.dataset.caption_prefix == PONY_SCORE_TAGS and cfg.dataset.keep_tokens == 4
    assert new_config(str(data), "character", model_preset="pony").dataset.caption_prefix == ""  # not forced
    written, _ = export_kohya(cfg, str(tmp_path / "k"))
    import tomllib

    ds = tomllib.loads(open(written[1]).read())
    assert ds["general"]["caption_prefix"] == "score_9, score_8_up, score_7_up,"  # sd-scripts joins with a space
    back = import_kohya(written[0])
    assert back.config.dataset.caption_prefix == PONY_SCORE_TAGS
    assert not any(u.key.endswith("caption_prefix") for u in back.unmapped)


def test_the_worker_puts_the_prefix_before_keep_tokens():
    import random

    from loratui.train.data import process_caption
    from loratui.train.spec import SubsetSpec

    sub = SubsetSpec(path="x", keep_tokens=4, shuffle_caption=True, caption_prefix=PONY_SCORE_TAGS)
    for seed in range(5):
        out = process_caption(["mychar", "1girl", "smile", "hat"], sub, random.Random(seed)).split(", ")
        assert out[:4] == ["score_9", "score_8_up", "score_7_up", "mychar"]
        assert sorted(out[4:]) == ["1girl", "hat", "smile"]
