"""kohya naming, target counts on the full SD1.5 architecture, and the file writer's hashes."""

from __future__ import annotations

import hashlib
import json
import struct

import pytest

from loratui.lora.kohya_keys import kohya_key, te_key, te_targets, unet_targets
from loratui.lora.kohya_save import read_metadata, save_kohya


def test_key_names():
    assert kohya_key("lora_unet_", "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q") == \
        "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q"
    assert kohya_key("lora_te_", "text_model.encoder.layers.0.self_attn.q_proj") == \
        "lora_te_text_model_encoder_layers_0_self_attn_q_proj"
    assert te_key("encoder.layers.0.self_attn.q_proj") == te_key("text_model.encoder.layers.0.self_attn.q_proj") == \
        "lora_te_text_model_encoder_layers_0_self_attn_q_proj"


@pytest.fixture(scope="module")
def sd15_meta():
    """SD1.5's UNet and text encoder, built on the meta device (no weights, no memory)."""
    from accelerate import init_empty_weights
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    with init_empty_weights():
        unet = UNet2DConditionModel(cross_attention_dim=768, attention_head_dim=8, sample_size=64)
        te = CLIPTextModel(CLIPTextConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                          num_attention_heads=12, projection_dim=768))
    return unet, te


def test_sd15_lierla_has_192_unet_and_72_te_modules(sd15_meta):
    unet, te = sd15_meta
    u = unet_targets(unet)
    t = te_targets(te)
    assert len(u) == 192 and len(t) == 72
    assert "down_blocks.0.attentions.0.proj_in" in u and u["down_blocks.0.attentions.0.proj_in"] == "conv1x1"
    assert "up_blocks.3.attentions.2.transformer_blocks.0.ff.net.2" in u
    assert "mid_block.attentions.0.transformer_blocks.0.attn2.to_out.0" in u
    assert not any("resnets" in n for n in u)
    assert any(n.endswith("encoder.layers.11.mlp.fc2") for n in t)
    keys = {te_key(n) for n in t}
    assert "lora_te_text_model_encoder_layers_0_self_attn_out_proj" in keys


def test_sd15_locon_adds_resnet_and_sampler_convs(sd15_meta):
    unet, _ = sd15_meta
    u = unet_targets(unet, conv=True)
    conv3 = [n for n, k in u.items() if k == "conv3x3"]
    # 22 resnets x (conv1, conv2) + 3 downsamplers + 3 upsamplers
    assert len(conv3) == 22 * 2 + 3 + 3
    assert "down_blocks.0.downsamplers.0.conv" in conv3 and "up_blocks.0.upsamplers.0.conv" in conv3
    assert u["down_blocks.1.resnets.0.conv_shortcut"] == "conv1x1"
    assert u["mid_block.resnets.1.time_emb_proj"] == "linear"
    assert len(u) == 192 + 22 * 3 + 3 + 3 + sum(1 for n in u if n.endswith("conv_shortcut"))
    assert "conv_in" not in u and "conv_out" not in u


def _hashes_from_bytes(buf: bytes) -> tuple[str, str]:
    (n,) = struct.unpack("<Q", buf[:8])
    return hashlib.sha256(buf[8 + n:]).hexdigest(), hashlib.sha256(buf[0x100000:0x110000]).hexdigest()[:8]


def _sd_scripts_hashes(tensors, metadata) -> tuple[str, str]:
    """sd-scripts' train_util.precalculate_safetensors_hashes, restated: the tensors serialised with
    only the ss_* metadata; model hash over the data area, legacy hash over 64 KiB at 1 MiB."""
    from safetensors.torch import save

    buf = save(tensors, {k: v for k, v in metadata.items() if k.startswith("ss_")})
    return _hashes_from_bytes(buf)


def test_save_kohya_hashes_follow_sd_scripts(tmp_path):
    import torch

    from loratui.lora import inspect_lora

    torch.manual_seed(0)
    tensors = {"lora_unet_x.lora_down.weight": torch.randn(4, 320), "lora_unet_x.lora_up.weight": torch.randn(320, 4),
               "lora_unet_x.alpha": torch.tensor(2.0), "lora_unet_big.lora_down.weight": torch.randn(8, 80_000)}
    md = {"ss_network_dim": "4", "ss_tag_frequency": json.dumps({"1_x": {"a": 1}}), "modelspec.title": "t",
          "modelspec.description": "a long user description " * 40}
    path = str(tmp_path / "x.safetensors")
    written = save_kohya(path, tensors, md)
    buf = open(path, "rb").read()
    assert len(buf) > 0x110000  # the legacy hash window is inside the file
    want_model, want_legacy = _sd_scripts_hashes(tensors, md)
    file_model, file_legacy = _hashes_from_bytes(buf)
    meta = read_metadata(path)
    assert meta["sshs_model_hash"] == want_model == written["sshs_model_hash"] == file_model
    assert meta["sshs_legacy_hash"] == want_legacy == written["sshs_legacy_hash"]
    assert want_legacy != file_legacy  # sd-scripts hashes the ss_-only bytes, not the final file's
    # the inspector recomputes both the way sd-scripts defines them, from the file alone
    info = inspect_lora(path)
    assert (info.computed_hash, info.computed_legacy_hash) == (want_model, want_legacy)
    assert info.hash_ok and info.legacy_hash_ok
    assert meta["ss_network_dim"] == "4" and json.loads(meta["ss_tag_frequency"]) == {"1_x": {"a": 1}}
    from safetensors.torch import load_file

    back = load_file(path)
    assert torch.equal(back["lora_unet_x.alpha"], torch.tensor(2.0))
    assert not list(tmp_path.glob(".tmp-*"))
    with pytest.raises(TypeError, match="strings"):
        save_kohya(path, tensors, {"ss_network_dim": 4})
