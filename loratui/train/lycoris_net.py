"""LyCORIS networks (LoHa, LoKr, DoRA on LoRA / LoCon) with lycoris-lora's own modules.

lycoris-lora is the reference the LyCORIS loaders of A1111, Forge and ComfyUI are written against,
so its modules give the same math and the same tensor names (``hada_w1_a``, ``lokr_w1``,
``dora_scale``, ``alpha``) those loaders read. Only its module classes are used: the module list is
built here (``loratui.lora.kohya_keys.lycoris_*_targets``), because lycoris' ``create_network`` trips
over diffusers' duplicated ``time_embedding`` names with its default preset and names the text
encoder after transformers 5's flattened module paths; keys are written by ``network.kohya_tensors``.

Each module wraps its layer's ``forward`` (lycoris' rebuild path: delta weight built from the
factors, scaled once by alpha/dim) and is registered under the model's ``loratui_lycoris``
ModuleDict, so ``.to()``, ``.train()`` and DDP see its parameters.
"""

from __future__ import annotations

CONTAINER = "loratui_lycoris"


def _container(model):
    import torch

    if not hasattr(model, CONTAINER):
        model.add_module(CONTAINER, torch.nn.ModuleDict())
    return getattr(model, CONTAINER)


def _slot(name: str) -> str:
    return name.replace(".", "__")


def make_module(layer, name: str, kind: str, spec):
    """One lycoris module on ``layer`` (not yet applied)."""
    from lycoris.modules.locon import LoConModule
    from lycoris.modules.loha import LohaModule
    from lycoris.modules.lokr import LokrModule

    conv3 = kind == "conv3x3"
    dim = spec.conv_dim if conv3 else spec.network_dim
    alpha = spec.conv_alpha if conv3 else spec.network_alpha
    common = dict(multiplier=1.0, lora_dim=dim, alpha=alpha, dropout=0.0, rank_dropout=spec.rank_dropout,
                  module_dropout=spec.module_dropout, use_tucker=False, use_scalar=False,
                  weight_decompose=spec.dora, bypass_mode=False)
    if spec.network_type == "loha":
        return LohaModule(name, layer, **common)
    if spec.network_type == "lokr":
        return LokrModule(name, layer, decompose_both=spec.lokr_decompose_both, factor=spec.lokr_factor,
                          full_matrix=spec.lokr_full_matrix, **common)
    return LoConModule(name, layer, **common)


def inject(model, targets: dict[str, str], spec, device=None) -> dict[str, object]:
    """Wrap every target layer of ``model``; returns {module name: lycoris module}. Params fp32."""
    import torch

    box = _container(model)
    out = {}
    for name, kind in targets.items():
        layer = model.get_submodule(name)
        mod = make_module(layer, name, kind, spec)
        mod.to(device=device or layer.weight.device, dtype=torch.float32)
        mod.apply_to()
        box[_slot(name)] = mod
        out[name] = mod
    model.requires_grad_(False)
    for mod in out.values():
        for p in mod.parameters():
            p.requires_grad_(True)
    return out


def params(modules: dict) -> list:
    return [p for m in modules.values() for _, p in sorted(m.named_parameters())]


def tensors(mod) -> dict:
    """The module's saved tensors by LyCORIS name (``hada_w1_a``, ``lokr_w1``, ``alpha``, ``dora_scale``...)."""
    return {k: v.detach() for k, v in mod.custom_state_dict().items()}


def state(modules: dict, tag: str) -> dict:
    return {f"{tag}:{name}:{pn}": p.detach().cpu().clone()
            for name, m in modules.items() for pn, p in m.named_parameters()}


def load_state(modules: dict, tag: str, st: dict) -> None:
    import torch

    with torch.no_grad():
        for name, m in modules.items():
            for pn, p in m.named_parameters():
                p.copy_(st[f"{tag}:{name}:{pn}"])


def set_strength(modules: dict, strength: float) -> None:
    """Sample at a LoRA strength: lycoris' ``multiplier`` (DoRA: its magnitude rule scaled alike)."""
    for m in modules.values():
        m.multiplier = strength
