""""Use these settings": a new config from a kohya-trained LoRA's ``ss_*`` metadata."""

from __future__ import annotations

import json
import os
import re

from .kohya_import import _apply_flat, _finish, kohya_defaults
from .kohya_values import ImportResult, Unmapped, _empty
from .toml_io import ConfigError

# ss_* key -> sd-scripts argparse name (then imported like a kohya args file)
SS_TO_ARG = {
    "ss_learning_rate": "learning_rate", "ss_unet_lr": "unet_lr", "ss_text_encoder_lr": "text_encoder_lr",
    "ss_lr_scheduler": "lr_scheduler", "ss_max_grad_norm": "max_grad_norm",
    "ss_gradient_accumulation_steps": "gradient_accumulation_steps",
    "ss_gradient_checkpointing": "gradient_checkpointing", "ss_mixed_precision": "mixed_precision",
    "ss_network_dim": "network_dim", "ss_network_alpha": "network_alpha", "ss_network_dropout": "network_dropout",
    "ss_network_module": "network_module", "ss_clip_skip": "clip_skip", "ss_noise_offset": "noise_offset",
    "ss_min_snr_gamma": "min_snr_gamma", "ss_caption_dropout_rate": "caption_dropout_rate",
    "ss_caption_tag_dropout_rate": "caption_tag_dropout_rate", "ss_keep_tokens": "keep_tokens",
    "ss_shuffle_caption": "shuffle_caption", "ss_flip_aug": "flip_aug", "ss_resolution": "resolution",
    "ss_enable_bucket": "enable_bucket", "ss_min_bucket_reso": "min_bucket_reso",
    "ss_max_bucket_reso": "max_bucket_reso", "ss_bucket_no_upscale": "bucket_no_upscale",
    "ss_num_epochs": "max_train_epochs", "ss_seed": "seed", "ss_batch_size_per_device": "train_batch_size",
    "ss_output_name": "output_name", "ss_v2": "v2", "ss_v_parameterization": "v_parameterization",
    "ss_training_comment": "training_comment", "ss_lr_scheduler_num_cycles": "lr_scheduler_num_cycles",
    "ss_lr_scheduler_power": "lr_scheduler_power", "ss_save_precision": "save_precision",
    "ss_zero_terminal_snr": "zero_terminal_snr",
}
# Describe the run, not its settings: not reported as "not carried over".
INFO_KEYS = {
    "ss_session_id", "ss_training_started_at", "ss_training_finished_at", "ss_steps", "ss_epoch",
    "ss_max_train_steps", "ss_num_train_images", "ss_num_reg_images", "ss_num_batches_per_epoch",
    "ss_total_batch_size", "ss_bucket_info", "ss_sd_model_hash", "ss_new_sd_model_hash", "ss_vae_hash",
    "ss_tag_frequency", "ss_datasets", "ss_dataset_dirs", "ss_reg_dataset_dirs", "ss_base_model_version",
    "ss_optimizer", "ss_network_args", "ss_lr_warmup_steps", "ss_sd_model_name", "ss_vae_name",
    "ss_cache_latents", "ss_full_fp16", "ss_max_token_length", "ss_color_aug", "ss_random_crop",
    "ss_face_crop_aug_range", "ss_prior_loss_weight", "ss_sd_scripts_commit_hash", "ss_num_processes",
}
FAMILY = {"sd_v1": "sd1", "sd_v2": "sd2", "sd_v2_v": "sd2-v", "sdxl_base_v1-0": "sdxl", "sdxl_base_v1-0_v": "sdxl"}


