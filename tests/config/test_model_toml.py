from __future__ import annotations

import os

import pytest

from loratui.config import SCHEMA_VERSION, ConfigError, SubsetConfig, TrainConfig

from .helpers import ready_config


def test_default_round_trip():
    cfg = TrainConfig()
    text = cfg.to_toml()
    assert f"schema_version = {SCHEMA_VERSION}" in text
    assert TrainConfig.from_toml(text) == cfg


def test_full_round_trip(tmp_path):
    cfg = ready_config(tmp_path, {"10_mychar": 3, "2_extra": 2})
    cfg.optim.optimizer_args = ["weight_decay=0.01"]
    cfg.schedule.sample_prompts = ["mychar, smile --n lowres --w 512 --h 768"]
    cfg.dataset.subsets.append(SubsetConfig("reg", 1, "1girl", True))
    cfg.hardware.gpu_ids = [0, 1]
    path = tmp_path / "run.toml"
    cfg.save(str(path))
    back = TrainConfig.load(str(path))
    assert back == cfg
    assert back.base_dir == str(tmp_path)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def _toml(body: str) -> str:
    return f"schema_version = 1\n{body}"


def test_unknown_keys_name_their_path():
    with pytest.raises(ConfigError) as e:
        TrainConfig.from_toml(_toml('[optim]\nunet_lrr = 1e-4\n[[dataset.subsets]]\nimage_dir = "a"\nrepeat = 3\n'
                                    '[bogus]\nx = 1\n'))
    msg = str(e.value)
    assert "optim.unet_lrr: unknown key (did you mean `unet_lr`?)" in msg
    assert "dataset.subsets[0].repeat: unknown key" in msg
    assert "bogus: unknown key" in msg
    assert len(e.value.problems) == 3


def test_wrong_types_name_their_path():
    with pytest.raises(ConfigError) as e:
        TrainConfig.from_toml(_toml('[network]\ndim = "32"\ntrain_unet = 1\n[optim]\nunet_lr = nan\n'
                                    '[schedule]\nsample_strengths = [0.6, "x"]\n'))
    msg = str(e.value)
    assert "network.dim: expected an integer, got '32'" in msg
    assert "network.train_unet: expected true or false" in msg
    assert "optim.unet_lr: nan is not a finite number" in msg
    assert "schedule.sample_strengths[1]: expected a number" in msg


def test_schema_version_required_and_bounded():
    with pytest.raises(ConfigError, match="schema_version: missing"):
        TrainConfig.from_toml("[model]\n")
    with pytest.raises(ConfigError, match="newer than this loratui"):
        TrainConfig.from_toml("schema_version = 99\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        TrainConfig.from_toml("schema_version = \n")


def test_conveniences():
    cfg = TrainConfig.from_toml(_toml("[dataset]\nresolution = 768\n[network]\nalpha = 8\n"))
    assert cfg.dataset.resolution == [768, 768]
    assert cfg.network.alpha == 8.0 and isinstance(cfg.network.alpha, float)


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="nope.toml: cannot read"):
        TrainConfig.load(str(tmp_path / "nope.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="bad.toml: not UTF-8"):
        TrainConfig.load(str(bad))


def test_relative_paths_resolve_against_the_file(tmp_path):
    (tmp_path / "cfgs").mkdir()
    p = tmp_path / "cfgs" / "run.toml"
    p.write_text(_toml('[model]\nbase = "../m.safetensors"\n[dataset]\nroot = "../data"\n'
                       '[[dataset.subsets]]\nimage_dir = "10_x"\n[output]\ndir = "out"\n'))
    cfg = TrainConfig.load(str(p))
    r = cfg.resolved()
    assert r.model.base == str(tmp_path / "m.safetensors")
    assert r.dataset.subsets[0].image_dir == str(tmp_path / "data" / "10_x")
    assert r.output.dir == str(tmp_path / "cfgs" / "out")
    assert cfg.output_file() == str(tmp_path / "cfgs" / "out" / "my_lora.safetensors")
    assert cfg.model.base == "../m.safetensors"  # the file keeps what the user wrote
