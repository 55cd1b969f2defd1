"""diffusers UNet names -> the original (LDM/SGM) names that single-file checkpoints and sd-scripts'
SDXL LoRAs use (``down_blocks.1.attentions.0...`` -> ``input_blocks.4.1...``). Torch-free.

The layout follows from two facts of a UNet config: ``layers_per_block`` (input blocks per level:
that many resnets, then a downsampler) and which up blocks have attentions (where an upsampler sits
in its output block). The same mapping serves SD 1.x checkpoints (ldm_export) and SDXL LoRA keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_RESNET = (("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("norm2", "out_layers.0"),
           ("conv2", "out_layers.3"), ("time_emb_proj", "emb_layers.1"), ("conv_shortcut", "skip_connection"))
_UNET_TOP = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
             "add_embedding.linear_1": "label_emb.0.0", "add_embedding.linear_2": "label_emb.0.2",
             "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2"}


def _resnet(rest: str) -> str:
    for a, b in _RESNET:
        if rest == a or rest.startswith(a + "."):
            return b + rest[len(a):]
    return rest


def _top(k: str) -> str | None:
    for a, b in _UNET_TOP.items():
        if k == a or k.startswith(a + "."):
            return b + k[len(a):]
    return None


def unet_key(k: str, layers_per_block: int, up_has_attn: list[bool] | tuple[bool, ...]) -> str:
    """One diffusers UNet parameter or module name in SGM/LDM naming. Raises KeyError if unmapped."""
    n = layers_per_block + 1
    top = _top(k)
    if top is not None:
        return top
    m = re.match(r"down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", k)
    if m:
        i, kind, j, rest = int(m[1]), m[2], int(m[3]), m[4]
        return f"input_blocks.{n * i + j + 1}." + ("0." + _resnet(rest) if kind == "resnets" else "1." + rest)
    m = re.match(r"down_blocks\.(\d+)\.downsamplers\.0\.conv(\..*)?$", k)
    if m:
        return f"input_blocks.{n * (int(m[1]) + 1)}.0.op{m[2] or ''}"
    m = re.match(r"mid_block\.(resnets|attentions)\.(\d+)\.(.*)", k)
    if m:
        return (f"middle_block.{2 * int(m[2])}." + _resnet(m[3])) if m[1] == "resnets" else f"middle_block.1.{m[3]}"
    m = re.match(r"up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", k)
    if m:
        i, kind, j, rest = int(m[1]), m[2], int(m[3]), m[4]
        return f"output_blocks.{n * i + j}." + ("0." + _resnet(rest) if kind == "resnets" else "1." + rest)
    m = re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.conv(\..*)?$", k)
    if m:
        i = int(m[1])
        return f"output_blocks.{n * i + layers_per_block}.{2 if up_has_attn[i] else 1}.conv{m[2] or ''}"
    raise KeyError(f"unmapped UNet key {k}")


@dataclass(frozen=True)
class SgmLayout:
    """What the name mapping needs from a UNet config."""

    layers_per_block: int = 2
    up_has_attn: tuple[bool, ...] = (True, True, False)
    """SDXL: two cross-attention up blocks, then a plain one."""

    @classmethod
    def from_config(cls, config) -> SgmLayout:
        """From a diffusers UNet config (a dict or a FrozenDict)."""
        lpb = config["layers_per_block"]
        if not isinstance(lpb, int):
            raise KeyError("per-level layers_per_block has no SGM layout")
        return cls(lpb, tuple("CrossAttn" in t for t in config["up_block_types"]))

    def lora_name(self, module_name: str, prefix: str = "lora_unet_") -> str:
        """sd-scripts' SDXL LoRA name of a diffusers UNet module:
        ``down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q`` ->
        ``lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q``."""
        return prefix + unet_key(module_name, self.layers_per_block, self.up_has_attn).replace(".", "_")
