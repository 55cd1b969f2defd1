"""A tiny random-weight SD1.x-architecture model in diffusers folder layout (~3 MB): for tests,
benchmarks and the demo. Its outputs are noise: it exists to exercise the whole training path on a
CPU in seconds, offline. The tokenizer is a byte-level CLIP BPE with a handful of merges."""

from __future__ import annotations

import json
import os

from loratui.clip_bytes import byte_encoder


def write_tiny_tokenizer(folder: str) -> int:
    """Write vocab.json + merges.txt (+ configs) for a CLIP tokenizer; returns the vocab size."""
    os.makedirs(folder, exist_ok=True)
    chars = list(byte_encoder().values())
    vocab: dict[str, int] = {}
    for c in chars:
        vocab[c] = len(vocab)
    for c in chars:
        vocab[c + "</w>"] = len(vocab)
    merges = []
    for a, b in [("t", "h"), ("th", "e</w>"), ("a", "n"), ("i", "n"), ("e", "r"), ("o", "n</w>")]:
        merges.append(f"{a} {b}")
        vocab[a + b] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "bos_token": "<|startoftext|>",
                   "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
                   "do_lower_case": True}, f)
    with open(os.path.join(folder, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump({"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
                   "pad_token": "<|endoftext|>"}, f)
    return len(vocab)


def tiny_unet_config(sample_size: int = 8) -> dict:
    return {"sample_size": sample_size, "block_out_channels": (32, 64), "layers_per_block": 1,
                "down_block_types": ("CrossAttnDownBlock2D", "DownBlock2D"),
                "up_block_types": ("UpBlock2D", "CrossAttnUpBlock2D"), "cross_attention_dim": 32,
                "attention_head_dim": 8, "norm_num_groups": 32}


def build_tiny_model(folder: str, seed: int = 0, prediction_type: str = "epsilon") -> str:
    """Create the model folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/)."""
    import torch
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    os.makedirs(folder, exist_ok=True)
    vocab_size = write_tiny_tokenizer(os.path.join(folder, "tokenizer"))
    torch.manual_seed(seed)
    te = CLIPTextModel(CLIPTextConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64,
                                      num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=77,
                                      projection_dim=32, bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1,
                                      pad_token_id=vocab_size - 1))
    unet = UNet2DConditionModel(**tiny_unet_config())
    vae = AutoencoderKL(block_out_channels=(32, 64), in_channels=3, out_channels=3,
                        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                        latent_channels=4, norm_num_groups=32, sample_size=64)
    sched = DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                          num_train_timesteps=1000, prediction_type=prediction_type, clip_sample=False,
                          steps_offset=1)
    te.save_pretrained(os.path.join(folder, "text_encoder"))
    unet.save_pretrained(os.path.join(folder, "unet"))
    vae.save_pretrained(os.path.join(folder, "vae"))
    sched.save_pretrained(os.path.join(folder, "scheduler"))
    with open(os.path.join(folder, "model_index.json"), "w") as f:
        json.dump({"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.42.1",
                   "feature_extractor": [None, None], "safety_checker": [None, None],
                   "requires_safety_checker": False,
                   "scheduler": ["diffusers", "DDPMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
                   "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
                   "vae": ["diffusers", "AutoencoderKL"]}, f, indent=1)
    return folder


def tiny_sdxl_unet_config(sample_size: int = 8) -> dict:
    """SDXL's UNet layout (3 levels, 2 layers per block, text-time added embedding, linear
    projections) at toy widths, so its SGM names follow the same rules as the real model's."""
    return {"sample_size": sample_size, "block_out_channels": (32, 64, 64), "layers_per_block": 2,
                "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
                "transformer_layers_per_block": (1, 1, 2), "cross_attention_dim": 32 + 48, "attention_head_dim": (2, 4, 4),
                "use_linear_projection": True, "addition_embed_type": "text_time", "addition_time_embed_dim": 8,
                "projection_class_embeddings_input_dim": 48 + 6 * 8, "norm_num_groups": 32}


def build_tiny_sdxl_model(folder: str, seed: int = 0, prediction_type: str = "epsilon") -> str:
    """A tiny random-weight SDXL-architecture diffusers folder: two CLIP text encoders (32 and 48
    wide, the second with a projection; different widths as in SDXL, which is how single-file
    loaders tell them apart), a text-time UNet, a VAE, both tokenizers (the second pads with ``!``
    as SDXL's does)."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    os.makedirs(folder, exist_ok=True)
    vocab_size = write_tiny_tokenizer(os.path.join(folder, "tokenizer"))
    write_tiny_tokenizer(os.path.join(folder, "tokenizer_2"))
    tk2 = os.path.join(folder, "tokenizer_2")
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        with open(os.path.join(tk2, name), encoding="utf-8") as f:
            d = json.load(f)
        d["pad_token"] = "!"
        with open(os.path.join(tk2, name), "w", encoding="utf-8") as f:
            json.dump(d, f)
    torch.manual_seed(seed)

    def te_config(act, width):
        return CLIPTextConfig(vocab_size=vocab_size, hidden_size=width, intermediate_size=2 * width,
                              num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=77,
                              projection_dim=width, hidden_act=act, bos_token_id=vocab_size - 2,
                              eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1)

    te = CLIPTextModel(te_config("quick_gelu", 32))
    te2 = CLIPTextModelWithProjection(te_config("gelu", 48))
    unet = UNet2DConditionModel(**tiny_sdxl_unet_config())
    vae = AutoencoderKL(block_out_channels=(32, 64), in_channels=3, out_channels=3,
                        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                        latent_channels=4, norm_num_groups=32, sample_size=64, scaling_factor=0.13025)
    sched = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                   num_train_timesteps=1000, prediction_type=prediction_type, steps_offset=1,
                                   timestep_spacing="leading")
    te.save_pretrained(os.path.join(folder, "text_encoder"))
    te2.save_pretrained(os.path.join(folder, "text_encoder_2"))
    unet.save_pretrained(os.path.join(folder, "unet"))
    vae.save_pretrained(os.path.join(folder, "vae"))
    sched.save_pretrained(os.path.join(folder, "scheduler"))
    with open(os.path.join(folder, "model_index.json"), "w") as f:
        json.dump({"_class_name": "StableDiffusionXLPipeline", "_diffusers_version": "0.42.1",
                   "force_zeros_for_empty_prompt": True, "feature_extractor": [None, None],
                   "image_encoder": [None, None], "scheduler": ["diffusers", "EulerDiscreteScheduler"],
                   "text_encoder": ["transformers", "CLIPTextModel"],
                   "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
                   "tokenizer": ["transformers", "CLIPTokenizer"], "tokenizer_2": ["transformers", "CLIPTokenizer"],
                   "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}, f, indent=1)
    return folder
