"""What each network type is made of: which ``[network]`` fields apply to it, whether it is trained
with LyCORIS, and its ``network_args`` as sd-scripts + lycoris-lora read them (one definition for
the saved file's ``ss_network_args``, the kohya export and the form).

- ``lora`` / ``locon``: kohya's ``networks.lora`` (peft in the worker); with ``dora = true`` they
  become LyCORIS ``algo=lora`` / ``algo=locon`` with ``dora_wd=True`` (``lycoris.kohya``).
- ``loha`` / ``lokr``: LyCORIS ``algo=loha`` / ``algo=lokr`` (``lycoris.kohya``).
"""

from __future__ import annotations

LYCORIS_MODULE = "lycoris.kohya"
KOHYA_MODULE = "networks.lora"

_COMMON = ("type", "dim", "alpha", "train_unet", "train_text_encoder")
_LYCO = ("preset", "rank_dropout", "module_dropout")
FIELDS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "lora": _COMMON + ("dropout", "dora"),
    "locon": _COMMON + ("conv_dim", "conv_alpha", "dropout", "dora"),
    "loha": _COMMON + ("conv_dim", "conv_alpha", "dora") + _LYCO,
    "lokr": _COMMON + ("conv_dim", "conv_alpha", "factor", "full_matrix", "decompose_both", "dora") + _LYCO,
}
"""The ``[network]`` fields that mean something for each type (the form shows only these)."""
DORA_FIELDS = _LYCO
"""Shown besides for lora/locon when ``dora`` is on (a DoRA network is trained with LyCORIS)."""


def is_lycoris(net) -> bool:
    """Trained with lycoris-lora and saved as ``lycoris.kohya`` (LoHa, LoKr, or DoRA)."""
    return net.type in ("loha", "lokr") or bool(net.dora)


def field_applies(net, name: str) -> bool:
    """Whether ``network.<name>`` is used by the chosen type (unknown types: every field)."""
    fields = FIELDS_BY_TYPE.get(net.type)
    if fields is None:
        return True
    return name in fields or (name in DORA_FIELDS and net.type in ("lora", "locon") and bool(net.dora))


def uses_conv(net) -> bool:
    """3x3 convolutions are adapted (with conv_dim / conv_alpha)."""
    if net.type == "lora":
        return False
    return net.preset not in ("attn-mlp", "attn-only", "unet-transformer-only") if is_lycoris(net) else True


def lycoris_preset(net) -> str:
    """The preset name lycoris-lora gets: a LoRA (no 3x3 convs) with DoRA on the ``full`` layer set
    is LyCORIS's ``full-lin`` (``full`` would add the convs at conv_dim = dim)."""
    if net.type == "lora" and net.preset == "full":
        return "full-lin"
    return net.preset


def _num(x) -> str:
    f = float(x)
    return str(int(f)) if f.is_integer() else repr(f)


def lycoris_args(net) -> dict[str, str]:
    """``network_args`` of a LyCORIS network, as strings (sd-scripts passes them to
    ``lycoris.kohya.create_network`` as ``key=value``). Empty for plain LoRA / LoCon."""
    if not is_lycoris(net):
        return {}
    out = {"algo": net.type, "preset": lycoris_preset(net)}
    if uses_conv(net):  # lycoris reads conv_dim 0 as "same as dim": the preset turns convs off instead
        out["conv_dim"] = str(int(net.conv_dim))
        out["conv_alpha"] = _num(net.conv_alpha)
    if net.type == "lokr":
        out["factor"] = str(int(net.factor))
        out["full_matrix"] = str(bool(net.full_matrix))
        out["decompose_both"] = str(bool(net.decompose_both))
    if net.dora:
        out["dora_wd"] = "True"
    out["rank_dropout"] = _num(net.rank_dropout)
    out["module_dropout"] = _num(net.module_dropout)
    return out


def kohya_locon_args(net) -> dict[str, str]:
    """``network_args`` of a plain kohya LoCon (``networks.lora``)."""
    if net.type == "locon" and not is_lycoris(net):
        return {"conv_dim": str(int(net.conv_dim)), "conv_alpha": _num(net.conv_alpha)}
    return {}


def network_module(net) -> str:
    return LYCORIS_MODULE if is_lycoris(net) else KOHYA_MODULE


def network_args(net) -> dict[str, str]:
    """Every ``network_args`` entry of this network (sd-scripts' ``--network_args``)."""
    return lycoris_args(net) if is_lycoris(net) else kohya_locon_args(net)
