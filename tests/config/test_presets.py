from __future__ import annotations

import pytest

from loratui.config import (
    BUILTIN_PRESETS,
    ConfigError,
    apply_preset,
    new_config,
    preset_names,
    save_user_preset,
    user_presets_dir,
)

from .helpers import make_images


@pytest.mark.parametrize("name,net,dim,alpha,unet,te,trigger", [
    ("character", "lora", 32, 16, 1e-4, 5e-5, True),
    ("style", "locon", 32, 16, 8e-5, 4e-5, False),
    ("background", "lora", 32, 16, 8e-5, 4e-5, False),
    ("concept", "lora", 16, 8, 1e-4, 5e-5, True),
])
def test_builtin_presets_match_the_domain_table(name, net, dim, alpha, unet, te, trigger):
    cfg = apply_preset(name)
    assert (cfg.concept, cfg.network.type, cfg.network.dim, cfg.network.alpha) == (name, net, dim, alpha)
    assert (cfg.optim.unet_lr, cfg.optim.text_encoder_lr, cfg.schedule.epochs) == (unet, te, 10)
    assert BUILTIN_PRESETS[name].repeats == 10
    assert BUILTIN_PRESETS[name].trigger_required is trigger
    if net == "locon":
        assert (cfg.network.conv_dim, cfg.network.conv_alpha) == (16, 8)


def test_new_config_from_a_dataset(tmp_path):
    root = make_images(tmp_path / "mychar", {"10_mychar": 3, "5_mychar closeup": 2, "notes": 0})
    (root / "notes").mkdir(exist_ok=True)
    cfg = new_config(str(root), "character")
    assert [(s.image_dir, s.repeats, s.class_tokens) for s in cfg.dataset.subsets] == [
        ("10_mychar", 10, "mychar"), ("5_mychar closeup", 5, "mychar closeup")]
    assert cfg.output.trigger_words == ["mychar"]
    assert cfg.output.name == "mychar"
    assert cfg.schedule.sample_prompts[0].startswith("mychar, ")


def test_new_config_flat_folder_gets_preset_repeats(tmp_path):
    root = make_images(tmp_path, {"pics": 2}) / "pics"
    cfg = new_config(str(root), "style")
    assert [(s.image_dir, s.repeats) for s in cfg.dataset.subsets] == [(".", 10)]
    assert cfg.output.trigger_words == []


def test_sdxl_defaults():
    cfg = new_config("", "character", family="sdxl")
    assert cfg.dataset.resolution == [1024, 1024]


def test_user_presets(tmp_path):
    src = apply_preset("style")
    src.network.dim = 64
    src.optim.optimizer = "Lion"
    path = save_user_preset("my style", src)
    assert path.startswith(user_presets_dir())
    assert "my style" in preset_names()
    target = new_config(str(make_images(tmp_path / "d", {"10_x": 1})), "character")
    out = apply_preset("my style", target)
    assert (out.network.dim, out.optim.optimizer, out.concept) == (64, "Lion", "style")
    assert out.dataset.root == target.dataset.root and out.dataset.subsets == target.dataset.subsets
    with pytest.raises(ValueError, match="built-in"):
        save_user_preset("style", src)
    with pytest.raises(ValueError, match="preset name"):
        save_user_preset("../evil", src)
    with pytest.raises(KeyError, match="unknown preset"):
        apply_preset("nope")


def test_broken_user_preset_is_a_config_error(tmp_path):
    import os

    os.makedirs(user_presets_dir(), exist_ok=True)
    with open(os.path.join(user_presets_dir(), "broken.toml"), "w") as fh:
        fh.write("schema_version = 1\n[network]\ndimm = 3\n")
    with pytest.raises(ConfigError, match="network.dimm"):
        apply_preset("broken")
