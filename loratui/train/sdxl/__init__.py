"""What loading an SDXL single-file checkpoint (SDXL base, Pony, Illustrious, NoobAI) offline needs,
besides its weights: the diffusers config folder of the SDXL base architecture (UNet, VAE, CLIP-L,
OpenCLIP bigG with projection, scheduler) and both tokenizers. CLIP-L and OpenCLIP bigG share
CLIP's BPE (shipped beside the SD 1.x config, see ``../sd1/NOTICE``); the second tokenizer pads with
``!`` as SDXL's does. Written once to the user cache by ``ensure_sdxl_config()``.
"""

from __future__ import annotations

import json
import os

from loratui.fileio import write_atomic

from ..sd1 import TEXT_ENCODER as CLIP_L
from ..sd1 import TOKENIZER_CONFIG, clip_merges, clip_vocab

VERSION = 1

UNET = {
    "_class_name": "UNet2DConditionModel", "sample_size": 128, "in_channels": 4, "out_channels": 4,
    "center_input_sample": False, "flip_sin_to_cos": True, "freq_shift": 0,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "mid_block_type": "UNetMidBlock2DCrossAttn",
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "only_cross_attention": False, "block_out_channels": [320, 640, 1280], "layers_per_block": 2,
    "downsample_padding": 1, "mid_block_scale_factor": 1, "act_fn": "silu", "norm_num_groups": 32,
    "norm_eps": 1e-05, "cross_attention_dim": 2048, "transformer_layers_per_block": [1, 2, 10],
    "attention_head_dim": [5, 10, 20], "use_linear_projection": True, "addition_embed_type": "text_time",
    "addition_embed_type_num_heads": 64, "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 2816, "time_embedding_type": "positional",
    "resnet_time_scale_shift": "default", "conv_in_kernel": 3, "conv_out_kernel": 3, "upcast_attention": None,
}
VAE = {
    "_class_name": "AutoencoderKL", "in_channels": 3, "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D"] * 4, "up_block_types": ["UpDecoderBlock2D"] * 4,
    "block_out_channels": [128, 256, 512, 512], "layers_per_block": 2, "act_fn": "silu", "latent_channels": 4,
    "norm_num_groups": 32, "sample_size": 1024, "scaling_factor": 0.13025, "force_upcast": True,
}
TEXT_ENCODER = dict(CLIP_L)
TEXT_ENCODER_2 = {
    "architectures": ["CLIPTextModelWithProjection"], "model_type": "clip_text_model", "vocab_size": 49408,
    "hidden_size": 1280, "intermediate_size": 5120, "num_hidden_layers": 32, "num_attention_heads": 20,
    "max_position_embeddings": 77, "hidden_act": "gelu", "layer_norm_eps": 1e-05, "attention_dropout": 0.0,
    "initializer_range": 0.02, "initializer_factor": 1.0, "projection_dim": 1280,
    "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1, "torch_dtype": "float32",
}
SCHEDULER = {
    "_class_name": "EulerDiscreteScheduler", "beta_start": 0.00085, "beta_end": 0.012,
    "beta_schedule": "scaled_linear", "num_train_timesteps": 1000, "interpolation_type": "linear",
    "prediction_type": "epsilon", "steps_offset": 1, "timestep_spacing": "leading", "use_karras_sigmas": False,
    "sample_max_value": 1.0, "set_alpha_to_one": False, "skip_prk_steps": True, "clip_sample": False,
}
MODEL_INDEX = {
    "_class_name": "StableDiffusionXLPipeline", "force_zeros_for_empty_prompt": True,
    "feature_extractor": [None, None], "image_encoder": [None, None],
    "scheduler": ["diffusers", "EulerDiscreteScheduler"],
    "text_encoder": ["transformers", "CLIPTextModel"],
    "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
    "tokenizer": ["transformers", "CLIPTokenizer"], "tokenizer_2": ["transformers", "CLIPTokenizer"],
    "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
}
TOKENIZER_2_CONFIG = dict(TOKENIZER_CONFIG, pad_token="!")


def write_sdxl_config(folder: str) -> str:
    """Write the config folder (no weights) to ``folder``; returns it."""
    def dump(rel: str, obj) -> None:
        write_atomic(os.path.join(folder, rel), json.dumps(obj, indent=1))

    merges = clip_merges()
    vocab = clip_vocab(merges)
    for sub, tk in (("tokenizer", TOKENIZER_CONFIG), ("tokenizer_2", TOKENIZER_2_CONFIG)):
        write_atomic(os.path.join(folder, sub, "merges.txt"), "#version: 0.2\n" + "\n".join(merges) + "\n")
        dump(f"{sub}/vocab.json", vocab)
        dump(f"{sub}/tokenizer_config.json", tk)
        dump(f"{sub}/special_tokens_map.json", {k: tk[k] for k in ("bos_token", "eos_token", "unk_token",
                                                                    "pad_token")})
    dump("unet/config.json", UNET)
    dump("vae/config.json", VAE)
    dump("text_encoder/config.json", TEXT_ENCODER)
    dump("text_encoder_2/config.json", TEXT_ENCODER_2)
    dump("scheduler/scheduler_config.json", SCHEDULER)
    dump("model_index.json", MODEL_INDEX)
    dump("loratui.json", {"version": VERSION, "what": "SDXL diffusers config folder written by loratui"})
    return folder


def ensure_sdxl_config(cache_dir: str | None = None) -> str:
    """The SDXL config folder in the user cache (written on first use)."""
    if cache_dir is None:
        import platformdirs

        cache_dir = platformdirs.user_cache_dir("loratui", appauthor=False)
    folder = os.path.join(cache_dir, f"sdxl-config-v{VERSION}")
    if not os.path.isfile(os.path.join(folder, "loratui.json")):
        write_sdxl_config(folder)
    return folder
