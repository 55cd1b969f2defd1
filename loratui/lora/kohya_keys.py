"""kohya naming for LoRA modules: which modules sd-scripts' ``networks.lora`` adapts, and the key
prefix of each (``lora_unet_...`` / ``lora_te_...``). Torch-free: modules are inspected by class
name and ``kernel_size`` only.

- LoRA ("LierLa"): every Linear and 1x1 Conv2d inside a ``Transformer2DModel`` (SD1.5: 192 modules)
  and inside CLIP's ``CLIPAttention`` / ``CLIPMLP`` (SD1.5: 72).
- LoCon ("C3Lier"): additionally, inside ``ResnetBlock2D`` / ``Downsample2D`` / ``Upsample2D``, the
  Linear and 1x1 convs (network dim) and the 3x3 convs (conv dim).
"""

from __future__ import annotations

from collections.abc import Iterable

UNET_PREFIX = "lora_unet_"
TE_PREFIX = "lora_te_"
"""SD1.x / SD2.x text encoder (SDXL: ``lora_te1_`` / ``lora_te2_``)."""

UNET_TARGETS = ("Transformer2DModel",)
UNET_CONV_TARGETS = ("ResnetBlock2D", "Downsample2D", "Upsample2D")
TE_TARGETS = ("CLIPAttention", "CLIPMLP", "CLIPSdpaAttention", "CLIPFlashAttention2")


def kohya_key(prefix: str, module_name: str) -> str:
    """``lora_unet_`` + ``down_blocks.0.attentions.0.proj_in`` -> ``lora_unet_down_blocks_0_attentions_0_proj_in``."""
    return prefix + module_name.replace(".", "_")


def te_module_path(name: str) -> str:
    """The CLIP module path kohya keys are named after: transformers 5 flattened ``CLIPTextModel``
    (``encoder.layers.0...``), older versions and every other tool say ``text_model.encoder.layers.0...``."""
    return name if name.startswith("text_model.") else "text_model." + name


def te_key(name: str, prefix: str = TE_PREFIX) -> str:
    """kohya key of a text-encoder module, whatever the transformers version's module layout."""
    return kohya_key(prefix, te_module_path(name))


def _kind(module) -> str | None:
    """"linear", "conv1x1", "conv3x3" (any k>1 conv) or None."""
    cls = type(module).__name__
    if cls in ("Linear", "LoRACompatibleLinear"):
        return "linear"
    if cls in ("Conv2d", "LoRACompatibleConv"):
        k = tuple(getattr(module, "kernel_size", (1, 1)))
        return "conv1x1" if k == (1, 1) else "conv3x3"
    return None


def select_targets(named_modules: Iterable[tuple[str, object]], parent_classes: Iterable[str],
                   with_conv3x3: bool = False) -> dict[str, str]:
    """{module name: kind} of the adaptable children of modules whose class is in ``parent_classes``.

    Order is the model's module order. A module reached through two parents is listed once.
    """
    parents = tuple(parent_classes)
    named = list(named_modules)
    prefixes = [name + "." for name, m in named if type(m).__name__ in parents]
    out: dict[str, str] = {}
    if not prefixes:
        return out
    for name, m in named:
        kind = _kind(m)
        if kind is None or name in out:
            continue
        if kind == "conv3x3" and not with_conv3x3:
            continue
        if any(name.startswith(p) for p in prefixes):
            out[name] = kind
    return out


def unet_targets(unet, conv: bool = False) -> dict[str, str]:
    """LierLa targets of a diffusers UNet, plus the LoCon ones when ``conv``."""
    named = list(unet.named_modules())
    out = select_targets(named, UNET_TARGETS)
    if conv:
        for name, kind in select_targets(named, UNET_CONV_TARGETS, with_conv3x3=True).items():
            out.setdefault(name, kind)
    return out


def te_targets(text_encoder) -> dict[str, str]:
    return select_targets(text_encoder.named_modules(), TE_TARGETS)


# ---- LyCORIS module presets (lycoris-lora's ``config.py``), on diffusers / transformers class names.
# ``attn-only`` names sd-scripts' ``CrossAttention`` class, which diffusers calls ``Attention``.
_LYCO_UNET = {
    "full": (("Transformer2DModel", "ResnetBlock2D", "Downsample2D", "Upsample2D", "TimestepEmbedding"),
             ("conv_in", "conv_out")),
    "attn-mlp": (("Transformer2DModel",), ()),
    "attn-only": (("Attention",), ()),
    "unet-transformer-only": (("Transformer2DModel",), ()),
    "unet-convblock-only": (("ResnetBlock2D", "Downsample2D", "Upsample2D"), ("conv_in", "conv_out")),
}
_LYCO_TE = {
    "full": TE_TARGETS,
    "attn-mlp": TE_TARGETS,
    "attn-only": ("CLIPAttention", "CLIPSdpaAttention", "CLIPFlashAttention2"),
    "unet-transformer-only": (),
    "unet-convblock-only": (),
}


def lycoris_unet_targets(unet, preset: str, conv: bool) -> dict[str, str]:
    """UNet modules a LyCORIS preset adapts: every Linear / Conv2d inside the preset's blocks plus its
    named modules; 3x3 (k>1) convs only when ``conv``. Each module once, in model order."""
    parents, names = _LYCO_UNET[preset]
    named = list(unet.named_modules())
    out = select_targets(named, parents, with_conv3x3=conv)
    wanted = set(names)
    for name, m in named:
        kind = _kind(m)
        if name in wanted and kind is not None and (kind != "conv3x3" or conv):
            out.setdefault(name, kind)
    order = {name: i for i, (name, _) in enumerate(named)}
    return dict(sorted(out.items(), key=lambda kv: order[kv[0]]))


def lycoris_te_targets(text_encoder, preset: str) -> dict[str, str]:
    parents = _LYCO_TE[preset]
    return select_targets(text_encoder.named_modules(), parents) if parents else {}
