"""Import sd-scripts TOMLs: a training-args file (any section names, following ``dataset_config``,
or scanning ``train_data_dir``) or a dataset config alone. Every key without an equivalent is
reported in ``ImportResult.unmapped``, never dropped silently."""

from __future__ import annotations

import json
import math
import dataclasses
import os
import tomllib
import typing

from .kohya_values import (
    AUTOMATIC, NOT_EXPRESSIBLE, ImportResult, Unmapped, _Bad, _empty, _get, _set, _to_bool, _to_float, _to_int,
    _to_list, _to_res, _to_str,
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
SPECIAL = {"learning_rate", "unet_lr", "text_encoder_lr", "optimizer_type", "lr_scheduler", "lr_warmup_steps",
           "v2", "v_parameterization", "network_module", "network_args", "network_train_unet_only",
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
    # learning rates: unet/te fall back to learning_rate
    for k in ("learning_rate", "unet_lr", "text_encoder_lr"):
        if not _empty(flat.get(k)):
            try:
                lr[k] = _to_float(flat[k])
            except _Bad as e:
                bad(k, flat[k], f"{e}; not applied")
    base = lr.get("learning_rate")
    unet = lr.get("unet_lr") or base
    te = lr.get("text_encoder_lr") or base
    if unet:
        cfg.optim.unet_lr = unet
    if te:
        cfg.optim.text_encoder_lr = te
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
    if "v2" in flat or "v_parameterization" in flat:
        try:
            v2 = _to_bool(flat.get("v2", False))
            vp = _to_bool(flat.get("v_parameterization", False))
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
    if not _empty(mod) and str(mod) not in ("networks.lora", "lycoris.kohya"):
        bad("network_module", mod, "only networks.lora (LoRA, LoCon) can be imported; LoRA assumed")
    algo = str(net_args.pop("algo", "locon" if mod == "lycoris.kohya" else "lora")).lower()
    if algo not in ("lora", "locon"):
        bad("network_args", f"algo={algo}", "only LoRA and LoCon can be trained; LoRA assumed")
    if "conv_dim" in net_args:
        try:
            cfg.network.conv_dim = _to_int(net_args.pop("conv_dim"))
            cfg.network.type = "locon"
            cfg.network.conv_alpha = _to_float(net_args.pop("conv_alpha", 1))
        except _Bad as e:
            bad("network_args", "conv_dim/conv_alpha", str(e))
    elif algo == "locon" and mod == "lycoris.kohya":
        cfg.network.type = "locon"
    net_args.pop("conv_alpha", None)
    for k, v in net_args.items():
        bad("network_args", f"{k}={v}", "no equivalent in loratui")
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
    if "max_train_epochs" in flat and not _empty(flat["max_train_epochs"]) and _empty(flat.get("max_train_steps")):
        cfg.schedule.max_steps = 0  # sd-scripts: epochs override steps
    for key, every in (("save_last_n_epochs", cfg.schedule.save_every_n_epochs),
                       ("save_last_n_steps", cfg.schedule.save_every_n_steps)):
        if not _empty(flat.get(key)):
            try:
                n = _to_int(flat[key])
                cfg.schedule.keep_last = max(1, math.ceil(n / max(1, every)))
            except _Bad as e:
                bad(key, flat[key], str(e))
    sp = flat.get("sample_prompts")
    if not _empty(sp):
        sp = str(sp)
        path = _find(sp, base_dir)
        if path:
            prompts = _read_prompts(path, res)
            if prompts is not None:
                cfg.schedule.sample_prompts = prompts
                res.sources.append(path)
        elif "\n" in sp or " --" in sp or not sp.endswith((".txt", ".toml", ".json")):
            # the GUI stores the prompts themselves
            cfg.schedule.sample_prompts = [ln.strip() for ln in sp.splitlines()
                                           if ln.strip() and not ln.strip().startswith("#")]
        else:
            bad("sample_prompts", sp, "prompt file not found; prompts not imported")


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


_DATASET_KEYS = {"resolution", "batch_size", "enable_bucket", "min_bucket_reso", "max_bucket_reso",
                 "bucket_reso_steps", "bucket_no_upscale", "network_multiplier"}
_SUBSET_KEYS = {"image_dir", "num_repeats", "caption_extension", "class_tokens", "is_reg", "keep_tokens",
                "keep_tokens_separator", "shuffle_caption", "caption_prefix", "caption_suffix",
                "caption_dropout_rate", "caption_dropout_every_n_epochs", "caption_tag_dropout_rate",
                "flip_aug", "color_aug", "random_crop", "face_crop_aug_range", "token_warmup_min",
                "token_warmup_step", "secondary_separator", "enable_wildcard", "recursive", "metadata_file",
                "alpha_mask", "cache_info", "conditioning_data_dir"}


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
    if len(datasets) > 1:
        res.notes.append(f"{path}: {len(datasets)} datasets; their subsets are merged and the first "
                         "dataset's resolution/bucket settings are used")
    gflat = {k: v for k, v in general.items()}
    _apply_flat({k: v for k, v in gflat.items() if k in SIMPLE or k in SPECIAL or k in _DATASET_KEYS}, res, path,
                base_dir)
    for k, v in gflat.items():
        if not (k in SIMPLE or k in SPECIAL or k in _DATASET_KEYS or k in AUTOMATIC):
            res.unmapped.append(Unmapped(f"general.{k}", v, "no equivalent in loratui"))
    subsets: list[SubsetConfig] = []
    first_sub_values: dict[str, object] = {}
    for di, ds in enumerate(datasets):
        if not isinstance(ds, dict):
            raise ConfigError([f"datasets[{di}]: expected a table"], path)
        dflat = {k: v for k, v in ds.items() if k != "subsets"}
        if di == 0:
            sub = ImportResult(cfg)
            _apply_flat({k: v for k, v in dflat.items() if k in SIMPLE}, sub, path, base_dir)
            res.unmapped += [Unmapped(f"datasets[0].{u.key}", u.value, u.reason) for u in sub.unmapped]
        for k, v in dflat.items():
            if k not in SIMPLE and k not in _DATASET_KEYS:
                res.unmapped.append(Unmapped(f"datasets[{di}].{k}", v, "no equivalent in loratui"))
        for si, s in enumerate(ds.get("subsets") or []):
            where = f"datasets[{di}].subsets[{si}]"
            if not isinstance(s, dict) or _empty(s.get("image_dir")):
                raise ConfigError([f"{where}: `image_dir` is required"], path)
            try:
                reps = _to_int(s.get("num_repeats", 1))
                is_reg = _to_bool(s.get("is_reg", False))
            except _Bad as e:
                raise ConfigError([f"{where}: {e}"], path) from None
            d = os.path.expanduser(str(s["image_dir"]))
            sub = SubsetConfig(d, max(1, reps), str(s.get("class_tokens") or ""), is_reg)
            subsets.append(sub)
            for k, v in s.items():
                if k in ("image_dir", "num_repeats", "class_tokens", "is_reg"):
                    continue
                if k in SUBSET_OVERRIDES:
                    try:
                        setattr(sub, k, SIMPLE[k][1](v))  # kept on the subset itself
                    except _Bad as e:
                        res.unmapped.append(Unmapped(f"{where}.{k}", v, str(e)))
                elif k in SIMPLE and SIMPLE[k][0].startswith("dataset."):
                    # per-subset caption settings: loratui has one value for all subsets
                    if k not in first_sub_values:
                        first_sub_values[k] = v
                        one = ImportResult(cfg)
                        _apply_flat({k: v}, one, path, base_dir)
                        res.unmapped += [Unmapped(f"{where}.{u.key}", u.value, u.reason) for u in one.unmapped]
                    elif first_sub_values[k] != v:
                        res.unmapped.append(Unmapped(f"{where}.{k}", v, "differs from another subset; loratui "
                                                     f"uses one value for all subsets ({first_sub_values[k]!r})"))
                elif k in _SUBSET_KEYS:
                    res.unmapped.append(Unmapped(f"{where}.{k}", v, "no equivalent in loratui"))
                else:
                    res.unmapped.append(Unmapped(f"{where}.{k}", v, "unknown subset key (sd-scripts would reject it)"))
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

    out = []
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
                if p not in NOT_EXPRESSIBLE:
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
