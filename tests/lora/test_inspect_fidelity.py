"""Inspector fidelity: older diffusers layout, dates, networks only for new configs, hash variants."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from safetensors.numpy import save_file

from loratui.config import ConfigError, config_from_lora
from loratui.lora import inspect_lora

from .lorafiles import lora_tensors, write_lora


def _old_diffusers(path) -> str:
    """What diffusers' save_lora_weights wrote before peft: text-encoder ``lora_linear_layer``
    and UNet attention-processor ``to_q_lora`` spellings."""
    r = np.random.default_rng(1)
    t = {}
    for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
        base = f"text_encoder.text_model.encoder.layers.0.self_attn.{proj}.lora_linear_layer"
        t[f"{base}.down.weight"] = r.standard_normal((4, 768)).astype(np.float16)
        t[f"{base}.up.weight"] = r.standard_normal((768, 4)).astype(np.float16)
    for proj in ("to_q", "to_k", "to_v"):
        base = f"unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.{proj}_lora"
        t[f"{base}.down.weight"] = r.standard_normal((4, 320)).astype(np.float16)
        t[f"{base}.up.weight"] = r.standard_normal((320, 4)).astype(np.float16)
    save_file(t, str(path))
    return str(path)


def test_older_diffusers_layout_is_recognised(tmp_path):
    info = inspect_lora(_old_diffusers(tmp_path / "old.safetensors"))
    assert info.format == "diffusers (pre-peft)"
    assert (info.unet_modules, info.te_modules) == (3, 4) and info.ranks == {4: 7}
    assert not info.problems, info.problems  # not "unexpected tensor"
    assert info.is_network


def test_training_dates_are_dates(tmp_path):
    meta = {"ss_training_started_at": "1714560000", "ss_training_finished_at": "1714563600.5"}
    info = inspect_lora(str(write_lora(tmp_path / "d.safetensors", metadata=meta)))
    settings = {k: v for k, _, v in info.settings}
    assert settings["ss_training_started_at"] == "2024-05-01 10:40:00 UTC"
    assert settings["ss_training_finished_at"] == "2024-05-01 11:40:00 UTC"
    assert "1714560000" not in "\n".join(info.lines())


def test_new_training_config_only_for_networks(tmp_path):
    assert inspect_lora(str(write_lora(tmp_path / "n.safetensors", metadata={"ss_network_dim": "8"}))).is_network
    emb = tmp_path / "embedding.safetensors"  # a textual-inversion embedding: no network
    save_file({"emb_params": np.zeros((2, 768), dtype=np.float32)}, str(emb), metadata={"ss_seed": "1"})
    info = inspect_lora(str(emb))
    assert not info.is_network
    with pytest.raises(ConfigError, match="not a LoRA network"):
        config_from_lora(str(emb))
    config_from_lora(str(tmp_path / "n.safetensors"))  # a network still works


def test_lycoris_hash_variant_is_recognised_not_a_mismatch(tmp_path):
    t = lora_tensors("loha")
    digest = hashlib.sha256()
    for v in t.values():  # LyCORIS 3.x: sha256 over each tensor's bytes, in its state_dict order
        digest.update(np.ascontiguousarray(v).tobytes())
    p = tmp_path / "lyco.safetensors"
    save_file(t, str(p), metadata={"sshs_model_hash": "0x" + digest.hexdigest(), "ss_network_module": "lycoris.kohya"})
    info = inspect_lora(str(p))
    assert info.hash_kind == "lycoris" and info.hash_ok is None
    text = "\n".join(info.lines())
    assert "file changed" not in text and "LyCORIS" in text
    assert info.to_dict()["hashes"]["kind"] == "lycoris"
