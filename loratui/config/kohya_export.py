"""Export a config as an sd-scripts pair: a training-args TOML (``--config_file``) and a
dataset-config TOML (+ a prompts file)."""

from __future__ import annotations

import json
import os

from .kohya_values import NOT_EXPRESSIBLE, _get
from .model import SUBSET_OVERRIDES, TrainConfig


def _kohya_optimizer(name: str) -> str:
    return "AdaFactor" if name == "Adafactor" else name


def to_kohya(cfg: TrainConfig, dataset_config_path: str = "dataset.toml",
             prompts_path: str = "prompts.txt") -> tuple[dict, dict, list[str]]:
    """The (training args, dataset config, notes) for ``cfg``; paths made absolute."""
    r = cfg.resolved()
    m, d, n, o, sc, out = r.model, r.dataset, r.network, r.optim, r.schedule, r.output
    notes: list[str] = []
    model = {"pretrained_model_name_or_path": m.base, "v2": m.family in ("sd2", "sd2-v"),
             "v_parameterization": m.family == "sd2-v" or getattr(m, "prediction_type", "auto") == "v_prediction"}
    if m.family == "sdxl" and getattr(m, "prediction_type", "auto") == "auto":
        from .base_model import detect_base_model  # sd-scripts does not detect it: say it

        if detect_base_model(m.base).v_prediction:
            model["v_parameterization"] = True
            notes.append("v_parameterization = true: the base model says it is a v-prediction model")
    if getattr(m, "zero_terminal_snr", False):
        model["zero_terminal_snr"] = True
    if m.vae:
        model["vae"] = m.vae
    if m.family == "sdxl":
        # not an sd-scripts argument (the script's name says SDXL; sd-scripts keeps unknown keys as
        # attributes, unused): kohya_ss's flag, read back by our import and by kohya_ss-style tools
        model["sdxl"] = True
        notes.append("model.family sdxl: run sdxl_train_network.py (the args file is the same)")
    from .network_types import network_args, network_module

    net = {"network_module": network_module(n), "network_dim": n.dim, "network_alpha": n.alpha}
    if n.dropout:
        net["network_dropout"] = n.dropout
    if network_args(n):  # kohya LoCon's conv_dim/conv_alpha, or LyCORIS' algo and every setting
        net["network_args"] = [f"{k}={v}" for k, v in network_args(n).items()]
    if n.train_unet and not n.train_text_encoder:
        net["network_train_unet_only"] = True
    elif n.train_text_encoder and not n.train_unet:
        net["network_train_text_encoder_only"] = True
    # text_encoder_lr is nargs="*" in sd-scripts: a list, as its own --output_config writes it (the
    # second value is SDXL's second encoder)
    te_lrs = [o.text_encoder_lr]
    te2 = getattr(o, "text_encoder2_lr", None)
    if te2 is not None and m.family == "sdxl":
        te_lrs.append(te2)
    opt = {"optimizer_type": _kohya_optimizer(o.optimizer), "learning_rate": o.unet_lr, "unet_lr": o.unet_lr,
           "text_encoder_lr": te_lrs, "lr_scheduler": o.scheduler, "max_grad_norm": o.max_grad_norm}
    if o.optimizer_args:
        opt["optimizer_args"] = list(o.optimizer_args)
    if o.scheduler == "constant" and (o.warmup_steps or o.warmup_ratio):
        notes.append("optim.scheduler constant has no warm-up (sd-scripts refuses the pair): the warm-up is not "
                     "exported; use constant_with_warmup to keep one")
    elif o.warmup_steps:
        opt["lr_warmup_steps"] = o.warmup_steps
    elif o.warmup_ratio:
        opt["lr_warmup_steps"] = o.warmup_ratio  # sd-scripts reads a value < 1 as a ratio
    opt["lr_scheduler_num_cycles"] = o.cycles
    opt["lr_scheduler_power"] = o.power
    train = {"output_dir": out.dir, "output_name": out.name, "save_model_as": "safetensors",
             "save_precision": "float" if out.save_precision == "fp32" else out.save_precision,
             "mixed_precision": o.mixed_precision, "gradient_accumulation_steps": o.grad_accumulation,
             "gradient_checkpointing": o.gradient_checkpointing, "seed": o.seed, "clip_skip": m.clip_skip,
             "cache_latents": d.cache_latents, "cache_latents_to_disk": d.cache_latents_to_disk, "sdpa": True}
    if getattr(d, "cache_text_encoder_outputs", False):
        train["cache_text_encoder_outputs"] = True
    if m.family == "sdxl":
        del train["clip_skip"]  # sd-scripts' SDXL scripts do not use it
    if sc.max_steps:
        train["max_train_steps"] = sc.max_steps
    else:
        train["max_train_epochs"] = sc.epochs
    if o.noise_offset:
        train["noise_offset"] = o.noise_offset
    if o.min_snr_gamma:
        train["min_snr_gamma"] = o.min_snr_gamma
    if sc.save_every_n_epochs:
        train["save_every_n_epochs"] = sc.save_every_n_epochs
    if sc.save_every_n_steps:
        train["save_every_n_steps"] = sc.save_every_n_steps
    if sc.keep_last:
        # save_last_n_epochs counts files (train_util.get_remove_epoch_no); save_last_n_steps counts
        # steps and keeps ceil((n + 1) / save_every_n_steps) files (get_remove_step_no): both keep
        # keep_last files
        if sc.save_every_n_epochs:
            train["save_last_n_epochs"] = sc.keep_last
        if sc.save_every_n_steps:
            train["save_last_n_steps"] = (sc.keep_last - 1) * sc.save_every_n_steps
    if sc.sample_prompts:
        train["sample_prompts"] = prompts_path
    train["sample_sampler"] = sc.sample_sampler
    if sc.sample_every_n_epochs:
        train["sample_every_n_epochs"] = sc.sample_every_n_epochs
    if sc.sample_every_n_steps:
        train["sample_every_n_steps"] = sc.sample_every_n_steps
    if sc.validate_every_n_steps and (d.validation_split or any(s.validation for s in d.subsets)):
        train["validate_every_n_steps"] = sc.validate_every_n_steps
    if any(s.validation for s in d.subsets):
        notes.append("subsets marked validation: sd-scripts has no such flag; they are exported as training "
                     "subsets (not carried over)")
    for k in ("title", "author", "description"):
        if getattr(out, k):
            train[f"metadata_{k}"] = getattr(out, k)
    train["dataset_config"] = dataset_config_path
    if r.hardware.cpu_threads:
        # accelerate launch's option, not sd-scripts' (which keeps the key as an unused attribute):
        # kohya_ss's field name, read back by our import; the launch line in the header carries it
        train["num_cpu_threads_per_process"] = r.hardware.cpu_threads
    args = {"model_arguments": model, "network_arguments": net, "optimizer_arguments": opt,
            "training_arguments": train}
    general = {"caption_extension": d.caption_extension, "keep_tokens": d.keep_tokens,
               "shuffle_caption": d.shuffle_caption, "caption_dropout_rate": d.caption_dropout_rate,
               "caption_tag_dropout_rate": d.caption_tag_dropout_rate, "flip_aug": d.flip_aug}
    prefix = getattr(d, "caption_prefix", "").strip().rstrip(",").strip()
    if prefix:
        # sd-scripts joins prefix and caption with a space: the trailing comma keeps the last tag apart
        general["caption_prefix"] = prefix + ","
    if d.validation_split:
        general["validation_split"] = d.validation_split  # sd-scripts: a dataset option
    if d.alpha_mask:
        general["alpha_mask"] = True
    subsets = []
    for s in d.subsets:
        sub = {"image_dir": s.image_dir, "num_repeats": s.repeats}
        if s.class_tokens:
            sub["class_tokens"] = s.class_tokens
        if s.is_reg:
            sub["is_reg"] = True
        for k in SUBSET_OVERRIDES:
            if getattr(s, k) is not None:
                sub[k] = getattr(s, k)
        subsets.append(sub)
    dataset = {"general": general, "datasets": [{
        "resolution": list(d.resolution), "batch_size": o.batch_size, "enable_bucket": d.enable_bucket,
        "min_bucket_reso": d.min_bucket_reso, "max_bucket_reso": d.max_bucket_reso,
        "bucket_reso_steps": d.bucket_reso_steps, "bucket_no_upscale": d.bucket_no_upscale,
        "subsets": subsets}]}
    lost = [p for p in NOT_EXPRESSIBLE if _get(cfg, p) != _get(TrainConfig(), p)]
    if lost:
        notes.append("not expressible in kohya files (kept only in the loratui config): " + ", ".join(lost))
    return args, dataset, notes


