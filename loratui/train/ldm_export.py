"""Export an SD1.x or SDXL diffusers folder as one original-layout (LDM/SGM) ``.safetensors``
checkpoint, the format of the single files people download. Used to build the tiny single-file
test/demo models; works for any such UNet (any depth, ``layers_per_block``) and AutoencoderKL.
"""

from __future__ import annotations

import json
import os
import re

from loratui.lora.sgm_keys import unet_key

_VAE_ATTN = (("group_norm", "norm"), ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out"))


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
    sdxl = os.path.isdir(os.path.join(folder, "text_encoder_2"))
    te_prefix = "conditioner.embedders.0.transformer." if sdxl else "cond_stage_model.transformer."
    for k, v in te.items():
        kk = k if k.startswith("text_model.") else "text_model." + k
        out[te_prefix + kk] = v
    if sdxl:
        te2, _ = load("text_encoder_2")
        out.update(open_clip_keys(te2, "conditioner.embedders.1.model."))
    save_file({k: v.contiguous() for k, v in out.items()}, out_path)
    return out_path


_OPEN_CLIP_LAYER = (("self_attn.out_proj.", "attn.out_proj."), ("layer_norm1.", "ln_1."), ("layer_norm2.", "ln_2."),
                    ("mlp.fc1.", "mlp.c_fc."), ("mlp.fc2.", "mlp.c_proj."))


def open_clip_keys(te: dict, prefix: str) -> dict:
    """A transformers CLIPTextModelWithProjection state dict in OpenCLIP naming (SDXL's second text
    encoder in single-file checkpoints): q/k/v fused into ``in_proj``, ``text_projection`` transposed."""
    import torch

    te = {(k if k.startswith(("text_model.", "text_projection")) else "text_model." + k): v for k, v in te.items()}
    out = {prefix + "token_embedding.weight": te["text_model.embeddings.token_embedding.weight"],
           prefix + "positional_embedding": te["text_model.embeddings.position_embedding.weight"],
           prefix + "ln_final.weight": te["text_model.final_layer_norm.weight"],
           prefix + "ln_final.bias": te["text_model.final_layer_norm.bias"],
           prefix + "text_projection": te["text_projection.weight"].T.contiguous()}
    layers = sorted({int(k.split(".")[3]) for k in te if k.startswith("text_model.encoder.layers.")})
    for i in layers:
        src = f"text_model.encoder.layers.{i}."
        dst = f"{prefix}transformer.resblocks.{i}."
        for kind in ("weight", "bias"):
            out[f"{dst}attn.in_proj_{kind}"] = torch.cat([te[f"{src}self_attn.{p}_proj.{kind}"] for p in "qkv"])
        for k, v in te.items():
            if k.startswith(src) and ".self_attn." not in k.replace("self_attn.out_proj.", ""):
                rest = k[len(src):]
                for a, b in _OPEN_CLIP_LAYER:
                    if rest.startswith(a):
                        out[dst + b + rest[len(a):]] = v
                        break
    return out
