"""LoRA / LoCon on the UNet and text encoder(s) with peft, on kohya's target modules, and the
conversion of the trained adapter to kohya tensors (``lora_down`` / ``lora_up`` / real ``alpha``).
LoHa, LoKr and DoRA networks use lycoris-lora's modules instead (``lycoris_net``); the same
``Network`` methods serve both, so the trainer does not tell them apart.

SDXL (a second text encoder): UNet keys use the original SGM names sd-scripts writes
(``lora_unet_input_blocks_4_1_...``) and the encoders ``lora_te1_`` / ``lora_te2_``, for every
network type (``Network.unet_key`` / ``Network.te_key``)."""

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
from loratui.lora.sgm_keys import SgmLayout

from . import lycoris_net

ADAPTER = "default"


@dataclass
class Network:
    unet_targets: dict[str, str] = field(default_factory=dict)
    te_targets: dict[str, str] = field(default_factory=dict)
    te2_targets: dict[str, str] = field(default_factory=dict)
    """SDXL's second text encoder (empty otherwise)."""
    lycoris_unet: dict = field(default_factory=dict)
    """LyCORIS networks: {module name: lycoris module}; empty for peft LoRA / LoCon."""
    lycoris_te: dict = field(default_factory=dict)
    lycoris_te2: dict = field(default_factory=dict)
    lycoris: bool = False
    sgm: SgmLayout | None = None
    """SDXL: UNet keys in the original SGM naming sd-scripts writes (None: diffusers naming, SD 1.x/2.x)."""

    def unet_params(self, unet) -> list:
        if self.lycoris:
            return lycoris_net.params(self.lycoris_unet)
        return _lora_params(unet, self.unet_targets)

    def te_params(self, text_encoder) -> list:
        if self.lycoris:
            return lycoris_net.params(self.lycoris_te)
        return _lora_params(text_encoder, self.te_targets)

    def te2_params(self, text_encoder_2) -> list:
        if self.lycoris:
            return lycoris_net.params(self.lycoris_te2)
        return _lora_params(text_encoder_2, self.te2_targets) if text_encoder_2 is not None else []

    def set_strength(self, unet, text_encoder, strength: float, text_encoder_2=None) -> None:
        """Scale every module's delta by ``strength`` (samples at several LoRA strengths)."""
        if self.lycoris:
            lycoris_net.set_strength({**self.lycoris_unet, **self.lycoris_te, **self.lycoris_te2}, strength)
            return
        for _tag, model, targets, _key in self.parts(unet, text_encoder, text_encoder_2):
            for n in targets:
                model.get_submodule(n).set_scale(ADAPTER, strength)

    # kohya names (shared by every network type: LoRA, LoCon, LoHa, LoKr)
    def unet_key(self, module_name: str) -> str:
        """``lora_unet_down_blocks_0_...`` (SD 1.x/2.x) or ``lora_unet_input_blocks_4_1_...`` (SDXL)."""
        return self.sgm.lora_name(module_name, UNET_PREFIX) if self.sgm else kohya_key(UNET_PREFIX, module_name)

    def te_key(self, module_name: str, encoder: int = 1) -> str:
        """``lora_te_...`` (one encoder) or ``lora_te1_...`` / ``lora_te2_...`` (SDXL)."""
        if self.sgm is None:
            return te_key(module_name)
        return te_key(module_name, prefix=f"lora_te{encoder}_")

    def parts(self, unet, text_encoder, text_encoder_2=None):
        """(tag, model, targets, key function) for each adapted model, in save order."""
        out = [("unet", unet, self.unet_targets, self.unet_key),
               ("te", text_encoder, self.te_targets, lambda n: self.te_key(n, 1))]
        if self.te2_targets:
            out.append(("te2", text_encoder_2, self.te2_targets, lambda n: self.te_key(n, 2)))
        return out

    def lycoris_modules(self, tag: str) -> dict:
        return {"unet": self.lycoris_unet, "te": self.lycoris_te, "te2": self.lycoris_te2}[tag]


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


