"""The ``ss_*`` and ``modelspec.*`` metadata of a saved LoRA (all values strings, as sd-scripts)."""

from __future__ import annotations

import json
import os
import time

from .spec import TrainSpec

MODELSPEC_VERSION = "1.0.0"
_BASE_VERSION = {"sd1": "sd_v1", "sd2": "sd_v2", "sd2-v": "sd_v2_v", "sdxl": "sdxl_base_v1-0"}
_ARCH = {"sd1": "stable-diffusion-v1/lora", "sd2": "stable-diffusion-v2-512/lora",
         "sd2-v": "stable-diffusion-v2-768-v/lora", "sdxl": "stable-diffusion-xl-v1-base/lora"}


def _s(v) -> str:
    if v is None:
        return "None"
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _te_lr(spec: TrainSpec):
    """One value, or SDXL's two when the second encoder has its own (as sd-scripts' list)."""
    if spec.family == "sdxl" and spec.text_encoder2_lr is not None and spec.text_encoder2_lr != spec.text_encoder_lr:
        return [spec.text_encoder_lr, spec.text_encoder2_lr]
    return spec.text_encoder_lr


def training_metadata(spec: TrainSpec, data, *, session_id: str, started_at: float, model_hash: str | None,
                      legacy_model_hash: str | None, v_parameterization: bool, total_steps: int,
                      num_processes: int = 1, num_epochs: int | None = None) -> dict[str, str]:
    """Metadata that stays the same for every file of a run (``ss_epoch``/``ss_steps`` added at save)."""
    family = "sd2-v" if spec.family in ("sd2", "sd2-v") and v_parameterization else spec.family
    optimizer_args = " ".join(f"{k}={v}" for k, v in spec.optimizer_args.items())
    from loratui.config.network_types import network_args as _network_args
    from loratui.config.network_types import network_module

    net = spec.network_config()
    network_args = _network_args(net)
    warmup = spec.lr_warmup_steps or int(spec.lr_warmup_ratio * total_steps)
    buckets = data.buckets()
    reps = data.repeats()
    bucket_info = {"buckets": {str(i): {"resolution": list(reso), "count": sum(reps[j] for j in ids)}
                               for i, (reso, ids) in enumerate(buckets.items())},
        "mean_img_ar_error": 0.0}
    sub0 = spec.subsets[0] if spec.subsets else None
    md = {
        "ss_session_id": session_id,
        "ss_training_started_at": started_at,
        "ss_output_name": spec.output_name,
        "ss_training_comment": spec.comment or None,
        # the epochs training runs (max_train_steps decides them when set), as sd-scripts records
        # its computed num_train_epochs
        "ss_num_epochs": num_epochs if num_epochs is not None else data.num_epochs(num_processes),
        "ss_max_train_steps": total_steps,
        "ss_seed": spec.seed,
        "ss_learning_rate": spec.unet_lr,
        "ss_unet_lr": spec.unet_lr if spec.train_unet else None,
        "ss_text_encoder_lr": _te_lr(spec) if spec.train_text_encoder else None,
        "ss_optimizer": f"{spec.optimizer}({optimizer_args})" if optimizer_args else spec.optimizer,
        "ss_lr_scheduler": spec.lr_scheduler,
        "ss_lr_warmup_steps": warmup,
        "ss_max_grad_norm": spec.max_grad_norm,
        "ss_gradient_accumulation_steps": spec.grad_accumulation,
        "ss_gradient_checkpointing": spec.gradient_checkpointing,
        "ss_mixed_precision": spec.mixed_precision,
        "ss_full_fp16": False,
        "ss_cache_latents": spec.cache_latents,
        "ss_network_module": network_module(net),
        "ss_network_dim": spec.network_dim,
        "ss_network_alpha": spec.network_alpha,
        "ss_network_dropout": spec.network_dropout,
        "ss_network_args": network_args if network_args else None,
        "ss_network_train_unet_only": spec.train_unet and not spec.train_text_encoder,
        "ss_network_train_text_encoder_only": spec.train_text_encoder and not spec.train_unet,
        "ss_v2": spec.family in ("sd2", "sd2-v"),
        "ss_base_model_version": _BASE_VERSION.get(family, "sd_v1") + ("_v" if family == "sdxl"
                                                                         and v_parameterization else ""),
        "ss_v_parameterization": v_parameterization,
        "ss_sd_model_name": os.path.basename(spec.base_model.rstrip("/")),
        "ss_sd_model_hash": legacy_model_hash,
        "ss_new_sd_model_hash": model_hash,
        "ss_vae_name": os.path.basename(spec.vae.rstrip("/")) if spec.vae else None,
        "ss_clip_skip": spec.clip_skip if spec.clip_skip > 1 else None,
        "ss_noise_offset": spec.noise_offset if spec.noise_offset else None,
        "ss_min_snr_gamma": spec.min_snr_gamma if spec.min_snr_gamma else None,
        "ss_prior_loss_weight": 1.0,
        "ss_caption_dropout_rate": sub0.caption_dropout_rate if sub0 else 0.0,
        "ss_caption_tag_dropout_rate": sub0.caption_tag_dropout_rate if sub0 else 0.0,
        "ss_keep_tokens": sub0.keep_tokens if sub0 else 0,
        "ss_shuffle_caption": sub0.shuffle_caption if sub0 else False,
        "ss_flip_aug": any(s.flip_aug for s in spec.subsets),
        "ss_resolution": f"({spec.resolution[0]}, {spec.resolution[1]})",
        "ss_enable_bucket": spec.enable_bucket,
        "ss_min_bucket_reso": spec.min_bucket_reso,
        "ss_max_bucket_reso": spec.max_bucket_reso,
        "ss_bucket_no_upscale": spec.bucket_no_upscale,
        "ss_num_train_images": data.num_train_images(),
        "ss_num_reg_images": data.num_reg_images(),
        "ss_num_batches_per_epoch": data.batches_per_epoch(),
        "ss_batch_size_per_device": spec.batch_size,
        "ss_total_batch_size": spec.batch_size * spec.grad_accumulation * num_processes,
        "ss_bucket_info": bucket_info,
        "ss_dataset_dirs": data.dataset_dirs(),
        "ss_tag_frequency": data.tag_frequency(),
        "ss_datasets": None,
        # modelspec (Stability's model metadata spec), read by CivitAI and several UIs. 1.0.0: the
        # only version the spec (Stability-AI/ModelSpec README, "sai_model_spec ... `1.0.0`") defines,
        # and what sd-scripts' releases (v0.10.1, library/sai_model_spec.py) write; "1.0.1" exists
        # only in later sd-scripts development code, for keys of its own that loratui does not write
        "modelspec.sai_model_spec": MODELSPEC_VERSION,
        "modelspec.architecture": _ARCH.get(family, "stable-diffusion-v1/lora"),
        "modelspec.implementation": "diffusers",
        "modelspec.title": spec.title or spec.output_name,
        "modelspec.resolution": f"{spec.resolution[0]}x{spec.resolution[1]}",
        "modelspec.date": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started_at)),
    }
    if spec.description:
        md["modelspec.description"] = spec.description
    if spec.author:
        md["modelspec.author"] = spec.author
    if spec.trigger_words:
        md["modelspec.trigger_phrase"] = ", ".join(spec.trigger_words)
    if spec.clip_skip > 1:
        md["modelspec.encoder_layer"] = spec.clip_skip
    md = {k: _s(v) for k, v in md.items()}
    md["ss_training_started_at"] = str(int(started_at))
    del md["ss_datasets"]
    return md


def file_metadata(base: dict[str, str], *, epoch: int, step: int, final: bool) -> dict[str, str]:
    md = dict(base)
    md["ss_epoch"] = str(epoch)
    md["ss_steps"] = str(step)
    md["ss_training_finished_at"] = str(int(time.time()))
    if not final:
        md["modelspec.title"] = f"{base.get('modelspec.title', '')} (epoch {epoch})"
    return md
