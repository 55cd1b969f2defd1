"""LoHa / LoKr / DoRA: a trained network's saved file reproduces the training-time model, both through
lycoris-lora's own kohya loader (its forward path: ``merge_to`` scales LoHa/LoKr twice in 4.1.3) and
through an independent plain-math merge written here from the loaders' formulas."""

from __future__ import annotations

import copy

import pytest

from .conftest import tiny_spec

pytestmark = pytest.mark.slow

TYPES = {
    "loha": dict(network_type="loha", network_dim=2, network_alpha=1.0, conv_dim=2, conv_alpha=1.0),
    "lokr": dict(network_type="lokr", network_dim=2, network_alpha=1.0, conv_dim=2, conv_alpha=1.0, lokr_factor=4),
    "lokr-full": dict(network_type="lokr", network_dim=2, network_alpha=1.0, conv_dim=2, lokr_full_matrix=True),
    "lora-dora": dict(network_type="lora", dora=True, lycoris_preset="attn-mlp",
                      network_dim=4, network_alpha=2.0),
    "locon-dora": dict(network_type="locon", dora=True, network_dim=4, network_alpha=2.0, conv_dim=2,
                       conv_alpha=1.0),
}


def _train_a_few_steps(m, net, steps=2):
    """Real gradient steps, so every factor (and DoRA's magnitude) moves away from its init."""
    import torch

    params = net.unet_params(m.unet) + net.te_params(m.text_encoder)
    opt = torch.optim.Adam(params, lr=2e-2)
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(0, 200, (2, 77), generator=g)
    for _ in range(steps):
        x = torch.randn(2, 4, 8, 8, generator=g)
        target = torch.randn(2, 4, 8, 8, generator=g)
        out = m.unet(x, torch.tensor([10, 700]), m.text_encoder(ids)[0]).sample
        loss = torch.nn.functional.mse_loss(out, target)
        opt.zero_grad()
        loss.backward()
        opt.step()


def _te_module(te, key_tail: str):
    """Module of ``te`` named by a kohya key tail (``text_model_encoder_layers_0_mlp_fc1``)."""
    for name, mod in te.named_modules():
        path = name if name.startswith("text_model.") else "text_model." + name
        if path.replace(".", "_") == key_tail:
            return mod
    raise KeyError(key_tail)


def _plain_merge(sd: dict, unet, te) -> None:
    """Merge the file into ``unet`` / ``te`` with the loaders' formulas (ComfyUI weight_adapter):
    LoHa (w1a@w1b)*(w2a@w2b)*alpha/dim; LoKr kron(w1, w2)*alpha/dim (scale 1 if neither factor is
    split); LoRA up@down*alpha/dim; DoRA W' = m * (W + dW) / ||W + dW|| per output row."""
    import torch

    unet_names = {n.replace(".", "_"): mod for n, mod in unet.named_modules()}
    keys = sorted({k.split(".", 1)[0] for k in sd})
    with torch.no_grad():
        for key in keys:
            t = {k.split(".", 1)[1]: v.double() for k, v in sd.items() if k.split(".", 1)[0] == key}
            mod = unet_names[key[len("lora_unet_"):]] if key.startswith("lora_unet_") else \
                _te_module(te, key[len("lora_te_"):])
            w = mod.weight.double()
            alpha = float(t["alpha"])
            if "hada_w1_a" in t:
                dim = t["hada_w1_b"].shape[0]
                delta = (t["hada_w1_a"] @ t["hada_w1_b"]) * (t["hada_w2_a"] @ t["hada_w2_b"]) * alpha / dim
            elif "lokr_w1" in t or "lokr_w1_a" in t:
                w1 = t["lokr_w1"] if "lokr_w1" in t else t["lokr_w1_a"] @ t["lokr_w1_b"]
                if "lokr_w2" in t:
                    w2 = t["lokr_w2"]
                else:
                    w2 = t["lokr_w2_a"] @ t["lokr_w2_b"]
                    if w.dim() == 4:
                        w2 = w2.reshape(w2.shape[0], -1, *w.shape[2:])
                dims = [t[k].shape[0] for k in ("lokr_w1_b", "lokr_w2_b") if k in t]
                scale = alpha / dims[0] if dims else 1.0
                if w2.dim() == 4:
                    w1 = w1[:, :, None, None]
                delta = torch.kron(w1, w2) * scale
            else:
                up, down = t["lora_up.weight"], t["lora_down.weight"]
                dim = down.shape[0]
                delta = (up.flatten(1) @ down.flatten(1)) * alpha / dim
            new = w + delta.reshape(w.shape)
            if "dora_scale" in t:
                norm = new.reshape(new.shape[0], -1).norm(dim=1).reshape(-1, *[1] * (new.dim() - 1))
                new = t["dora_scale"].reshape(norm.shape) * new / norm
            mod.weight.copy_(new.to(mod.weight.dtype))


