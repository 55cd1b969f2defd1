"""SDXL in kohya import/export: sdxl flag, v_parameterization, zero_terminal_snr, cached text-encoder
outputs, UNet only, two text-encoder learning rates."""

from __future__ import annotations

import json
import tomllib

from loratui.config import export_kohya, import_kohya, import_kohya_ss_json, to_kohya
from loratui.config.kohya import flatten_config

from .helpers import ready_config
from .test_sdxl_presets import SDXL_KEYS, write_checkpoint


def sdxl_vpred_config(tmp_path):
    cfg = ready_config(tmp_path)
    cfg.model.family = "sdxl"
    cfg.model.prediction_type = "v_prediction"
    cfg.model.zero_terminal_snr = True
    cfg.model.clip_skip = 1
    cfg.dataset.resolution = [1024, 1024]
    cfg.dataset.shuffle_caption = False
    cfg.dataset.cache_text_encoder_outputs = True
    cfg.network.train_text_encoder = False
    cfg.optim.text_encoder_lr, cfg.optim.text_encoder2_lr = 3e-5, 1e-5
    return cfg


def test_export_says_sdxl_vpred_ztsnr_cache_and_unet_only(tmp_path):
    args, _dataset, notes = to_kohya(sdxl_vpred_config(tmp_path))
    flat = {k: v for sec in args.values() for k, v in (sec.items() if isinstance(sec, dict) else [])}
    flat.update({k: v for k, v in args.items() if not isinstance(v, dict)})
    assert flat["sdxl"] is True and flat["v_parameterization"] is True and flat["v2"] is False
    assert flat["zero_terminal_snr"] is True and flat["cache_text_encoder_outputs"] is True
    assert flat["network_train_unet_only"] is True and flat["text_encoder_lr"] == [3e-5, 1e-5]
    assert "clip_skip" not in flat  # not used by sd-scripts' SDXL scripts
    assert any("sdxl_train_network.py" in n for n in notes)


def test_round_trip_keeps_every_sdxl_setting_even_without_loratui_comments(tmp_path):
    cfg = sdxl_vpred_config(tmp_path)
    written, _ = export_kohya(cfg, str(tmp_path / "k"))
    text = "".join(ln for ln in open(written[0]).readlines() if not ln.startswith("#"))
    open(written[0], "w").write(text)
    back = import_kohya(written[0]).config
    m = back.model
    assert (m.family, m.prediction_type, m.zero_terminal_snr) == ("sdxl", "v_prediction", True)
    assert back.dataset.cache_text_encoder_outputs and not back.network.train_text_encoder
    assert (back.optim.text_encoder_lr, back.optim.text_encoder2_lr) == (3e-5, 1e-5)
    a, b = flatten_config(back.resolved()), flatten_config(cfg.resolved())
    assert {k for k in a if a[k] != b[k]} <= {"concept", "output.trigger_words", "schedule.sample_strengths",
                                               "hardware.device", "hardware.gpu_ids", "hardware.num_processes"}


def test_plain_sd_scripts_args_become_sdxl_from_two_te_lrs_or_the_base_model(tmp_path):
    p = tmp_path / "args.toml"
    p.write_text('pretrained_model_name_or_path = "/nowhere/model.safetensors"\n'
                 'text_encoder_lr = [4e-5, 2e-5]\nv_parameterization = true\nzero_terminal_snr = true\n')
    res = import_kohya(str(p))
    assert res.config.model.family == "sdxl" and res.config.model.prediction_type == "v_prediction"
    assert res.config.model.zero_terminal_snr and res.config.optim.text_encoder2_lr == 2e-5
    assert any("two text_encoder_lr values" in n for n in res.notes)
    assert not any(u.key == "v_parameterization" for u in res.unmapped)

    base = write_checkpoint(tmp_path / "illustrious.safetensors", SDXL_KEYS)
    q = tmp_path / "args2.toml"
    q.write_text(f'pretrained_model_name_or_path = "{base}"\ncache_text_encoder_outputs = true\n'
                 'network_train_unet_only = true\n')
    res = import_kohya(str(q))
    # sd-scripts trains epsilon unless told otherwise: the import says so rather than "auto"
    assert res.config.model.family == "sdxl" and res.config.model.prediction_type == "epsilon"
    assert res.config.dataset.cache_text_encoder_outputs and not res.config.network.train_text_encoder
    assert any("two text encoders in the checkpoint" in n for n in res.notes)
    # an SD 1.x args file stays SD 1.x: v_parameterization without v2 is refused as before
    r = tmp_path / "args3.toml"
    r.write_text('v_parameterization = true\n')
    res = import_kohya(str(r))
    assert res.config.model.family == "sd1" and any(u.key == "v_parameterization" for u in res.unmapped)


def test_kohya_ss_gui_json_sdxl_flag(tmp_path):
    p = tmp_path / "preset.json"
    p.write_text(json.dumps({"sdxl": True, "v_parameterization": False, "network_dim": 16, "network_alpha": 8,
                             "text_encoder_lr": 0.0, "unet_lr": 1e-4, "network_train_unet_only": True,
                             "cache_text_encoder_outputs": True}))
    res = import_kohya_ss_json(str(p))
    c = res.config
    assert c.model.family == "sdxl" and c.model.prediction_type == "epsilon"
    assert c.dataset.cache_text_encoder_outputs and not c.network.train_text_encoder
    assert not any(u.key == "sdxl" for u in res.unmapped)
    assert tomllib.loads(c.to_toml())["model"]["family"] == "sdxl"