def export_kohya(cfg: TrainConfig, outdir: str, stem: str | None = None) -> tuple[list[str], list[str]]:
    """Write ``<stem>_config.toml``, ``<stem>_dataset.toml`` (+ ``<stem>_prompts.txt``) into ``outdir``.
    Returns (paths written, notes). Train with ``accelerate launch train_network.py --config_file ...``."""
    import tomli_w

    stem = stem or cfg.output.name or "lora"
    outdir = os.path.abspath(outdir)
    os.makedirs(outdir, exist_ok=True)
    args_path = os.path.join(outdir, f"{stem}_config.toml")
    ds_path = os.path.join(outdir, f"{stem}_dataset.toml")
    pr_path = os.path.join(outdir, f"{stem}_prompts.txt")
    args, dataset, notes = to_kohya(cfg, ds_path, pr_path)
    n_threads = args["training_arguments"].get("num_cpu_threads_per_process")
    threads = f"--num_cpu_threads_per_process {n_threads} " if n_threads else ""
    head = (f"# sd-scripts training arguments written by loratui: "
            f"accelerate launch {threads}{'sdxl_' if cfg.model.family == 'sdxl' else ''}train_network.py "
            f"--config_file {args_path}\n"
            f"# loratui: model.family = {cfg.model.family}\n"
            f"# loratui: extra = {json.dumps(_extra(cfg), ensure_ascii=False)}\n")
    written = []
    with open(args_path, "w", encoding="utf-8") as fh:
        fh.write(head + tomli_w.dumps(args))
    written.append(args_path)
    with open(ds_path, "w", encoding="utf-8") as fh:
        fh.write("# sd-scripts dataset config written by loratui\n" + tomli_w.dumps(dataset))
    written.append(ds_path)
    if cfg.schedule.sample_prompts:
        with open(pr_path, "w", encoding="utf-8") as fh:
            fh.write("# sample prompts (kohya syntax) written by loratui\n")
            fh.write("".join(p.rstrip("\n") + "\n" for p in cfg.schedule.sample_prompts))
        written.append(pr_path)
    return written, notes


def _extra(cfg: TrainConfig) -> dict:
    """What kohya cannot express, kept in a comment so an exported pair imports back whole (the
    epochs too when max_steps decides: the file then carries max_train_steps only)."""
    out = {p: _get(cfg, p) for p in NOT_EXPRESSIBLE}
    if cfg.schedule.max_steps:
        out["schedule.epochs"] = cfg.schedule.epochs
    return out