def _lycoris_load(sd: dict, unet, te):
    """lycoris-lora's kohya loader, forward path (modules wrap the layers; nothing merged). Its TE
    names follow the loaded transformers' module paths, so the file's standard
    ``lora_te_text_model_...`` keys are handed over in that spelling."""
    from lycoris.kohya import LycorisNetworkKohya, create_network_from_weights

    flat = not any(n.startswith("text_model.") for n, _ in te.named_modules())
    sd = {(k.replace("lora_te_text_model_", "lora_te_", 1) if flat else k): v for k, v in sd.items()}
    # the loader first builds an empty network with the class-level preset ("full", which trips over
    # diffusers' duplicated time_embedding names); its module list is replaced from the file anyway
    keep = {k: getattr(LycorisNetworkKohya, k) for k in ("UNET_TARGET_REPLACE_MODULE", "UNET_TARGET_REPLACE_NAME")}
    LycorisNetworkKohya.apply_preset({"unet_target_module": [], "unet_target_name": []})
    try:
        network, _ = create_network_from_weights(1.0, "", None, te, unet, weights_sd=sd)
    finally:
        for k, v in keep.items():
            setattr(LycorisNetworkKohya, k, v)
    network.apply_to(te, unet, apply_text_encoder=True, apply_unet=True)
    assert len(network.unet_loras) + len(network.text_encoder_loras) == len({k.split(".")[0] for k in sd})
    return network


def _outputs(unet, te, ids, x, t):
    """(text-encoder hidden states, UNet output)."""
    import torch

    with torch.no_grad():
        h = te(ids)[0]
        return h, unet(x, t, h).sample


def _rel(a, b) -> float:
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("kind", list(TYPES))
def test_saved_file_reproduces_the_trained_model(tiny_model, tmp_path, kind):
    import torch
    from safetensors.torch import load_file

    from loratui.lora.kohya_save import save_kohya
    from loratui.train.models import load_models
    from loratui.train.network import build_network, kohya_tensors

    spec = tiny_spec(tiny_model, "", str(tmp_path), **TYPES[kind])
    m = load_models(spec)
    base = (copy.deepcopy(m.unet), copy.deepcopy(m.text_encoder))
    lyco = (copy.deepcopy(m.unet), copy.deepcopy(m.text_encoder))
    plain = (copy.deepcopy(m.unet), copy.deepcopy(m.text_encoder))
    torch.manual_seed(0)
    net = build_network(m.unet, m.text_encoder, spec)
    _train_a_few_steps(m, net)
    m.unet.eval()
    m.text_encoder.eval()
    path = str(tmp_path / "x.safetensors")
    save_kohya(path, kohya_tensors(net, m.unet, m.text_encoder), {})
    sd = load_file(path)

    # the key format every LyCORIS loader reads
    assert all(k.startswith(("lora_unet_", "lora_te_text_model_encoder_layers_")) for k in sd)
    suffixes = {k.split(".", 1)[1] for k in sd}
    expect = {"loha": {"hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", "alpha"},
              "lokr": {"lokr_w1", "lokr_w2_a", "lokr_w2_b", "alpha"},
              "lokr-full": {"lokr_w1", "lokr_w2", "alpha"},
              "lora-dora": {"lora_up.weight", "lora_down.weight", "alpha", "dora_scale"},
              "locon-dora": {"lora_up.weight", "lora_down.weight", "alpha", "dora_scale"}}[kind]
    assert expect <= suffixes, suffixes
    if kind == "lokr-full":
        assert not any("lokr_w2_a" in k for k in sd)
    if kind in ("loha", "locon-dora", "lokr"):
        assert "lora_unet_down_blocks_0_resnets_0_conv1.alpha" in sd  # 3x3 convs adapted
    if kind == "lora-dora":
        assert not any("resnets" in k for k in sd)

    ids = m.tokenizer(["the cat, 1girl"], padding="max_length", max_length=77, return_tensors="pt").input_ids
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([500])
    h_train, out_train = _outputs(m.unet, m.text_encoder, ids, x, t)

    h_base, out_base = _outputs(*base, ids, x, t)
    assert _rel(out_base, out_train) > 1e-2 and _rel(h_base, h_train) > 1e-3  # the network really trained

    _lycoris_load(sd, *lyco)
    h_l, out_l = _outputs(*lyco, ids, x, t)
    assert _rel(h_l, h_train) < 1e-3 and _rel(out_l, out_train) < 1e-3

    _plain_merge(sd, *plain)
    h_p, out_p = _outputs(*plain, ids, x, t)
    assert _rel(h_p, h_train) < 1e-3 and _rel(out_p, out_train) < 1e-3
