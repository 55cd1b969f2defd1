from __future__ import annotations

import json

import pytest

from loratui.lora import inspect_lora

from .lorafiles import SS_META, write_lora


@pytest.mark.parametrize("fmt,expected,conv", [
    ("lora", "kohya LoRA", {}), ("locon", "LoCon", {4: 1}), ("loha", "LoHa", {}), ("lokr", "LoKr", {}),
    ("peft", "diffusers-peft", {}),
])
def test_formats(tmp_path, fmt, expected, conv):
    info = inspect_lora(str(write_lora(tmp_path / f"{fmt}.safetensors", fmt)))
    assert info.format == expected
    assert (info.unet_modules, info.te_modules) == (3 + len(conv), 2)
    assert info.ranks == {8: 5}
    assert info.conv_ranks == conv
    if fmt == "peft":
        assert info.alphas == {}
    else:
        assert info.alphas == {4.0: 5}
    if fmt == "locon":
        assert info.conv_alphas == {2.0: 1}
    assert info.problems == []
    assert info.hash_ok is True


def test_base_model_guess_and_metadata(tmp_path):
    assert inspect_lora(str(write_lora(tmp_path / "a.safetensors"))).base_model == "sd_v1"
    info = inspect_lora(str(write_lora(tmp_path / "b.safetensors", metadata=SS_META)))
    assert (info.base_model, info.base_model_source) == ("sd_v1", "ss_base_model_version")
    settings = {k: v for k, _, v in info.settings}
    assert settings["ss_unet_lr"] == "0.0001" and settings["ss_num_epochs"] == "10"
    assert settings["ss_resolution"] == "(512, 768)"
    assert info.top_tags[:2] == [("mychar", 40), ("1girl", 38)]
    assert info.dataset_dirs == {"10_mychar": {"n_repeats": 10, "img_count": 40}}
    text = "\n".join(info.lines())
    assert "optimizer" in text and "10_mychar: 40 images x 10 repeats" in text and "= computed" in text


def test_hash_mismatch_and_missing(tmp_path):
    meta = {"sshs_model_hash": "0" * 64}
    info = inspect_lora(str(write_lora(tmp_path / "x.safetensors", metadata=meta, with_hash=False)))
    assert info.hash_ok is False and "file changed" in "\n".join(info.lines())
    info = inspect_lora(str(write_lora(tmp_path / "y.safetensors", with_hash=False)))
    assert info.stored_hash is None and len(info.computed_hash) == 64 and info.hash_ok is None
    assert inspect_lora(str(tmp_path / "y.safetensors"), compute_hashes=False).computed_hash is None


def test_bad_json_metadata_is_a_problem_not_a_crash(tmp_path):
    meta = {"ss_tag_frequency": "{not json", "ss_dataset_dirs": "[1]"}
    info = inspect_lora(str(write_lora(tmp_path / "x.safetensors", metadata=meta)))
    assert "ss_tag_frequency is not valid JSON" in info.problems
    assert info.top_tags == [] and info.dataset_dirs == {}


def test_not_a_lora(tmp_path):
    import numpy as np
    from safetensors.numpy import save_file

    p = tmp_path / "model.safetensors"
    save_file({"model.diffusion_model.x.weight": np.zeros((2, 2), np.float32)}, str(p))
    info = inspect_lora(str(p))
    assert info.format == "unknown" and info.problems


def test_to_dict_is_json(tmp_path):
    info = inspect_lora(str(write_lora(tmp_path / "x.safetensors", "locon", metadata=SS_META)))
    d = json.loads(json.dumps(info.to_dict()))
    assert d["format"] == "LoCon" and d["ranks"] == {"8": 5} and d["conv_ranks"] == {"4": 1}
    assert d["hashes"]["sshs_model_hash"]["match"] is True
    assert d["settings"]["ss_network_dim"] == "8"


def test_lycoris_ranks_split_by_linear_and_conv_full_rank_and_dora(tmp_path):
    loha = inspect_lora(str(write_lora(tmp_path / "h.safetensors", "loha-conv")))
    assert loha.format == "LoHa" and loha.ranks == {8: 5} and loha.conv_ranks == {4: 1}
    assert loha.conv_alphas == {2.0: 1}
    assert any(line.startswith("rank        8; conv 4") for line in loha.lines())
    full = inspect_lora(str(write_lora(tmp_path / "k.safetensors", "lokr-full")))
    assert full.format == "LoKr" and (full.full_rank, full.conv_full_rank) == (5, 1) and not full.ranks
    rank_line = next(line for line in full.lines() if line.startswith("rank"))
    assert "full" in rank_line and "conv full" in rank_line
    assert json.loads(json.dumps(full.to_dict()))["full_rank"] == {"linear": 5, "conv": 1}
    dora = inspect_lora(str(write_lora(tmp_path / "d.safetensors", "dora")))
    assert dora.format == "LoCon + DoRA" and dora.dora_modules == 6 and dora.problems == []
