"""Import sd-scripts TOMLs: a training-args file (any section names, following ``dataset_config``,
or scanning ``train_data_dir``) or a dataset config alone. Every key without an equivalent is
reported in ``ImportResult.unmapped``, never dropped silently."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tomllib
import typing

from .kohya_values import (
    AUTOMATIC,
    NOT_EXPRESSIBLE,
    ImportResult,
    Unmapped,
    _Bad,
    _empty,
    _get,
    _set,
    _to_bool,
    _to_float,
    _to_int,
    _to_list,
    _to_res,
    _to_str,
    unsupported_network,
)
from .model import OPTIMIZERS, SCHEDULERS, SUBSET_OVERRIDES, SubsetConfig, TrainConfig
from .toml_io import ConfigError, convert_value

# kohya argparse name -> (config path, converter)
SIMPLE = {
    "pretrained_model_name_or_path": ("model.base", _to_str),
    "vae": ("model.vae", _to_str),
    "clip_skip": ("model.clip_skip", _to_int),
    "caption_extension": ("dataset.caption_extension", _to_str),
    "keep_tokens": ("dataset.keep_tokens", _to_int),
    "shuffle_caption": ("dataset.shuffle_caption", _to_bool),
    "caption_dropout_rate": ("dataset.caption_dropout_rate", _to_float),
    "caption_tag_dropout_rate": ("dataset.caption_tag_dropout_rate", _to_float),
    "flip_aug": ("dataset.flip_aug", _to_bool),
    "resolution": ("dataset.resolution", _to_res),
    "enable_bucket": ("dataset.enable_bucket", _to_bool),
    "min_bucket_reso": ("dataset.min_bucket_reso", _to_int),
    "max_bucket_reso": ("dataset.max_bucket_reso", _to_int),
    "bucket_reso_steps": ("dataset.bucket_reso_steps", _to_int),
    "bucket_no_upscale": ("dataset.bucket_no_upscale", _to_bool),
    "cache_latents": ("dataset.cache_latents", _to_bool),
    "cache_latents_to_disk": ("dataset.cache_latents_to_disk", _to_bool),
    "cache_text_encoder_outputs": ("dataset.cache_text_encoder_outputs", _to_bool),
    "caption_prefix": ("dataset.caption_prefix", _to_str),
    "zero_terminal_snr": ("model.zero_terminal_snr", _to_bool),
    "validation_split": ("dataset.validation_split", _to_float),
    "validate_every_n_steps": ("schedule.validate_every_n_steps", _to_int),
    "alpha_mask": ("dataset.alpha_mask", _to_bool),
    "network_dim": ("network.dim", _to_int),
    "network_alpha": ("network.alpha", _to_float),
    "network_dropout": ("network.dropout", _to_float),
    "optimizer_args": ("optim.optimizer_args", _to_list),
    "lr_scheduler_num_cycles": ("optim.cycles", _to_int),
    "lr_scheduler_power": ("optim.power", _to_float),
    "train_batch_size": ("optim.batch_size", _to_int),
    "batch_size": ("optim.batch_size", _to_int),
    "gradient_accumulation_steps": ("optim.grad_accumulation", _to_int),
    "max_grad_norm": ("optim.max_grad_norm", _to_float),
    "noise_offset": ("optim.noise_offset", _to_float),
    "min_snr_gamma": ("optim.min_snr_gamma", _to_float),
    "gradient_checkpointing": ("optim.gradient_checkpointing", _to_bool),
    "seed": ("optim.seed", _to_int),
    "max_train_epochs": ("schedule.epochs", _to_int),
    "max_train_steps": ("schedule.max_steps", _to_int),
    "save_every_n_epochs": ("schedule.save_every_n_epochs", _to_int),
    "save_every_n_steps": ("schedule.save_every_n_steps", _to_int),
    "sample_every_n_epochs": ("schedule.sample_every_n_epochs", _to_int),
    "sample_every_n_steps": ("schedule.sample_every_n_steps", _to_int),
    "sample_sampler": ("schedule.sample_sampler", _to_str),
    "output_dir": ("output.dir", _to_str),
    "output_name": ("output.name", _to_str),
    "metadata_title": ("output.title", _to_str),
    "metadata_author": ("output.author", _to_str),
    "metadata_description": ("output.description", _to_str),
    "training_comment": ("output.description", _to_str),
}

# Handled by _apply_flat's special cases.
SPECIAL = {"num_cpu_threads_per_process", "learning_rate", "unet_lr", "text_encoder_lr", "optimizer_type", "lr_scheduler", "lr_warmup_steps",
           "v2", "v_parameterization", "sdxl", "network_module", "network_args", "network_train_unet_only",
           "network_train_text_encoder_only", "mixed_precision", "save_precision", "save_last_n_epochs",
           "save_last_n_steps", "sample_prompts", "dataset_config", "train_data_dir", "reg_data_dir",
           "conv_dim", "conv_alpha"}


def kohya_defaults() -> TrainConfig:
    """sd-scripts' own defaults, the starting point of an import (a key left out means its default)."""
    c = TrainConfig()
    c.concept = "other"
    c.dataset.caption_extension = ".caption"
    c.dataset.keep_tokens = 0
    c.dataset.shuffle_caption = False
    c.dataset.enable_bucket = False
    c.network.dim, c.network.alpha = 4, 1.0
    c.optim.unet_lr = c.optim.text_encoder_lr = 2e-6
    c.optim.scheduler = "constant"
    c.optim.mixed_precision = "no"
    c.schedule.epochs, c.schedule.max_steps = 1, 1600
    c.schedule.save_every_n_epochs = 0
    c.schedule.sample_every_n_epochs = 0
    c.schedule.sample_strengths = [1.0]
    c.schedule.sample_sampler = "ddim"
    c.output.save_precision = "fp32"
    c.output.name = "last"
    c.dataset.cache_latents = False
    c.network.conv_dim, c.network.conv_alpha = 16, 8.0
    return c


