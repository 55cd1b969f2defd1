"""Export an SD1.x diffusers folder as one original-layout (LDM) ``.safetensors`` checkpoint, the
format of the single files people download. Used to build the tiny single-file test/demo model;
works for any SD1.x-style UNet (any depth, ``layers_per_block``) and AutoencoderKL.
"""

from __future__ import annotations

import json
import os
import re

_RESNET = (("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("norm2", "out_layers.0"),
           ("conv2", "out_layers.3"), ("time_emb_proj", "emb_layers.1"), ("conv_shortcut", "skip_connection"))
_UNET_TOP = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
             "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2"}
_VAE_ATTN = (("group_norm", "norm"), ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out"))


def _resnet(rest: str) -> str:
    for a, b in _RESNET:
        if rest.startswith(a + "."):
            return b + rest[len(a):]
    return rest


def unet_key(k: str, layers_per_block: int, up_has_attn: list[bool]) -> str:
    n = layers_per_block + 1
    for a, b in _UNET_TOP.items():
        if k.startswith(a + "."):
            return b + k[len(a):]
    m = re.match(r"down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", k)
    if m:
        i, kind, j, rest = int(m[1]), m[2], int(m[3]), m[4]
        return f"input_blocks.{n * i + j + 1}." + ("0." + _resnet(rest) if kind == "resnets" else "1." + rest)
    m = re.match(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", k)
    if m:
        return f"input_blocks.{n * (int(m[1]) + 1)}.0.op.{m[2]}"
    m = re.match(r"mid_block\.(resnets|attentions)\.(\d+)\.(.*)", k)
    if m:
        return (f"middle_block.{2 * int(m[2])}." + _resnet(m[3])) if m[1] == "resnets" else f"middle_block.1.{m[3]}"
    m = re.match(r"up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", k)
    if m:
        i, kind, j, rest = int(m[1]), m[2], int(m[3]), m[4]
        return f"output_blocks.{n * i + j}." + ("0." + _resnet(rest) if kind == "resnets" else "1." + rest)
    m = re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", k)
    if m:
        i = int(m[1])
        return f"output_blocks.{n * i + layers_per_block}.{2 if up_has_attn[i] else 1}.conv.{m[2]}"
    raise KeyError(f"unmapped UNet key {k}")


def vae_key(k: str, num_blocks: int) -> str:
    k = k.replace("conv_norm_out", "norm_out")
    m = re.match(r"(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.*)", k)
    if m:
        return f"{m[1]}.mid.block_{int(m[2]) + 1}.{m[3].replace('conv_shortcut', 'nin_shortcut')}"
    m = re.match(r"(encoder|decoder)\.mid_block\.attentions\.0\.(.*)", k)
    if m:
        rest = m[2]
        for a, b in _VAE_ATTN:
            if rest.startswith(a + "."):
                rest = b + rest[len(a):]
        return f"{m[1]}.mid.attn_1.{rest}"
    m = re.match(r"encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", k)
    if m:
        return f"encoder.down.{m[1]}.block.{m[2]}.{m[3].replace('conv_shortcut', 'nin_shortcut')}"
    m = re.match(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", k)
    if m:
        return f"encoder.down.{m[1]}.downsample.conv.{m[2]}"
    m = re.match(r"decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", k)
    if m:
        return f"decoder.up.{num_blocks - 1 - int(m[1])}.block.{m[2]}.{m[3].replace('conv_shortcut', 'nin_shortcut')}"
    m = re.match(r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", k)
    if m:
        return f"decoder.up.{num_blocks - 1 - int(m[1])}.upsample.conv.{m[2]}"
    return k


def export_single_file(folder: str, out_path: str) -> str:
    from safetensors.torch import load_file, save_file

    def load(sub):
        d = os.path.join(folder, sub)
        name = next(f for f in os.listdir(d) if f.endswith(".safetensors"))
        with open(os.path.join(d, "config.json")) as f:
            return load_file(os.path.join(d, name)), json.load(f)

    out = {}
    unet, ucfg = load("unet")
    up_attn = ["CrossAttn" in t for t in ucfg["up_block_types"]]
    for k, v in unet.items():
        out["model.diffusion_model." + unet_key(k, ucfg["layers_per_block"], up_attn)] = v
    vae, vcfg = load("vae")
    for k, v in vae.items():
        out["first_stage_model." + vae_key(k, len(vcfg["down_block_types"]))] = v
    te, _ = load("text_encoder")
    for k, v in te.items():
        kk = k if k.startswith("text_model.") else "text_model." + k
        out["cond_stage_model.transformer." + kk] = v
    save_file({k: v.contiguous() for k, v in out.items()}, out_path)
    return out_path