def build_network(unet, text_encoder, spec, text_encoder_2=None) -> Network:
    """Inject the adapters. ``text_encoder_2`` (SDXL) makes UNet keys SGM-named and TE keys te1/te2."""
    if spec.is_lycoris:
        return build_lycoris_network(unet, text_encoder, spec, text_encoder_2)
    net = Network()
    if text_encoder_2 is not None:
        net.sgm = SgmLayout.from_config(unet.config)
    locon = spec.network_type == "locon" and spec.conv_dim > 0
    if spec.train_unet:
        net.unet_targets = unet_targets(unet, conv=locon)
        inject_lora(unet, net.unet_targets, spec.network_dim, spec.network_alpha, spec.conv_dim, spec.conv_alpha,
                    spec.network_dropout)
    else:
        unet.requires_grad_(False)
    for attr, model in (("te_targets", text_encoder), ("te2_targets", text_encoder_2)):
        if model is None:
            continue
        if spec.train_text_encoder:
            setattr(net, attr, te_targets(model))
            inject_lora(model, getattr(net, attr), spec.network_dim, spec.network_alpha, dropout=spec.network_dropout)
        else:
            model.requires_grad_(False)
    return net


def build_lycoris_network(unet, text_encoder, spec, text_encoder_2=None) -> Network:
    """LoHa / LoKr / DoRA on the layers of ``spec.lycoris_preset`` (3x3 convs when ``conv_dim``)."""
    net = Network(lycoris=True)
    if text_encoder_2 is not None:
        net.sgm = SgmLayout.from_config(unet.config)
    if spec.train_unet:
        net.unet_targets = lycoris_unet_targets(unet, spec.lycoris_preset, conv=spec.conv_dim > 0)
        net.lycoris_unet = lycoris_net.inject(unet, net.unet_targets, spec)
    else:
        unet.requires_grad_(False)
    for attr, mods, model in (("te_targets", "lycoris_te", text_encoder),
                              ("te2_targets", "lycoris_te2", text_encoder_2)):
        if model is None:
            continue
        if spec.train_text_encoder:
            setattr(net, attr, lycoris_te_targets(model, spec.lycoris_preset))
            setattr(net, mods, lycoris_net.inject(model, getattr(net, attr), spec))
        else:
            model.requires_grad_(False)
    return net


def kohya_tensors(net: Network, unet, text_encoder, dtype=None, text_encoder_2=None) -> dict:
    """The adapter as kohya tensors: ``<key>.lora_down.weight``, ``<key>.lora_up.weight``, ``<key>.alpha``
    (LyCORIS networks: their own tensor names under the same keys)."""
    import torch

    out = {}
    for tag, model, targets, keyf in net.parts(unet, text_encoder, text_encoder_2):
        if net.lycoris:
            mods = net.lycoris_modules(tag)
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


def adapter_state(net: Network, unet, text_encoder, text_encoder_2=None) -> dict:
    """Trainable tensors by a stable name (for resumable checkpoints)."""
    if net.lycoris:
        out = {}
        for tag in ("unet", "te", "te2"):
            out.update(lycoris_net.state(net.lycoris_modules(tag), tag))
        return out
    out = {}
    for tag, model, targets, _ in net.parts(unet, text_encoder, text_encoder_2):
        for name in targets:
            m = model.get_submodule(name)
            out[f"{tag}:{name}:A"] = m.lora_A[ADAPTER].weight.detach().cpu().clone()
            out[f"{tag}:{name}:B"] = m.lora_B[ADAPTER].weight.detach().cpu().clone()
    return out


def load_adapter_state(net: Network, unet, text_encoder, state: dict, text_encoder_2=None) -> None:
    import torch

    if net.lycoris:
        for tag in ("unet", "te", "te2"):
            lycoris_net.load_state(net.lycoris_modules(tag), tag, state)
        return
    with torch.no_grad():
        for tag, model, targets, _ in net.parts(unet, text_encoder, text_encoder_2):
            for name in targets:
                m = model.get_submodule(name)
                m.lora_A[ADAPTER].weight.copy_(state[f"{tag}:{name}:A"])
                m.lora_B[ADAPTER].weight.copy_(state[f"{tag}:{name}:B"])