def _apply_flat(flat: dict, res: ImportResult, where: str, base_dir: str) -> None:
    """Apply a flat kohya argparse namespace (``key -> value``) to ``res.config``."""
    cfg = res.config

    def bad(key, value, why):
        res.unmapped.append(Unmapped(key, value, why))

    lr = {}
    for key, value in flat.items():
        if key in SIMPLE:
            if _empty(value):
                continue
            path, conv = SIMPLE[key]
            try:
                _set(cfg, path, conv(value))
            except _Bad as e:
                bad(key, value, f"{e}; not applied")
        elif key in SPECIAL:
            continue
        elif key in AUTOMATIC:
            res.unmapped.append(Unmapped(key, value, "chosen by loratui's trainer; not needed"))
        elif _empty(value):
            res.unmapped.append(Unmapped(key, value, "no equivalent (empty, ignored)"))
        elif value is False or (not isinstance(value, bool) and isinstance(value, (int, float)) and value == 0) \
                or value in ("0", "0.0", "false", "False"):
            res.unmapped.append(Unmapped(key, value, "no equivalent (off, nothing lost)"))
        else:
            bad(key, value, "no equivalent in loratui")
    _cpu_threads(flat, res)
    # learning rates: unet/te fall back to learning_rate. text_encoder_lr is `nargs="*"` in sd-scripts
    # and its --output_config writes a list: one value, or two for SDXL's two encoders
    te2 = None
    for k in ("learning_rate", "unet_lr", "text_encoder_lr"):
        v = flat.get(k)
        if k == "text_encoder_lr" and isinstance(v, (list, tuple)):
            if not v:
                continue  # [] is "not given": learning_rate applies
            if len(v) > 2:
                bad(k, v, "expected one or two values (two: SDXL's encoders); not applied")
                continue
            try:
                vals = [_to_float(x) for x in v]
            except _Bad as e:
                bad(k, v, f"{e}; not applied")
                continue
            lr[k] = vals[0]
            if len(vals) == 2:
                te2 = vals[1]
            continue
        if not _empty(v):
            try:
                lr[k] = _to_float(v)
            except _Bad as e:
                bad(k, v, f"{e}; not applied")
    base = lr.get("learning_rate")
    unet = lr.get("unet_lr") or base
    te = lr.get("text_encoder_lr") or base
    if unet:
        cfg.optim.unet_lr = unet
    if te:
        cfg.optim.text_encoder_lr = te
    if te2 is not None:
        cfg.optim.text_encoder2_lr = te2  # SDXL's second encoder
    if "optimizer_type" in flat and not _empty(flat["optimizer_type"]):
        want = str(flat["optimizer_type"]).strip()
        match = next((o for o in OPTIMIZERS if o.lower() == want.lower()), None)
        if match:
            cfg.optim.optimizer = match
        else:
            bad("optimizer_type", want, f"not supported (loratui: {', '.join(OPTIMIZERS)}); kept {cfg.optim.optimizer}")
    if "lr_scheduler" in flat and not _empty(flat["lr_scheduler"]):
        want = str(flat["lr_scheduler"]).strip()
        if want in SCHEDULERS:
            cfg.optim.scheduler = want
        else:
            bad("lr_scheduler", want, f"not supported (loratui: {', '.join(SCHEDULERS)}); kept {cfg.optim.scheduler}")
    if "lr_warmup_steps" in flat and not _empty(flat["lr_warmup_steps"]):
        try:
            w = _to_float(flat["lr_warmup_steps"])
            if 0 < w < 1:
                cfg.optim.warmup_ratio, cfg.optim.warmup_steps = w, 0
            else:
                cfg.optim.warmup_steps, cfg.optim.warmup_ratio = int(w), 0.0
        except _Bad as e:
            bad("lr_warmup_steps", flat["lr_warmup_steps"], str(e))
    if _is_sdxl(flat, te2, res, base_dir, bad):
        cfg.model.family = "sdxl"
        if _empty(flat.get("v_parameterization")):
            cfg.model.prediction_type = "epsilon"  # sd-scripts trains epsilon unless told (no detection)
    if "v2" in flat or "v_parameterization" in flat:
        try:
            v2 = _to_bool(flat.get("v2", False))
            vp = _to_bool(flat.get("v_parameterization", False))
            if cfg.model.family == "sdxl" and not v2:
                # sdxl_train_network.py --v_parameterization: a v-prediction SDXL (NoobAI-XL v-pred)
                cfg.model.prediction_type = "v_prediction" if vp else "epsilon"
            else:
                cfg.model.family = "sd2-v" if (v2 and vp) else "sd2" if v2 else cfg.model.family
                if vp and not v2:
                    bad("v_parameterization", True, "v-prediction SD1 models are not supported; ignored")
        except _Bad as e:
            bad("v2", flat.get("v2"), str(e))
    mod = flat.get("network_module")
    net_args = {}
    if not _empty(flat.get("network_args")):
        try:
            for a in _to_list(flat["network_args"]):
                k, sep, v = a.partition("=")
                if not sep:
                    bad("network_args", a, "expected key=value")
                else:
                    net_args[k.strip()] = v.strip()
        except _Bad as e:
            bad("network_args", flat["network_args"], str(e))
    for k in ("conv_dim", "conv_alpha"):  # GUI spellings
        if k in flat and not _empty(flat[k]):
            net_args.setdefault(k, flat[k])
    from .kohya_network import apply_network

    apply_network(cfg, None if _empty(mod) else mod, net_args, bad, res.notes,
                  lambda key, value, name: unsupported_network(res, key, value, name))
    try:
        if _to_bool(flat.get("network_train_unet_only", False)):
            cfg.network.train_text_encoder = False
        if _to_bool(flat.get("network_train_text_encoder_only", False)):
            cfg.network.train_unet = False
    except _Bad as e:
        bad("network_train_unet_only", flat.get("network_train_unet_only"), str(e))
    if not _empty(flat.get("mixed_precision")):
        mp = str(flat["mixed_precision"]).strip()
        if mp in ("no", "fp16", "bf16"):
            cfg.optim.mixed_precision = mp
        else:
            bad("mixed_precision", mp, "expected no, fp16 or bf16")
    if not _empty(flat.get("save_precision")):
        sp = str(flat["save_precision"]).strip()
        sp = {"float": "fp32", "fp32": "fp32", "float32": "fp32"}.get(sp, sp)
        if sp in ("fp32", "fp16", "bf16"):
            cfg.output.save_precision = sp
        else:
            bad("save_precision", sp, "expected float, fp16 or bf16")
    _epochs_or_steps(flat, res)
    _keep_last(flat, res)
    sched = cfg.optim.scheduler
    if sched == "constant" and (cfg.optim.warmup_steps or cfg.optim.warmup_ratio):
        # sd-scripts refuses this pair (get_scheduler_fix: "constant does not require num_warmup_steps")
        # and loratui's `constant` means no warm-up: keep the warm-up the file asks for, say so
        cfg.optim.scheduler = "constant_with_warmup"
        res.notes.append("lr_scheduler `constant` with lr_warmup_steps: sd-scripts refuses to start with this "
                         "pair; imported as `constant_with_warmup` (set optim.scheduler = constant and the "
                         "warm-up to 0 for no warm-up)")
    sp_raw = flat.get("sample_prompts")
    if not _empty(sp_raw):
        sp = str(sp_raw)
        prompts_path = _find(sp, base_dir)
        if prompts_path:
            prompts = _read_prompts(prompts_path, res)
            if prompts is not None:
                cfg.schedule.sample_prompts = prompts
                res.sources.append(prompts_path)
        elif "\n" in sp or " --" in sp or not sp.endswith((".txt", ".toml", ".json")):
            # the GUI stores the prompts themselves
            cfg.schedule.sample_prompts = [ln.strip() for ln in sp.splitlines()
                                           if ln.strip() and not ln.strip().startswith("#")]
        else:
            bad("sample_prompts", sp, "prompt file not found; prompts not imported")


