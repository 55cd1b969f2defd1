"""Config fields of the model family: prediction type, zero-terminal SNR, cached text-encoder
outputs, SDXL's second text-encoder LR; their TOML, validation, form, spec and `config check` line."""

from __future__ import annotations

import pytest

from loratui.config import ERROR, WARNING, TrainConfig
from loratui.config.fields import form_fields, format_value, parse_value
from loratui.config.validate_family import describe_model

from .helpers import ready_config


def by_path(findings, path):
    return [f for f in findings if f.path == path]


def test_defaults_and_toml_round_trip():
    cfg = TrainConfig()
    assert cfg.model.prediction_type == "auto" and cfg.model.zero_terminal_snr is False
    assert cfg.dataset.cache_text_encoder_outputs is False and cfg.optim.text_encoder2_lr is None
    text = cfg.to_toml()
    assert "text_encoder2_lr" not in text  # unset: absent
    cfg.model.family, cfg.model.prediction_type, cfg.model.zero_terminal_snr = "sdxl", "v_prediction", True
    cfg.dataset.cache_text_encoder_outputs = True
    cfg.optim.text_encoder2_lr = 2e-5
    back = TrainConfig.from_toml(cfg.to_toml())
    assert back == cfg


def test_bad_values_name_the_field():
    from loratui.config.toml_io import ConfigError

    with pytest.raises(ConfigError, match="optim.text_encoder2_lr"):
        TrainConfig.from_toml('schema_version = 1\n[optim]\ntext_encoder2_lr = "fast"\n')
    cfg = TrainConfig()
    cfg.model.prediction_type = "x0"
    cfg.optim.text_encoder2_lr = 0.0
    errs = [f for f in cfg.validate(check_files=False) if f.is_error]
    assert by_path(errs, "model.prediction_type")[0].allowed == "one of: auto, epsilon, v_prediction"
    assert by_path(errs, "optim.text_encoder2_lr")[0].allowed == "> 0"


def test_cached_text_encoder_outputs_need_unet_only_and_fixed_captions(tmp_path):
    cfg = ready_config(tmp_path)
    cfg.dataset.cache_text_encoder_outputs = True
    cfg.dataset.shuffle_caption = True
    cfg.network.train_text_encoder = True
    errs = [f for f in cfg.validate() if f.is_error]
    assert by_path(errs, "dataset.cache_text_encoder_outputs")
    assert by_path(errs, "dataset.shuffle_caption")
    cfg.network.train_text_encoder = False
    cfg.dataset.shuffle_caption = False
    cfg.dataset.subsets[0].caption_dropout_rate = 0.1  # a subset's own option counts
    errs = [f for f in cfg.validate() if f.is_error]
    assert [f.path for f in errs] == ["dataset.subsets[0].caption_dropout_rate"]
    cfg.dataset.subsets[0].caption_dropout_rate = None
    assert not [f for f in cfg.validate() if f.is_error]
    # every subset overriding the dataset's shuffle with False: nothing is shuffled
    cfg.dataset.shuffle_caption = True
    cfg.dataset.subsets[0].shuffle_caption = False
    assert not [f for f in cfg.validate() if f.is_error]


def test_prediction_type_and_zero_terminal_snr_findings():
    cfg = TrainConfig()
    cfg.model.family, cfg.model.prediction_type = "sd2-v", "epsilon"
    assert by_path(cfg.validate(check_files=False), "model.prediction_type")[0].level == ERROR
    cfg.model.family, cfg.model.zero_terminal_snr = "sdxl", True
    assert by_path(cfg.validate(check_files=False), "model.zero_terminal_snr")[0].level == WARNING
    cfg.model.prediction_type = "v_prediction"
    assert not by_path(cfg.validate(check_files=False), "model.zero_terminal_snr")
    assert not by_path(cfg.validate(check_files=False), "model.prediction_type")


def test_sdxl_clip_skip_and_second_lr_findings():
    cfg = TrainConfig()
    cfg.model.clip_skip = 2
    cfg.optim.text_encoder2_lr = 1e-5
    fs = cfg.validate(check_files=False)
    assert not by_path(fs, "model.clip_skip")
    assert by_path(fs, "optim.text_encoder2_lr")[0].message == "ignored: sd1 has one text encoder"
    cfg.model.family = "sdxl"
    cfg.optim.text_encoder2_lr = 5e-4  # above the UNet's
    fs = cfg.validate(check_files=False)
    assert by_path(fs, "model.clip_skip")[0].level == WARNING
    assert by_path(fs, "optim.text_encoder2_lr")[0].message == "above the UNet learning rate"


