"""LoRA / LoCon on the UNet and text encoder with peft, on kohya's target modules, and the
conversion of the trained adapter to kohya tensors (``lora_down`` / ``lora_up`` / real ``alpha``).
LoHa, LoKr and DoRA networks use lycoris-lora's modules instead (``lycoris_net``); the same
``Network`` methods serve both, so the trainer does not tell them apart."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from loratui.lora.kohya_keys import (
    UNET_PREFIX,
    kohya_key,
    lycoris_te_targets,
    lycoris_unet_targets,
    te_key,
    te_targets,
    unet_targets,
)

from . import lycoris_net

ADAPTER = "default"


@dataclass
class Network:
    unet_targets: dict[str, str] = field(default_factory=dict)
    te_targets: dict[str, str] = field(default_factory=dict)
    lycoris_unet: dict = field(default_factory=dict)
    """LyCORIS networks: {module name: lycoris module}; empty for peft LoRA / LoCon."""
    lycoris_te: dict = field(default_factory=dict)
    lycoris: bool = False

    def unet_params(self, unet) -> list:
        if self.lycoris:
            return lycoris_net.params(self.lycoris_unet)
        return _lora_params(unet, self.unet_targets)

    def te_params(self, text_encoder) -> list:
        if self.lycoris:
            return lycoris_net.params(self.lycoris_te)
        return _lora_params(text_encoder, self.te_targets)

    def set_strength(self, unet, text_encoder, strength: float) -> None:
        """Scale every module's delta by ``strength`` (samples at several LoRA strengths)."""
        if self.lycoris:
            lycoris_net.set_strength({**self.lycoris_unet, **self.lycoris_te}, strength)
            return
        for model, targets in ((unet, self.unet_targets), (text_encoder, self.te_targets)):
            for n in targets:
                model.get_submodule(n).set_scale(ADAPTER, strength)


def _lora_params(model, targets) -> list:
    out = []
    for name in targets:
        m = model.get_submodule(name)
        out += [m.lora_A[ADAPTER].weight, m.lora_B[ADAPTER].weight]
    return out


def inject_lora(model, targets: dict[str, str], dim: int, alpha: float, conv_dim: int = 0,
                conv_alpha: float = 1.0, dropout: float = 0.0) -> None:
    """Add peft LoRA layers to ``targets`` (3x3 convs get ``conv_dim``/``conv_alpha``); LoRA params fp32.

    kohya's init: ``lora_down`` kaiming-uniform, ``lora_up`` zeros (peft's default).
    """
    import torch
    from peft import LoraConfig, inject_adapter_in_model

    if not targets:
        return
    conv = [n for n, k in targets.items() if k == "conv3x3"]
    cfg = LoraConfig(r=dim, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(targets),
                     rank_pattern={re.escape(n): conv_dim for n in conv},
                     alpha_pattern={re.escape(n): conv_alpha for n in conv}, init_lora_weights=True)
    inject_adapter_in_model(cfg, model, adapter_name=ADAPTER)
    model.requires_grad_(False)
    for p in _lora_params(model, targets):
        p.data = p.data.to(torch.float32)
        p.requires_grad_(True)


def build_network(unet, text_encoder, spec) -> Network:
    if spec.is_lycoris:
        return build_lycoris_network(unet, text_encoder, spec)
    net = Network()
    locon = spec.network_type == "locon" and spec.conv_dim > 0
    if spec.train_unet:
        net.unet_targets = unet_targets(unet, conv=locon)
        inject_lora(unet, net.unet_targets, spec.network_dim, spec.network_alpha, spec.conv_dim, spec.conv_alpha,
                    spec.network_dropout)
    else:
        unet.requires_grad_(False)
    if spec.train_text_encoder:
        net.te_targets = te_targets(text_encoder)
        inject_lora(text_encoder, net.te_targets, spec.network_dim, spec.network_alpha,
                    dropout=spec.network_dropout)
    else:
        text_encoder.requires_grad_(False)
    return net


def build_lycoris_network(unet, text_encoder, spec) -> Network:
    """LoHa / LoKr / DoRA on the layers of ``spec.lycoris_preset`` (3x3 convs when ``conv_dim``)."""
    net = Network(lycoris=True)
    if spec.train_unet:
        net.unet_targets = lycoris_unet_targets(unet, spec.lycoris_preset, conv=spec.conv_dim > 0)
        net.lycoris_unet = lycoris_net.inject(unet, net.unet_targets, spec)
    else:
        unet.requires_grad_(False)
    if spec.train_text_encoder:
        net.te_targets = lycoris_te_targets(text_encoder, spec.lycoris_preset)
        net.lycoris_te = lycoris_net.inject(text_encoder, net.te_targets, spec)
    else:
        text_encoder.requires_grad_(False)
    return net


def kohya_tensors(net: Network, unet, text_encoder, dtype=None) -> dict:
    """The adapter as kohya tensors: ``<key>.lora_down.weight``, ``<key>.lora_up.weight``, ``<key>.alpha``."""
    import torch

    out = {}
    for model, targets, keyf in ((unet, net.unet_targets, lambda n: kohya_key(UNET_PREFIX, n)),
                                 (text_encoder, net.te_targets, te_key)):
        if net.lycoris:
            mods = net.lycoris_unet if model is unet else net.lycoris_te
            for name in targets:
                for suffix, t in lycoris_net.tensors(mods[name]).items():
                    t = t.to("cpu", torch.float32)
                    out[f"{keyf(name)}.{suffix}"] = (t.to(dtype) if dtype is not None else t).contiguous()
            continue
        for name in targets:
            m = model.get_submodule(name)
            key = keyf(name)
            down = m.lora_A[ADAPTER].weight.detach().to("cpu", torch.float32)
            up = m.lora_B[ADAPTER].weight.detach().to("cpu", torch.float32)
            alpha = torch.tensor(float(m.lora_alpha[ADAPTER]), dtype=torch.float32)
            for suffix, t in (("lora_down.weight", down), ("lora_up.weight", up), ("alpha", alpha)):
                out[f"{key}.{suffix}"] = (t.to(dtype) if dtype is not None else t).contiguous()
    return out


def adapter_state(net: Network, unet, text_encoder) -> dict:
    """Trainable tensors by a stable name (for resumable checkpoints)."""
    if net.lycoris:
        return {**lycoris_net.state(net.lycoris_unet, "unet"), **lycoris_net.state(net.lycoris_te, "te")}
    out = {}
    for tag, model, targets in (("unet", unet, net.unet_targets), ("te", text_encoder, net.te_targets)):
        for name in targets:
            m = model.get_submodule(name)
            out[f"{tag}:{name}:A"] = m.lora_A[ADAPTER].weight.detach().cpu().clone()
            out[f"{tag}:{name}:B"] = m.lora_B[ADAPTER].weight.detach().cpu().clone()
    return out


def load_adapter_state(net: Network, unet, text_encoder, state: dict) -> None:
    import torch

    if net.lycoris:
        lycoris_net.load_state(net.lycoris_unet, "unet", state)
        lycoris_net.load_state(net.lycoris_te, "te", state)
        return
    with torch.no_grad():
        for tag, model, targets in (("unet", unet, net.unet_targets), ("te", text_encoder, net.te_targets)):
            for name in targets:
                m = model.get_submodule(name)
                m.lora_A[ADAPTER].weight.copy_(state[f"{tag}:{name}:A"])
                m.lora_B[ADAPTER].weight.copy_(state[f"{tag}:{name}:B"])