def _cpu_threads(flat: dict, res: ImportResult) -> None:
    """``num_cpu_threads_per_process`` is accelerate launch's option (kohya_ss passes it as
    ``accelerate launch --num_cpu_threads_per_process=N``; accelerate sets ``OMP_NUM_THREADS=N`` for
    the training process): the same knob as ``hardware.cpu_threads``. Unset or 0: loratui's default
    (the cores this process may use)."""
    v = flat.get("num_cpu_threads_per_process")
    if _empty(v):
        return
    try:
        n = _to_int(v)
    except _Bad as e:
        res.unmapped.append(Unmapped("num_cpu_threads_per_process", v, f"{e}; not applied"))
        return
    if n < 0:
        res.unmapped.append(Unmapped("num_cpu_threads_per_process", v, "expected 0 or more threads; not applied"))
        return
    res.config.hardware.cpu_threads = n
    if n:
        res.notes.append(f"num_cpu_threads_per_process = {n} (accelerate's OMP_NUM_THREADS): hardware.cpu_threads = {n}")


def _epochs_or_steps(flat: dict, res: ImportResult) -> None:
    """sd-scripts (train_network.py): when ``max_train_epochs`` is given it overrides
    ``max_train_steps`` (steps = epochs x steps per epoch); otherwise ``max_train_steps`` decides."""
    cfg = res.config
    ep, st = flat.get("max_train_epochs"), flat.get("max_train_steps")
    if _empty(ep) or cfg.schedule.epochs != _safe_int(ep):
        return  # not given, or not applied (reported already)
    if not _empty(st) and _safe_int(st):
        res.notes.append(f"max_train_epochs = {ep} and max_train_steps = {st}: sd-scripts trains the epochs "
                         f"and ignores max_train_steps; so does this config ({ep} epochs, schedule.max_steps = 0)")
    cfg.schedule.max_steps = 0