def _split_args(s: str) -> list[str]:
    """``a=1,betas=(0.9, 0.99)`` -> [``a=1``, ``betas=(0.9, 0.99)``] (commas inside brackets kept)."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            if cur.strip():
                out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def parse_optimizer(s: str) -> tuple[str, list[str]]:
    """``bitsandbytes.optim.adamw.AdamW8bit(weight_decay=0.1)`` -> (``AdamW8bit``, [``weight_decay=0.1``])."""
    m = re.match(r"^\s*([\w.]+)\s*(?:\((.*)\))?\s*$", s, re.S)
    if not m:
        return s.strip(), []
    return m.group(1).rsplit(".", 1)[-1], _split_args(m.group(2) or "")


def config_from_lora(path: str, dataset_dir: str | None = None, base: str | None = None) -> ImportResult:
    from loratui.lora.header import LoraFileError, read_header

    try:
        h = read_header(path)
    except LoraFileError as e:
        raise ConfigError([str(e).split(": ", 1)[-1]], path) from None
    from loratui.lora.inspect import inspect_lora

    if not inspect_lora(path, compute_hashes=False).is_network:
        raise ConfigError(["not a LoRA network (no LoRA, LoCon, LoHa, LoKr or diffusers LoRA tensors): it holds "
                           "no training settings to reuse"], path)
    meta = h.metadata
    res = ImportResult(kohya_defaults(), sources=[path])
    cfg = res.config
    if not any(k.startswith("ss_") for k in meta):
        res.notes.append("no ss_* training metadata in this file: the config holds sd-scripts' defaults")
    flat: dict = {}
    back: dict[str, str] = {}
    for k, v in meta.items():
        if k in SS_TO_ARG:
            flat[SS_TO_ARG[k]] = v
            back[SS_TO_ARG[k]] = k
    te_lr = str(meta.get("ss_text_encoder_lr", "")).strip()
    if te_lr.startswith("[") and te_lr.endswith("]"):
        # sd-scripts writes str(args.text_encoder_lr): "[3e-05, 1e-05]" for SDXL's two encoders
        flat["text_encoder_lr"] = [v.strip() for v in te_lr[1:-1].split(",") if v.strip()]
    if not _empty(meta.get("ss_resolution")):
        flat["resolution"] = meta["ss_resolution"].strip().strip("()[]")
    if not _empty(meta.get("ss_network_args")):
        try:
            na = json.loads(meta["ss_network_args"])
            if isinstance(na, dict):
                flat["network_args"] = [f"{k}={v}" for k, v in na.items()]
                back["network_args"] = "ss_network_args"
        except ValueError:
            res.unmapped.append(Unmapped("ss_network_args", meta["ss_network_args"], "not valid JSON"))
    if not _empty(meta.get("ss_optimizer")):
        name, args = parse_optimizer(meta["ss_optimizer"])
        flat["optimizer_type"] = name
        back["optimizer_type"] = "ss_optimizer"
        if args:
            flat["optimizer_args"] = args
            back["optimizer_args"] = "ss_optimizer"
    _datasets(meta, flat, back, res)
    # epochs are the setting; max_train_steps in metadata is derived from them
    if not _empty(flat.get("max_train_epochs")):
        flat["max_train_steps"] = ""
    elif not _empty(meta.get("ss_max_train_steps")):
        flat["max_train_steps"] = meta["ss_max_train_steps"]
    # the warm-up was stored in steps of *that* dataset: carry it as a ratio
    try:
        w, total = float(meta.get("ss_lr_warmup_steps", "0")), float(meta.get("ss_max_train_steps", "0"))
        if w >= 1 and total > 0:
            flat["lr_warmup_steps"] = round(w / total, 4)
            res.notes.append(f"warm-up {int(w)} of {int(total)} steps carried as ratio {w / total:.4g}")
        elif 0 < w < 1:
            flat["lr_warmup_steps"] = w
    except ValueError:
        res.unmapped.append(Unmapped("ss_lr_warmup_steps", meta.get("ss_lr_warmup_steps"), "not a number"))
    from loratui.lora.inspect import _base_model

    version, why = _base_model(h)  # metadata first, else the key names (te1/te2, SGM UNet names)
    if version.startswith("sdxl"):
        flat["sdxl"] = True
        back["sdxl"] = "ss_base_model_version" if why == "ss_base_model_version" else "tensor names"
        if version.endswith("_v"):  # sd-scripts' name for a v-prediction SDXL run
            flat["v_parameterization"] = True
        res.notes.append(f"model.family sdxl ({why})")
    _apply_flat(flat, res, path, os.path.dirname(os.path.abspath(path)))
    for u in res.unmapped:
        u.key = back.get(u.key, u.key)
    _from_tensors(path, meta, res)
    fam = FAMILY.get(meta.get("ss_base_model_version", "")) or FAMILY.get(version)
    if fam:
        cfg.model.family = fam
    for k, attr in (("modelspec.title", "title"), ("modelspec.author", "author"),
                    ("modelspec.description", "description")):
        if not _empty(meta.get(k)):
            setattr(cfg.output, attr, meta[k])
    trig = meta.get("modelspec.trigger_phrase")
    if trig is not None and not _empty(trig):
        cfg.output.trigger_words = [t.strip() for t in trig.split(",") if t.strip()]
    # what could not be carried over
    if not _empty(meta.get("ss_sd_model_name")):
        res.unmapped.append(Unmapped("ss_sd_model_name", meta["ss_sd_model_name"],
                                     "a base model on the machine that trained it; set model.base to the same "
                                     "model (or its pruned root) here"))
    if not _empty(meta.get("ss_vae_name")):
        res.unmapped.append(Unmapped("ss_vae_name", meta["ss_vae_name"], "a VAE on the machine that trained it; "
                                     "set model.vae if you have it"))
    dirs = meta.get("ss_dataset_dirs")
    if not _empty(dirs):
        res.unmapped.append(Unmapped("ss_dataset_dirs", dirs, "the original dataset folders (not here); "
                                     "repeats per folder are shown for reference"))
    for k, v in sorted(meta.items()):
        if k.startswith("ss_") and k not in SS_TO_ARG and k not in INFO_KEYS and not _empty(v):
            res.unmapped.append(Unmapped(k, v, "no equivalent in loratui"))
    if base:
        cfg.model.base = os.path.abspath(os.path.expanduser(base))
    if dataset_dir:
        from .presets import find_subsets

        root = os.path.abspath(os.path.expanduser(dataset_dir))
        cfg.dataset.root = root
        cfg.dataset.subsets = find_subsets(root)
    else:
        res.notes.append("no dataset chosen: set dataset.root and its subsets")
    cfg.output.name = (cfg.output.name if cfg.output.name != "last" else "") or "my_lora"
    _finish(res, flat)
    return res


def _datasets(meta: dict, flat: dict, back: dict, res: ImportResult) -> None:
    """Newer sd-scripts keep resolution, buckets and caption settings per dataset in ``ss_datasets``."""
    raw = meta.get("ss_datasets")
    if raw is None or _empty(raw):
        return
    try:
        ds = json.loads(raw)
    except (ValueError, RecursionError):
        res.unmapped.append(Unmapped("ss_datasets", raw[:80], "not valid JSON"))
        return
    if not isinstance(ds, list) or not ds or not isinstance(ds[0], dict):
        return
    d0 = ds[0]
    for k, arg in (("batch_size_per_device", "train_batch_size"), ("enable_bucket", "enable_bucket"),
                   ("min_bucket_reso", "min_bucket_reso"), ("max_bucket_reso", "max_bucket_reso"),
                   ("bucket_no_upscale", "bucket_no_upscale")):
        if k in d0 and arg not in flat:
            flat[arg], back[arg] = d0[k], "ss_datasets"
    if "resolution" in d0 and "resolution" not in flat:
        flat["resolution"], back["resolution"] = d0["resolution"], "ss_datasets"
    subs = d0.get("subsets")
    if isinstance(subs, list) and subs and isinstance(subs[0], dict):
        for k in ("keep_tokens", "shuffle_caption", "flip_aug", "caption_dropout_rate", "caption_tag_dropout_rate",
                  "caption_extension"):
            if k in subs[0] and k not in flat:
                flat[k], back[k] = subs[0][k], "ss_datasets"


def _from_tensors(path: str, meta: dict, res: ImportResult) -> None:
    """Fill in what the metadata lacks from the tensors themselves (ranks, alphas, LoCon)."""
    from collections import Counter

    from loratui.lora.inspect import inspect_lora

    try:
        info = inspect_lora(path, compute_hashes=False, top_tags=0)
    except Exception:  # the header was read once already; a second failure only loses the extras
        return
    net = res.config.network

    def common(c: dict):
        return Counter(c).most_common(1)[0][0] if c else None

    if _empty(meta.get("ss_network_dim")) and info.ranks:
        net.dim = int(common(info.ranks))
        a = common(info.alphas)
        net.alpha = float(a) if a is not None else float(net.dim)
        res.notes.append(f"network dim/alpha {net.dim}/{net.alpha:g} read from the tensors")
    fmt = info.format.split(" + ")[0]
    if fmt in ("LoHa", "LoKr") and net.type != fmt.lower():
        net.type = fmt.lower()  # no (or another) network module in the metadata: the tensors tell
        res.notes.append(f"{fmt} read from the tensors")
        if info.conv_ranks or info.conv_full_rank:
            net.conv_dim = int(common(info.conv_ranks) or net.dim)
            ca = common(info.conv_alphas)
            net.conv_alpha = float(ca) if ca is not None else float(net.conv_dim)
        elif net.preset == "full":
            net.preset = "attn-mlp"
    if fmt == "LoKr" and (info.full_rank or info.conv_full_rank) and not info.ranks and not net.full_matrix:
        net.full_matrix = True
        res.notes.append("full-rank LoKr (whole Kronecker factors) read from the tensors")
    if info.dora_modules and not net.dora:
        net.dora = True
        res.notes.append("DoRA (dora_scale) read from the tensors")
    if info.conv_ranks and net.type == "lora":
        net.type = "locon"
        net.conv_dim = int(common(info.conv_ranks))
        ca = common(info.conv_alphas)
        net.conv_alpha = float(ca) if ca is not None else float(net.conv_dim)
        res.notes.append(f"LoCon (3x3 conv layers, conv {net.conv_dim}/{net.conv_alpha:g}) read from the tensors")
