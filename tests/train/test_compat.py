"""A saved kohya file reproduces the training-time adapted model in diffusers' ``load_lora_weights``."""

from __future__ import annotations

import pytest

from .conftest import tiny_spec


@pytest.mark.parametrize("network", ["lora", "locon"])
def test_saved_file_loads_in_diffusers_with_identical_outputs(tiny_model, tmp_path, network):
    import torch
    from diffusers import StableDiffusionPipeline
    from safetensors.torch import load_file

    from loratui.lora.kohya_save import save_kohya
    from loratui.train.models import load_models
    from loratui.train.network import build_network, kohya_tensors

    spec = tiny_spec(tiny_model, "", str(tmp_path), network_type=network, network_dim=4, network_alpha=2.0,
                     conv_dim=3, conv_alpha=1.5)
    m = load_models(spec)
    net = build_network(m.unet, m.text_encoder, spec)
    assert len(net.unet_targets) == (48 if network == "lora" else 48 + 31) and len(net.te_targets) == 12
    torch.manual_seed(1)
    with torch.no_grad():  # as if trained: lora_up is zero at init
        for p in net.unet_params(m.unet) + net.te_params(m.text_encoder):
            p.add_(torch.randn_like(p) * 0.1)
    path = str(tmp_path / "x.safetensors")
    save_kohya(path, kohya_tensors(net, m.unet, m.text_encoder), {"ss_network_dim": "4"})

    sd = load_file(path)
    assert all(k.startswith(("lora_unet_", "lora_te_text_model_encoder_layers_")) for k in sd)
    alphas = {k: float(v) for k, v in sd.items() if k.endswith(".alpha")}
    assert len(alphas) == len(net.unet_targets) + len(net.te_targets)
    assert alphas["lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.alpha"] == 2.0
    assert sd["lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight"].shape == (4, 32, 1, 1)
    if network == "locon":
        assert alphas["lora_unet_down_blocks_0_resnets_0_conv1.alpha"] == 1.5
        assert sd["lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight"].shape == (3, 32, 3, 3)
        assert sd["lora_unet_down_blocks_0_resnets_0_conv1.lora_up.weight"].shape == (32, 3, 1, 1)
        assert sd["lora_unet_up_blocks_0_upsamplers_0_conv.lora_down.weight"].shape == (3, 64, 3, 3)

    ids = m.tokenizer(["the cat, 1girl"], padding="max_length", max_length=77, return_tensors="pt").input_ids
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([500])
    with torch.no_grad():
        h_train = m.text_encoder(ids)[0]
        out_train = m.unet(x, t, h_train).sample
    pipe = StableDiffusionPipeline.from_pretrained(tiny_model, local_files_only=True, safety_checker=None)
    with torch.no_grad():
        out_base = pipe.unet(x, t, pipe.text_encoder(ids)[0]).sample
    pipe.load_lora_weights(path)
    with torch.no_grad():
        h_loaded = pipe.text_encoder(ids)[0]
        out_loaded = pipe.unet(x, t, h_loaded).sample
    torch.testing.assert_close(h_loaded, h_train, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out_loaded, out_train, atol=1e-5, rtol=1e-5)
    assert (out_base - out_train).abs().max() > 1e-2  # the adapter really changes the model