def test_form_field_optional_float():
    f = next(f for f in form_fields() if f.path == "optim.text_encoder2_lr")
    assert f.kind == "float" and f.optional
    assert format_value(f, None) == "" and parse_value(f, "  ") is None
    assert parse_value(f, "2e-5") == 2e-5 and format_value(f, 2e-5) == "2e-05"
    plain = next(f for f in form_fields() if f.path == "optim.text_encoder_lr")
    assert not plain.optional
    with pytest.raises(ValueError):
        parse_value(plain, "")
    pt = next(f for f in form_fields() if f.path == "model.prediction_type")
    assert pt.kind == "choice" and pt.choices == ("auto", "epsilon", "v_prediction")


def test_spec_carries_the_fields():
    from loratui.train.spec import spec_from_config

    cfg = TrainConfig()
    cfg.model.base = "/m"
    assert spec_from_config(cfg).v_parameterization is None
    cfg.model.family = "sd2-v"
    assert spec_from_config(cfg).v_parameterization is True
    cfg.model.family, cfg.model.prediction_type = "sdxl", "epsilon"
    assert spec_from_config(cfg).v_parameterization is False
    cfg.model.prediction_type, cfg.model.zero_terminal_snr = "v_prediction", True
    cfg.dataset.cache_text_encoder_outputs = True
    cfg.optim.text_encoder2_lr = 3e-5
    s = spec_from_config(cfg)
    assert (s.v_parameterization, s.zero_terminal_snr, s.cache_text_encoder_outputs, s.text_encoder2_lr) == \
        (True, True, True, 3e-5)


def test_describe_model_and_config_check_line(tmp_path, capsys):
    from loratui.cli.main import main

    cfg = ready_config(tmp_path)
    cfg.model.family, cfg.model.prediction_type, cfg.model.zero_terminal_snr = "sdxl", "v_prediction", True
    cfg.network.train_text_encoder = False
    cfg.dataset.shuffle_caption = False
    cfg.dataset.cache_text_encoder_outputs = True
    assert describe_model(cfg) == "sdxl, v_prediction, zero-terminal SNR, UNet only, text-encoder outputs cached"
    path = tmp_path / "c.toml"
    cfg.save(str(path))
    main(["config", "check", str(path)])
    out = capsys.readouterr().out
    assert "model     sdxl, v_prediction, zero-terminal SNR, UNet only, text-encoder outputs cached" in out
    cfg.network.train_text_encoder = True
    cfg.optim.text_encoder2_lr = 1e-5
    assert describe_model(cfg).endswith("UNet + text encoders lr 5e-05 / 1e-05, text-encoder outputs cached")


def test_base_model_files_contradicting_the_config(tmp_path):
    """An SDXL checkpoint set up as sd1 is an error; NoobAI's v_pred / ztsnr markers against an
    epsilon / no-rescale config are warnings; auto follows the file silently."""
    import json
    import struct

    def checkpoint(path, names):
        header = {n: {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for n in names}
        raw = json.dumps(header).encode()
        path.write_bytes(struct.pack("<Q", len(raw)) + raw)
        return str(path)

    xl = checkpoint(tmp_path / "noob.safetensors", ["conditioner.embedders.1.model.positional_embedding",
                                                    "v_pred", "ztsnr"])
    cfg = TrainConfig()
    cfg.model.base = xl
    fs = cfg.validate()
    fam = by_path(fs, "model.family")[0]
    assert fam.level == ERROR and fam.hint == 'set model.family = "sdxl"'
    cfg.model.family, cfg.model.prediction_type = "sdxl", "epsilon"
    fs = cfg.validate()
    assert not by_path(fs, "model.family")
    assert "v-prediction" in by_path(fs, "model.prediction_type")[0].message
    assert by_path(fs, "model.zero_terminal_snr")[0].level == WARNING
    cfg.model.prediction_type, cfg.model.zero_terminal_snr = "auto", True
    fs = cfg.validate()
    assert not by_path(fs, "model.prediction_type") and not by_path(fs, "model.zero_terminal_snr")
    assert not by_path(cfg.validate(check_files=False), "model.family")
