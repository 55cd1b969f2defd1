"""sd-scripts' ``network_module`` + ``network_args`` -> ``[network]``: kohya's ``networks.lora``
(LoRA, LoCon with ``conv_dim``) and LyCORIS' ``lycoris.kohya`` (``algo=lora|locon|loha|lokr``,
``preset``, ``factor``, ``decompose_both``, ``full_matrix``, ``dora_wd``, rank/module dropout), with
lycoris-lora's defaults for what is left out (conv_dim = network_dim, conv_alpha = network_alpha)."""

from __future__ import annotations

from .kohya_values import _Bad, _to_bool, _to_float, _to_int
from .model import LYCORIS_PRESETS

LYCORIS_ALGOS = ("lora", "locon", "loha", "lokr")
_CONV_FREE = ("attn-mlp", "attn-only", "unet-transformer-only", "full-lin")


def apply_network(cfg, mod, net_args: dict[str, str], bad, notes: list[str], unsupported=None) -> None:
    """Set ``cfg.network`` from a kohya network module and its args; ``bad(key, value, why)`` lists
    what cannot be carried over, ``unsupported(key, value, name)`` a network type loratui cannot train
    (a plain LoRA is trained instead). ``net_args`` is consumed."""
    n = cfg.network
    mod = "" if mod is None else str(mod).strip()
    unsupported = unsupported or (lambda key, value, name: None)
    if mod and mod not in ("networks.lora", "lycoris.kohya"):
        unsupported("network_module", mod, mod.rpartition(".")[2])
        bad("network_module", mod, "not supported; a plain LoRA is trained instead")
    if not mod and "algo" in net_args:
        mod = "lycoris.kohya"  # algo=... is a LyCORIS argument
    if mod != "lycoris.kohya":
        algo = str(net_args.pop("algo", "lora")).lower()
        if algo != "lora":
            bad("network_args", f"algo={algo}", "algo is a lycoris.kohya argument; LoRA assumed")
        if "conv_dim" in net_args:
            try:
                n.conv_dim = _to_int(net_args.pop("conv_dim"))
                n.type = "locon"
                n.conv_alpha = _to_float(net_args.pop("conv_alpha", 1))
            except _Bad as e:
                bad("network_args", "conv_dim/conv_alpha", str(e))
        net_args.pop("conv_alpha", None)
        _rest(net_args, bad)
        return
    _lycoris(cfg, net_args, bad, notes, unsupported)


def _lycoris(cfg, a: dict[str, str], bad, notes: list[str], unsupported) -> None:
    n = cfg.network
    algo = str(a.pop("algo", "lora")).lower()  # lycoris' create_network default
    if algo not in LYCORIS_ALGOS:
        unsupported("network_args", f"algo={algo}", algo)
        bad("network_args", f"algo={algo}", "not supported; a plain LoRA is trained instead")
        algo = "lora"
    preset = str(a.pop("preset", "full"))
    if preset == "full-lin":
        preset = "full" if algo in ("lora", "locon") else preset
    if preset not in LYCORIS_PRESETS:
        bad("network_args", f"preset={preset}", "only the built-in presets (" + ", ".join(LYCORIS_PRESETS) +
            ") can be used; full assumed")
        preset = "full"
    conv = preset not in _CONV_FREE
    try:
        dora = _to_bool(a.pop("dora_wd", False))
    except _Bad as e:
        bad("network_args", "dora_wd", str(e))
        dora = False
    # lycoris: algo lora and locon are one module; with a conv-enabling preset, convs are adapted
    n.type = ("locon" if conv else "lora") if algo in ("lora", "locon") else algo
    n.dora = dora
    n.preset = preset
    if n.type in ("lora", "locon") and not dora:
        notes.append(f"lycoris.kohya algo={algo} without dora_wd: trained as kohya's {n.type.upper()} "
                     "(networks.lora layers; LyCORIS' preset layers are not used)")
    for key, conv_f, field, default in (("conv_dim", _to_int, "conv_dim", n.dim),
                                        ("conv_alpha", _to_float, "conv_alpha", n.alpha)):
        raw = a.pop(key, None)
        try:
            v = conv_f(raw) if raw not in (None, "") else default
            setattr(n, field, v if v else default)  # lycoris reads conv_dim 0 as "same as dim"
        except _Bad as e:
            bad("network_args", f"{key}={raw}", str(e))
    for key, conv_f, field in (("factor", _to_int, "factor"), ("full_matrix", _to_bool, "full_matrix"),
                               ("decompose_both", _to_bool, "decompose_both"),
                               ("rank_dropout", _to_float, "rank_dropout"),
                               ("module_dropout", _to_float, "module_dropout")):
        if key not in a:
            continue
        raw = a.pop(key)
        if key in ("factor", "full_matrix", "decompose_both") and n.type != "lokr":
            try:
                if conv_f(raw) not in (-1, False, 0):
                    bad("network_args", f"{key}={raw}", "applies to LoKr only; ignored")
            except _Bad:
                bad("network_args", f"{key}={raw}", "applies to LoKr only; ignored")
            continue
        try:
            setattr(n, field, conv_f(raw))
        except _Bad as e:
            bad("network_args", f"{key}={raw}", str(e))
    if "dropout" in a:
        raw = a.pop("dropout")
        try:
            if _to_float(raw):
                bad("network_args", f"dropout={raw}", "lycoris' rebuild path applies no activation dropout; "
                    "use rank_dropout / module_dropout")
        except _Bad as e:
            bad("network_args", f"dropout={raw}", str(e))
    _rest(a, bad)


def _rest(a: dict[str, str], bad) -> None:
    for k, v in a.items():
        bad("network_args", f"{k}={v}", "no equivalent in loratui")
    a.clear()