def _safe_int(v) -> int | None:
    try:
        return _to_int(v)
    except _Bad:
        return None


def _keep_last(flat: dict, res: ImportResult) -> None:
    """``save_last_n_epochs`` counts saved files (train_util.get_remove_epoch_no removes epoch
    ``n - save_every_n_epochs * save_last_n_epochs``): schedule.keep_last is the same number.
    ``save_last_n_steps`` counts *steps* of step-based saves (get_remove_step_no): it keeps
    ceil((n + 1) / save_every_n_steps) files, and means nothing without step-based saving."""
    cfg = res.config
    sc = cfg.schedule

    def bad(key, why):
        res.unmapped.append(Unmapped(key, flat[key], why))

    n_ep = n_st = None
    if not _empty(flat.get("save_last_n_epochs")):
        try:
            n_ep = _to_int(flat["save_last_n_epochs"])
        except _Bad as e:
            bad("save_last_n_epochs", str(e))
    if not _empty(flat.get("save_last_n_steps")):
        try:
            n_st = _to_int(flat["save_last_n_steps"])
        except _Bad as e:
            bad("save_last_n_steps", str(e))
    if n_ep is not None:
        if n_ep <= 0:
            bad("save_last_n_epochs", "0: keep every file (the kohya_ss GUI's meaning of 0)")
        elif not sc.save_every_n_epochs:
            bad("save_last_n_epochs", "no effect without save_every_n_epochs (nothing carried over)")
        else:
            sc.keep_last = n_ep
    if n_st is not None:
        if n_st <= 0 or not sc.save_every_n_steps:
            bad("save_last_n_steps", "only concerns step-based saves (save_every_n_steps), off here; "
                                     "nothing carried over")
        elif n_ep is None or n_ep <= 0:
            sc.keep_last = math.ceil((n_st + 1) / sc.save_every_n_steps)
            res.notes.append(f"save_last_n_steps = {n_st} with saves every {sc.save_every_n_steps} steps keeps "
                             f"{sc.keep_last} files: schedule.keep_last = {sc.keep_last}")
        elif math.ceil((n_st + 1) / sc.save_every_n_steps) != sc.keep_last:
            bad("save_last_n_steps", f"keeps a different number of step files than save_last_n_epochs keeps epoch "
                                     f"files; loratui keeps one number ({sc.keep_last}); not carried over")


