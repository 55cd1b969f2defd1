"""What loading an SD 1.x single-file checkpoint offline needs, besides its weights.

diffusers' ``from_single_file`` wants a diffusers-layout config folder (component configs and the
CLIP tokenizer); online it fetches one from the hub. ``ensure_sd1_config()`` writes that folder
locally instead, from the architecture's known settings and the CLIP BPE merges shipped beside this
file (see NOTICE), so an SD 1.x ``.safetensors`` trains with no network and no extra download.
"""

from __future__ import annotations

import gzip
import json
import os

from loratui.clip_bytes import byte_encoder
from loratui.fileio import write_atomic

BPE_FILE = os.path.join(os.path.dirname(__file__), "bpe_simple_vocab_16e6.txt.gz")
N_MERGES = 49152 - 256 - 2
"""CLIP's vocabulary: 256 bytes x (plain, end-of-word) + these merges + 2 special tokens = 49408."""
VERSION = 1

UNET = {
    "_class_name": "UNet2DConditionModel", "sample_size": 64, "in_channels": 4, "out_channels": 4,
    "center_input_sample": False, "flip_sin_to_cos": True, "freq_shift": 0,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "mid_block_type": "UNetMidBlock2DCrossAttn",
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "only_cross_attention": False, "block_out_channels": [320, 640, 1280, 1280], "layers_per_block": 2,
    "downsample_padding": 1, "mid_block_scale_factor": 1, "act_fn": "silu", "norm_num_groups": 32,
    "norm_eps": 1e-05, "cross_attention_dim": 768, "attention_head_dim": 8, "use_linear_projection": False,
}
VAE = {
    "_class_name": "AutoencoderKL", "in_channels": 3, "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D"] * 4, "up_block_types": ["UpDecoderBlock2D"] * 4,
    "block_out_channels": [128, 256, 512, 512], "layers_per_block": 2, "act_fn": "silu", "latent_channels": 4,
    "norm_num_groups": 32, "sample_size": 512, "scaling_factor": 0.18215,
}
TEXT_ENCODER = {
    "architectures": ["CLIPTextModel"], "model_type": "clip_text_model", "vocab_size": 49408,
    "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12,
    "max_position_embeddings": 77, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-05,
    "attention_dropout": 0.0, "initializer_range": 0.02, "initializer_factor": 1.0, "projection_dim": 768,
    "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1, "torch_dtype": "float32",
}
SCHEDULER = {
    "_class_name": "PNDMScheduler", "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000, "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
    "clip_sample": False, "prediction_type": "epsilon",
}
MODEL_INDEX = {
    "_class_name": "StableDiffusionPipeline", "feature_extractor": [None, None], "safety_checker": [None, None],
    "requires_safety_checker": False, "scheduler": ["diffusers", "PNDMScheduler"],
    "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
    "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
}
TOKENIZER_CONFIG = {
    "tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "do_lower_case": True, "errors": "replace",
    "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
    "pad_token": "<|endoftext|>", "add_prefix_space": False,
}


def clip_merges() -> list[str]:
    """The ``a b`` merge lines of CLIP's BPE, in rank order."""
    with gzip.open(BPE_FILE, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    return lines[1:N_MERGES + 1]


def clip_vocab(merges: list[str]) -> dict[str, int]:
    """CLIP's token -> id table, built exactly as OpenAI's tokenizer builds it from the merges."""
    chars = list(byte_encoder().values())
    tokens = chars + [c + "</w>" for c in chars] + ["".join(m.split()) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(tokens)}


def write_sd1_config(folder: str) -> str:
    """Write the config folder (no weights) to ``folder``; returns it."""
    def dump(rel: str, obj) -> None:
        write_atomic(os.path.join(folder, rel), json.dumps(obj, indent=1))

    merges = clip_merges()
    write_atomic(os.path.join(folder, "tokenizer", "merges.txt"), "#version: 0.2\n" + "\n".join(merges) + "\n")
    dump("tokenizer/vocab.json", clip_vocab(merges))
    dump("tokenizer/tokenizer_config.json", TOKENIZER_CONFIG)
    dump("tokenizer/special_tokens_map.json", {k: TOKENIZER_CONFIG[k] for k in
                                                 ("bos_token", "eos_token", "unk_token", "pad_token")})
    dump("unet/config.json", UNET)
    dump("vae/config.json", VAE)
    dump("text_encoder/config.json", TEXT_ENCODER)
    dump("scheduler/scheduler_config.json", SCHEDULER)
    dump("model_index.json", MODEL_INDEX)
    dump("loratui.json", {"version": VERSION, "what": "SD 1.x diffusers config folder written by loratui"})
    return folder


def ensure_sd1_config(cache_dir: str | None = None) -> str:
    """The SD 1.x config folder in the user cache (written on first use)."""
    if cache_dir is None:
        import platformdirs

        cache_dir = platformdirs.user_cache_dir("loratui", appauthor=False)
    folder = os.path.join(cache_dir, f"sd1-config-v{VERSION}")
    if not os.path.isfile(os.path.join(folder, "loratui.json")):
        write_sd1_config(folder)
    return folder
