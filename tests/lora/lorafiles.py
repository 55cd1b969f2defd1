"""Small LoRA files of each format for tests (numpy + safetensors, no torch)."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

UNET_LINEAR = [  # (kohya name, in, out)
    ("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q", 320, 320),
    ("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k", 768, 320),
    ("lora_unet_mid_block_attentions_0_transformer_blocks_0_ff_net_2", 5120, 1280),
]
TE_LINEAR = [
    ("lora_te_text_model_encoder_layers_0_self_attn_q_proj", 768, 768),
    ("lora_te_text_model_encoder_layers_0_mlp_fc1", 768, 3072),
]
UNET_CONV = [("lora_unet_down_blocks_0_resnets_0_conv1", 320, 320)]

SS_META = {
    "ss_network_module": "networks.lora", "ss_network_dim": "8", "ss_network_alpha": "4.0",
    "ss_learning_rate": "0.0001", "ss_unet_lr": "0.0001", "ss_text_encoder_lr": "5e-05",
    "ss_optimizer": "bitsandbytes.optim.adamw.AdamW8bit(weight_decay=0.1,betas=(0.9, 0.99))",
    "ss_lr_scheduler": "cosine_with_restarts", "ss_lr_warmup_steps": "100", "ss_max_train_steps": "1000",
    "ss_num_epochs": "10", "ss_epoch": "10", "ss_steps": "1000", "ss_batch_size_per_device": "2",
    "ss_resolution": "(512, 768)", "ss_enable_bucket": "True", "ss_min_bucket_reso": "256",
    "ss_max_bucket_reso": "1024", "ss_noise_offset": "0.05", "ss_min_snr_gamma": "5.0", "ss_clip_skip": "2",
    "ss_mixed_precision": "fp16", "ss_keep_tokens": "1", "ss_shuffle_caption": "True", "ss_seed": "1234",
    "ss_base_model_version": "sd_v1", "ss_v2": "False", "ss_sd_model_name": "nai-pruned.safetensors",
    "ss_gradient_checkpointing": "True", "ss_gradient_accumulation_steps": "1", "ss_max_grad_norm": "1.0",
    "ss_caption_dropout_rate": "0.0", "ss_output_name": "mychar_v1",
    "ss_dataset_dirs": json.dumps({"10_mychar": {"n_repeats": 10, "img_count": 40}}),
    "ss_tag_frequency": json.dumps({"10_mychar": {"mychar": 40, "1girl": 38, "solo": 30, "smile": 12}}),
    "ss_prior_loss_weight": "1.0", "ss_some_new_setting": "7",
}


def _rng():
    return np.random.default_rng(0)


def lora_tensors(fmt: str, rank: int = 8, alpha: float = 4.0, conv_rank: int = 4, conv_alpha: float = 2.0,
                 dtype=np.float16) -> dict[str, np.ndarray]:
    r = _rng()
    t: dict[str, np.ndarray] = {}

    def arr(*shape):
        return r.standard_normal(shape).astype(dtype)

    if fmt in ("lora", "locon"):
        for name, i, o in UNET_LINEAR + TE_LINEAR:
            t[f"{name}.lora_down.weight"] = arr(rank, i)
            t[f"{name}.lora_up.weight"] = arr(o, rank)
            t[f"{name}.alpha"] = np.array(alpha, dtype=dtype)
        if fmt == "locon":
            for name, i, o in UNET_CONV:
                t[f"{name}.lora_down.weight"] = arr(conv_rank, i, 3, 3)
                t[f"{name}.lora_up.weight"] = arr(o, conv_rank, 1, 1)
                t[f"{name}.alpha"] = np.array(conv_alpha, dtype=dtype)
    elif fmt == "loha":
        for name, i, o in UNET_LINEAR + TE_LINEAR:
            t[f"{name}.hada_w1_a"] = arr(o, rank)
            t[f"{name}.hada_w1_b"] = arr(rank, i)
            t[f"{name}.hada_w2_a"] = arr(o, rank)
            t[f"{name}.hada_w2_b"] = arr(rank, i)
            t[f"{name}.alpha"] = np.array(alpha, dtype=dtype)
    elif fmt == "lokr":
        for name, i, o in UNET_LINEAR + TE_LINEAR:
            t[f"{name}.lokr_w1"] = arr(4, 4)
            t[f"{name}.lokr_w2_a"] = arr(o // 4, rank)
            t[f"{name}.lokr_w2_b"] = arr(rank, i // 4)
            t[f"{name}.alpha"] = np.array(alpha, dtype=dtype)
    elif fmt == "loha-conv":  # as lycoris-lora writes a conv: factors flattened to 2-D (in * 3 * 3)
        t = lora_tensors("loha", rank, alpha, conv_rank, conv_alpha, dtype)
        for name, i, o in UNET_CONV:
            for w in ("w1", "w2"):
                t[f"{name}.hada_{w}_a"] = arr(o, conv_rank)
                t[f"{name}.hada_{w}_b"] = arr(conv_rank, i * 9)
            t[f"{name}.alpha"] = np.array(conv_alpha, dtype=dtype)
    elif fmt == "lokr-full":  # full_matrix: both Kronecker factors whole, alpha = dim
        for name, i, o in UNET_LINEAR + TE_LINEAR:
            t[f"{name}.lokr_w1"] = arr(4, 4)
            t[f"{name}.lokr_w2"] = arr(o // 4, i // 4)
            t[f"{name}.alpha"] = np.array(100000, dtype=np.float32)
        for name, i, o in UNET_CONV:
            t[f"{name}.lokr_w1"] = arr(4, 4)
            t[f"{name}.lokr_w2"] = arr(o // 4, i // 4, 3, 3)
            t[f"{name}.alpha"] = np.array(100000, dtype=np.float32)
    elif fmt == "dora":
        t = lora_tensors("locon", rank, alpha, conv_rank, conv_alpha, dtype)
        for name, _i, o in UNET_LINEAR + TE_LINEAR:
            t[f"{name}.dora_scale"] = arr(o, 1)
        for name, _i, o in UNET_CONV:
            t[f"{name}.dora_scale"] = arr(o, 1, 1, 1)
    elif fmt == "peft":
        for name, i, o in UNET_LINEAR:
            mod = "unet." + name.removeprefix("lora_unet_").replace("down_blocks_0", "down_blocks.0") \
                .replace("attentions_0", "attentions.0").replace("transformer_blocks_0", "transformer_blocks.0") \
                .replace("_attn", ".attn").replace("_to_", ".to_")
            t[f"{mod}.lora_A.weight"] = arr(rank, i)
            t[f"{mod}.lora_B.weight"] = arr(o, rank)
        for name, i, o in TE_LINEAR:
            mod = "text_encoder.text_model.encoder.layers.0." + name.split("layers_0_")[1].replace("_", ".", 1)
            t[f"{mod}.lora_A.weight"] = arr(rank, i)
            t[f"{mod}.lora_B.weight"] = arr(o, rank)
    else:
        raise ValueError(fmt)
    return t


def write_lora(path: Path, fmt: str = "lora", metadata: dict | None = None, with_hash: bool = True,
               **kw) -> Path:
    tensors = lora_tensors(fmt, **kw)
    meta = dict(metadata or {})
    save_file(tensors, str(path), metadata=meta or None)
    if with_hash:
        raw = path.read_bytes()
        (n,) = struct.unpack("<Q", raw[:8])
        meta["sshs_model_hash"] = hashlib.sha256(raw[8 + n:]).hexdigest()
        save_file(tensors, str(path), metadata=meta)
    return path


def raw_safetensors(path: Path, header: dict | bytes, data: bytes = b"", claimed_len: int | None = None) -> Path:
    """Write a (possibly hostile) file by hand."""
    hb = header if isinstance(header, bytes) else json.dumps(header).encode()
    n = len(hb) if claimed_len is None else claimed_len
    path.write_bytes(struct.pack("<Q", n) + hb + data)
    return path