def _find(p: str, base_dir: str) -> str | None:
    p = os.path.expanduser(p)
    for cand in ([p] if os.path.isabs(p) else [os.path.join(base_dir, p), os.path.abspath(p)]):
        if os.path.isfile(cand):
            return cand
    return None


def _read_prompts(path: str, res: ImportResult) -> list[str] | None:
    if path.endswith((".toml", ".json")):
        res.unmapped.append(Unmapped("sample_prompts", path, "TOML/JSON prompt files are not imported; use a .txt"))
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            return [ln.strip() for ln in fh if ln.strip() and not ln.strip().startswith("#")]
    except (OSError, UnicodeDecodeError) as e:
        res.unmapped.append(Unmapped("sample_prompts", path, f"cannot read: {e}"))
        return None


def _read_toml(path: str) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as e:
        raise ConfigError([f"cannot read ({e.strerror or e})"], path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError([f"not valid TOML: {e}"], path) from None


def _flatten(data: dict, path: str, res: ImportResult) -> dict:
    """sd-scripts flattens every section into one namespace; so do we (first occurrence wins)."""
    flat: dict = {}
    for k, v in data.items():
        if isinstance(v, dict):
            for k2, v2 in v.items():
                if isinstance(v2, dict):
                    res.unmapped.append(Unmapped(f"{k}.{k2}", v2, "nested table; sd-scripts ignores it"))
                elif k2 in flat:
                    res.notes.append(f"{path}: `{k2}` appears twice; the first value is used")
                else:
                    flat[k2] = v2
        elif k in flat:
            res.notes.append(f"{path}: `{k}` appears twice; the first value is used")
        else:
            flat[k] = v
    return flat


# sd-scripts' dataset-config schema (library/config_util.py): options of a dataset, shared by its
# subsets, allowed in [general] and [[datasets]]; options of a subset, allowed at every level. A
# value is taken from the lowest level that sets it: subset, then dataset, then general.
DATASET_OPTIONS = {"resolution", "batch_size", "enable_bucket", "min_bucket_reso", "max_bucket_reso",
                   "bucket_reso_steps", "bucket_no_upscale", "network_multiplier", "skip_image_resolution",
                   "validation_split"}
_SUBSET_KEYS = {"image_dir", "num_repeats", "caption_extension", "class_tokens", "is_reg", "keep_tokens",
                "keep_tokens_separator", "shuffle_caption", "caption_prefix", "caption_suffix",
                "caption_dropout_rate", "caption_dropout_every_n_epochs", "caption_tag_dropout_rate",
                "flip_aug", "color_aug", "random_crop", "face_crop_aug_range", "token_warmup_min",
                "token_warmup_step", "secondary_separator", "enable_wildcard", "recursive", "metadata_file",
                "alpha_mask", "cache_info", "conditioning_data_dir", "caption_separator", "resize_interpolation"}
_SUBSET_ONLY = {"image_dir", "class_tokens", "is_reg", "metadata_file", "conditioning_data_dir"}
_SHARED = {"caption_extension", "num_repeats", "alpha_mask"} | set(SUBSET_OVERRIDES)
"""Subset options loratui models: per subset (caption options, repeats) or once (caption_extension)."""
_DATASET_PATHS = {"resolution": "dataset.resolution", "batch_size": "optim.batch_size",
                  "enable_bucket": "dataset.enable_bucket", "min_bucket_reso": "dataset.min_bucket_reso",
                  "max_bucket_reso": "dataset.max_bucket_reso", "bucket_reso_steps": "dataset.bucket_reso_steps",
                  "bucket_no_upscale": "dataset.bucket_no_upscale", "validation_split": "dataset.validation_split"}


def _convert(key: str, value):
    """A dataset-config value in loratui's type (raises _Bad)."""
    if key == "num_repeats":
        return _to_int(value)
    return SIMPLE[key][1](value)


def _apply_dataset_config(data: dict, path: str, res: ImportResult) -> None:
    cfg = res.config
    base_dir = os.path.dirname(os.path.abspath(path))
    allowed_top = {"general", "datasets"}
    for k in data:
        if k not in allowed_top:
            res.unmapped.append(Unmapped(k, data[k], f"{os.path.basename(path)}: unknown top-level key "
                                                      "(sd-scripts would reject it)"))
    general = data.get("general") or {}
    datasets = data.get("datasets") or []
    if not isinstance(general, dict) or not isinstance(datasets, list):
        raise ConfigError(["`general` must be a table and `datasets` an array of tables"], path)
    for di, ds in enumerate(datasets):
        if not isinstance(ds, dict):
            raise ConfigError([f"datasets[{di}]: expected a table"], path)

    def bad(where: str, key: str, value, why: str) -> None:
        res.unmapped.append(Unmapped(f"{where}.{key}" if where else key, value, why))

    def level_value(levels: list[tuple[str, dict]], key: str):
        """(where, converted value) from the lowest level setting ``key``; None when none does."""
        for where, d in levels:
            if key in d and not _empty(d[key]):
                try:
                    return where, _convert(key, d[key])
                except _Bad as e:
                    bad(where, key, d[key], f"{e}; not applied")
        return None

    # [general]: training arguments sd-scripts also accepts there, then dataset/subset defaults
    extra = {k: v for k, v in general.items() if k not in DATASET_OPTIONS and k not in _SUBSET_KEYS}
    _apply_flat({k: v for k, v in extra.items() if k in SIMPLE or k in SPECIAL}, res, path, base_dir)
    for k, v in extra.items():
        if not (k in SIMPLE or k in SPECIAL or k in AUTOMATIC):
            bad("general", k, v, "no equivalent in loratui")
    # alpha_mask: loratui has one switch for the whole dataset; any level turning it on turns it on
    for where, d in [("general", general)] + [(f"datasets[{di}]", ds) for di, ds in enumerate(datasets)] + [
            (f"datasets[{di}].subsets[{si}]", sub) for di, ds in enumerate(datasets)
            for si, sub in enumerate(ds.get("subsets") or []) if isinstance(sub, dict)]:
        if "alpha_mask" in d and not _empty(d["alpha_mask"]):
            try:
                if _to_bool(d["alpha_mask"]):
                    cfg.dataset.alpha_mask = True
            except _Bad as e:
                bad(where, "alpha_mask", d["alpha_mask"], f"{e}; not applied")
    for k in SUBSET_OVERRIDES:  # loratui's dataset-wide caption options are the general ones
        got = level_value([("general", general)], k)
        if got:
            _set(cfg, f"dataset.{k}", got[1])
    # options of a dataset: loratui has one set, the first dataset's; others must agree
    chosen: dict[str, object] = {}
    for di, ds in enumerate(datasets or [{}]):
        levels = [(f"datasets[{di}]", ds), ("general", general)]
        names = ", ".join(str(s.get("image_dir")) for s in (ds.get("subsets") or []) if isinstance(s, dict))
        for k in sorted(DATASET_OPTIONS):
            if k not in _DATASET_PATHS:
                for where, d in levels:
                    if k in d and not (k == "network_multiplier" and d[k] in (1, 1.0, "1", "1.0")) \
                            and not _empty(d[k]):
                        bad(where, k, d[k], "no equivalent in loratui; not carried over")
                        break
                continue
            got = level_value(levels, k)
            if di == 0:
                if got:
                    _set(cfg, _DATASET_PATHS[k], got[1])
                chosen[k] = _get(cfg, _DATASET_PATHS[k])
            elif (got[1] if got else _get(kohya_defaults(), _DATASET_PATHS[k])) != chosen[k]:
                value = got[1] if got else "sd-scripts' default"
                bad(got[0] if got else f"datasets[{di}]", k, value,
                    f"not carried over: loratui uses one {k} for every subset, the first dataset's "
                    f"({chosen[k]}); this dataset's subsets ({names or 'none'}) would train with it")
        for k, v in ds.items():
            if k == "subsets" or k in DATASET_OPTIONS or k in _SHARED:
                continue
            if k == "caption_prefix" and v == general.get("caption_prefix"):
                continue
            if k in _SUBSET_KEYS:
                bad(f"datasets[{di}]", k, v, "no equivalent in loratui" if k != "caption_prefix" else
                    "a caption_prefix for some subsets only: loratui has one, for every subset ([general])")
            else:
                bad(f"datasets[{di}]", k, v, "unknown dataset key (sd-scripts would reject it)")
    for k, v in general.items():
        if k == "caption_prefix" and not _empty(v):
            try:
                # loratui's is dataset-wide, as [general]'s; sd-scripts' trailing comma is only a separator
                cfg.dataset.caption_prefix = _to_str(v).strip().rstrip(",").strip()
            except _Bad as e:
                bad("general", k, v, f"{e}; not applied")
        elif k in _SUBSET_KEYS and k not in _SHARED:
            bad("general", k, v, "no equivalent in loratui")
    # subsets: every option from the lowest level that sets it
    subsets: list[SubsetConfig] = []
    caption_ext: tuple[str, str] | None = None
    for di, ds in enumerate(datasets):
        for si, s in enumerate(ds.get("subsets") or []):
            where = f"datasets[{di}].subsets[{si}]"
            if not isinstance(s, dict) or _empty(s.get("image_dir")):
                raise ConfigError([f"{where}: `image_dir` is required"], path)
            levels = [(where, s), (f"datasets[{di}]", ds), ("general", general)]
            try:
                is_reg = _to_bool(s.get("is_reg", False))
            except _Bad as e:
                raise ConfigError([f"{where}: {e}"], path) from None
            reps = level_value(levels, "num_repeats")
            d = os.path.expanduser(str(s["image_dir"]))
            sub = SubsetConfig(d, max(1, reps[1]) if reps else 1, str(s.get("class_tokens") or ""), is_reg)
            subsets.append(sub)
            for k in SUBSET_OVERRIDES:
                got = level_value(levels[:2], k)  # from [general]: already the dataset-wide value
                if got:
                    setattr(sub, k, got[1])
            ext = level_value(levels, "caption_extension")
            ext_v = ext[1] if ext else ".caption"
            if caption_ext is None:
                caption_ext = (ext_v, where)
                cfg.dataset.caption_extension = ext_v
            elif ext_v != caption_ext[0]:
                bad(ext[0] if ext else where, "caption_extension", ext_v,
                    f"not carried over: loratui reads one caption extension for every subset "
                    f"({caption_ext[0]!r}, from {caption_ext[1]})")
            for k, v in s.items():
                if k in ("image_dir", "class_tokens", "is_reg") or k in _SHARED:
                    continue
                if k in DATASET_OPTIONS:
                    bad(where, k, v, "a dataset option, not a subset one (sd-scripts would reject it)")
                elif k == "metadata_file":
                    bad(where, k, v, "fine-tuning subsets (captions from a metadata file) are not supported; "
                                     "not carried over: loratui reads this folder's caption files instead")
                elif k == "caption_prefix" and v == general.get("caption_prefix"):
                    continue
                elif k in _SUBSET_KEYS:
                    bad(where, k, v, "no equivalent in loratui" if k != "caption_prefix" else
                        "a caption_prefix for some subsets only: loratui has one, for every subset ([general])")
                else:
                    bad(where, k, v, "unknown subset key (sd-scripts would reject it)")
    if subsets:
        _set_subsets(cfg, subsets, base_dir)


def _set_subsets(cfg: TrainConfig, subsets: list[SubsetConfig], base_dir: str) -> None:
    """Store subsets relative to their common parent folder (the usual ``train_data_dir``)."""
    absd = [os.path.normpath(s.image_dir if os.path.isabs(s.image_dir) else os.path.join(base_dir, s.image_dir))
            for s in subsets]
    train = [a for a, s in zip(absd, subsets) if not s.is_reg] or absd
    parents = {os.path.dirname(a) for a in train}
    root = parents.pop() if len(parents) == 1 else os.path.commonpath(train)
    cfg.dataset.root = root
    cfg.dataset.subsets = [dataclasses.replace(s, image_dir=os.path.relpath(a, root)
                                               if a.startswith(root + os.sep) or a == root else a)
                           for a, s in zip(absd, subsets)]


def _subsets_from_dir(d: str, is_reg: bool, res: ImportResult, key: str) -> list[SubsetConfig]:
    from .presets import _SUBSET_RE

    out: list = []
    try:
        names = sorted(e.name for e in os.scandir(d) if e.is_dir() and not e.name.startswith("."))
    except OSError as e:
        res.unmapped.append(Unmapped(key, d, f"folder cannot be listed ({e.strerror or e}); no subsets imported"))
        return out
    for name in names:
        m = _SUBSET_RE.match(name)
        if m:
            out.append(SubsetConfig(os.path.join(d, name), max(1, int(m.group(1))), m.group(2).strip(), is_reg))
        else:
            res.notes.append(f"{key}: folder `{name}` has no <repeats>_ prefix; sd-scripts skips it")
    return out


def import_kohya(path: str, dataset_config: str | None = None) -> ImportResult:
    """Import an sd-scripts training-args TOML (following its ``dataset_config``) or a dataset-config
    TOML alone. Raises ConfigError for unreadable files."""
    data = _read_toml(path)
    res = ImportResult(kohya_defaults(), sources=[path])
    base_dir = os.path.dirname(os.path.abspath(path))
    res.config.base_dir = base_dir
    if "datasets" in data or "general" in data and not any(isinstance(v, dict) and k != "general"
                                                            for k, v in data.items()):
        _apply_dataset_config(data, path, res)
        _finish(res, {})
        return res
    flat = _flatten(data, path, res)
    _loratui_comments(path, res)
    _apply_flat(flat, res, path, base_dir)
    ds_path = dataset_config or (None if _empty(flat.get("dataset_config")) else str(flat["dataset_config"]))
    if ds_path:
        found = _find(ds_path, base_dir)
        if not found:
            raise ConfigError([f"dataset_config: {ds_path} not found"], path)
        _apply_dataset_config(_read_toml(found), found, res)
        res.sources.append(found)
        for k in ("train_data_dir", "reg_data_dir"):
            if not _empty(flat.get(k)):
                res.unmapped.append(Unmapped(k, flat[k], "ignored because dataset_config is given (as sd-scripts does)"))
    else:
        subsets = []
        for key, is_reg in (("train_data_dir", False), ("reg_data_dir", True)):
            if not _empty(flat.get(key)):
                d = os.path.expanduser(str(flat[key]))
                d = d if os.path.isabs(d) else os.path.join(base_dir, d)
                subsets += _subsets_from_dir(os.path.normpath(d), is_reg, res, key)
        if subsets:
            _set_subsets(res.config, subsets, base_dir)
        if not _empty(flat.get("train_data_dir")):
            res.config.dataset.root = os.path.normpath(os.path.join(base_dir, os.path.expanduser(str(flat["train_data_dir"]))))
            root = res.config.dataset.root
            res.config.dataset.subsets = [
                dataclasses.replace(s, image_dir=os.path.relpath(s.image_dir, root)
                                    if s.image_dir.startswith(root + os.sep) else s.image_dir) for s in subsets]
    _finish(res, flat)
    return res


def _is_sdxl(flat: dict, te2, res: ImportResult, base_dir: str, bad) -> bool:
    """sd-scripts' args do not say SDXL (the script's name does): kohya_ss's ``sdxl`` flag, two
    text-encoder learning rates, or a local base model whose files are SDXL's."""
    if not _empty(flat.get("sdxl")):
        try:
            if _to_bool(flat["sdxl"]):
                return True
        except _Bad as e:
            bad("sdxl", flat["sdxl"], str(e))
    if te2 is not None:
        res.notes.append("two text_encoder_lr values: an SDXL run (model.family = sdxl)")
        return True
    model = flat.get("pretrained_model_name_or_path")
    if isinstance(model, str) and model.strip():
        from .base_model import detect_base_model

        path = os.path.join(base_dir, os.path.expanduser(model.strip()))
        if os.path.exists(path):
            info = detect_base_model(path)
            if info.family == "sdxl":
                res.notes.append(f"model.family = sdxl: {info.describe()}")
                return True
    return False


def _loratui_comments(path: str, res: ImportResult) -> None:
    """Apply the ``# loratui: ...`` comments written by ``export_kohya`` (other tools ignore them)."""
    try:
        with open(path, encoding="utf-8") as fh:
            head = [ln for ln in fh.read(1 << 16).splitlines() if ln.startswith("# loratui: ")]
    except (OSError, UnicodeDecodeError):
        return
    for line in head:
        key, _, value = line[len("# loratui: "):].partition(" = ")
        if key == "model.family" and value.strip() in ("sd1", "sd2", "sd2-v", "sdxl"):
            res.config.model.family = value.strip()
        elif key == "extra":
            try:
                extra = json.loads(value)
            except ValueError:
                continue
            if not isinstance(extra, dict):
                continue
            for p, v in extra.items():
                if p not in NOT_EXPRESSIBLE and p != "schedule.epochs":
                    continue
                sec, _, name = p.rpartition(".")
                owner = _get(res.config, sec) if sec else res.config
                tp = typing.get_type_hints(type(owner))[name]
                problems: list[str] = []
                cv = convert_value(tp, v, p, problems)
                if not problems:
                    setattr(owner, name, cv)
            res.notes.append("restored loratui-only settings (concept, trigger words, ...) from the file's comment")


def _finish(res: ImportResult, flat: dict) -> None:
    c = res.config
    if c.schedule.max_steps and c.schedule.max_steps == 1600 and _empty(flat.get("max_train_steps")) \
            and _empty(flat.get("max_train_epochs")):
        res.notes.append("no max_train_epochs/max_train_steps: sd-scripts' default of 1600 steps assumed")
    if _empty(flat.get("seed")):
        res.notes.append("no seed: 42 used (sd-scripts would pick a random one)")
    if c.concept == "other":
        res.notes.append("concept set to `other`: set it (character/style/...) to get the matching warnings")
