"""Validation: errors that stop a run, and warnings that teach the community's rules of thumb."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import typing
from dataclasses import dataclass

from .model import TrainConfig

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    level: str
    """``error`` (the run cannot start) or ``warning`` (it can, but probably should not as is)."""
    path: str
    """Field path, e.g. ``optim.unet_lr`` or ``dataset.subsets[0].repeats``."""
    message: str
    value: typing.Any = None
    allowed: str = ""
    """What is allowed, e.g. ``> 0`` or ``one of: lora, locon``."""
    hint: str = ""
    """What to do about it."""

    @property
    def is_error(self) -> bool:
        return self.level == ERROR

    def __str__(self) -> str:
        s = f"{self.level}: {self.path}"
        if self.value is not None and self.value != "":
            s += f" = {self.value!r}"
        s += f": {self.message}"
        if self.allowed:
            s += f" (allowed: {self.allowed})"
        if self.hint:
            s += f"; {self.hint}"
        return s

    def to_dict(self) -> dict:
        return {"level": self.level, "path": self.path, "message": self.message, "value": self.value,
                "allowed": self.allowed, "hint": self.hint}


# Rough upper bounds for a LoRA learning rate per optimizer; above them training usually "burns".
LR_HIGH = {"AdamW": 1e-3, "AdamW8bit": 1e-3, "Lion": 3e-4, "Adafactor": 1e-3}


def check_field(section_obj, name: str, path: str) -> list[Finding]:
    """Bounds and choices from the field's metadata (used by the form for inline checks too)."""
    f = next(f for f in dataclasses.fields(section_obj) if f.name == name)
    v = getattr(section_obj, name)
    meta = f.metadata
    out: list[Finding] = []
    if "choices" in meta and v not in meta["choices"]:
        out.append(Finding(ERROR, path, "not a known value", v, "one of: " + ", ".join(meta["choices"])))
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if isinstance(v, float) and not math.isfinite(v):
            out.append(Finding(ERROR, path, "not a finite number", v))
        elif "min_exclusive" in meta and not v > meta["min_exclusive"]:
            out.append(Finding(ERROR, path, "too small", v, f"> {meta['min_exclusive']:g}"))
        elif "min" in meta and v < meta["min"]:
            out.append(Finding(ERROR, path, "too small", v, _range(meta)))
        elif "max" in meta and v > meta["max"]:
            out.append(Finding(ERROR, path, "too large", v, _range(meta)))
    return out


def _range(meta) -> str:
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and hi is not None:
        return f"{lo:g} to {hi:g}"
    return f">= {lo:g}" if lo is not None else f"<= {hi:g}"


def count_images(cfg: TrainConfig) -> list[int | None]:
    """Training images in each subset folder (``loratui.dataset.training_images``: what the worker
    trains on), None for a folder that cannot be listed. Reads image headers (remembered in memory)."""
    from .stepmath import survey

    return [None if fi.error else fi.count for fi in survey(cfg)]


def validate(cfg: TrainConfig, image_counts: list[int | None] | None = None,
             check_files: bool = True) -> list[Finding]:
    """All findings, errors first. ``image_counts`` (one per subset) avoids listing folders again;
    ``check_files=False`` skips every filesystem check (for configs meant for another machine)."""
    out: list[Finding] = []
    for sec in ("model", "dataset", "network", "optim", "schedule", "output", "hardware"):
        obj = getattr(cfg, sec)
        for f in dataclasses.fields(obj):
            if f.name != "subsets":
                out += check_field(obj, f.name, f"{sec}.{f.name}")
    out += check_field(cfg, "concept", "concept")
    for i, s in enumerate(cfg.dataset.subsets):
        for f in dataclasses.fields(s):
            out += check_field(s, f.name, f"dataset.subsets[{i}].{f.name}")
    out += _structure(cfg)
    from .validate_network import network_findings, network_teaching

    out += network_findings(cfg)
    if check_files:
        out += _files(cfg, image_counts)
    out += _teaching(cfg)
    from .validate_family import base_model_findings, family_findings

    out += family_findings(cfg)
    if check_files:
        out += base_model_findings(cfg)
    out += network_teaching(cfg)
    out.sort(key=lambda f: f.level != ERROR)
    return out


def _structure(cfg: TrainConfig) -> list[Finding]:
    out: list[Finding] = []
    d, n, o, sc = cfg.dataset, cfg.network, cfg.optim, cfg.schedule
    if not cfg.model.base:
        out.append(Finding(ERROR, "model.base", "no base model", "", "a diffusers folder or a .safetensors file",
                           "pick the pruned root model your LoRA should work across (e.g. SD 1.5 pruned)"))
    elif cfg.model.base.lower().endswith((".ckpt", ".pt", ".bin")):
        out.append(Finding(ERROR, "model.base", "pickled checkpoints can run code when loaded", cfg.model.base,
                           ".safetensors or a diffusers folder", "convert it to .safetensors first"))
    if not d.subsets:
        out.append(Finding(ERROR, "dataset.subsets", "no subsets", "", "at least one folder",
                           "point dataset.root at a folder holding <repeats>_<name> folders"))
    if len(d.resolution) not in (1, 2):
        out.append(Finding(ERROR, "dataset.resolution", "expected [width, height]", d.resolution, "[512, 512]"))
    else:
        for side in d.resolution:
            if side < 8 or side % 8:
                out.append(Finding(ERROR, "dataset.resolution", "each side must be a positive multiple of 8",
                                   d.resolution, "e.g. [512, 512], [512, 768], [1024, 1024]"))
                break
        fam_side = 1024 if cfg.model.family == "sdxl" else 768 if cfg.model.family == "sd2-v" else 512
        if max(d.resolution) < fam_side * 0.75:
            out.append(Finding(WARNING, "dataset.resolution", f"low for {cfg.model.family}", d.resolution, "",
                               f"{cfg.model.family} models were trained at {fam_side}px"))
    if d.min_bucket_reso > d.max_bucket_reso:
        out.append(Finding(ERROR, "dataset.min_bucket_reso", "larger than max_bucket_reso", d.min_bucket_reso,
                           f"<= {d.max_bucket_reso}"))
    if d.enable_bucket and d.resolution and max(d.resolution) > d.max_bucket_reso:
        out.append(Finding(ERROR, "dataset.max_bucket_reso", "smaller than the resolution", d.max_bucket_reso,
                           f">= {max(d.resolution)}"))
    if d.caption_extension and not d.caption_extension.startswith("."):
        out.append(Finding(ERROR, "dataset.caption_extension", "must start with a dot", d.caption_extension,
                           ".txt or .caption"))
    if not n.train_unet and not n.train_text_encoder:
        out.append(Finding(ERROR, "network.train_unet", "nothing to train", False, "",
                           "enable train_unet and/or train_text_encoder"))
    if o.warmup_steps and o.warmup_ratio:
        out.append(Finding(ERROR, "optim.warmup_ratio", "set warmup_steps or warmup_ratio, not both",
                           o.warmup_ratio, "", "set one of them to 0"))
    if o.scheduler == "constant" and (o.warmup_steps or o.warmup_ratio):
        # one meaning everywhere: `constant` has no warm-up (the trainer ignores it, and sd-scripts
        # refuses the pair: "CONSTANT does not require num_warmup_steps")
        out.append(Finding(ERROR, "optim.scheduler", "`constant` has no warm-up (sd-scripts refuses this pair)",
                           o.scheduler, "constant_with_warmup, or warm-up 0",
                           "use constant_with_warmup for a warm-up, or set warmup_steps/warmup_ratio to 0"))
    for i, a in enumerate(o.optimizer_args):
        if "=" not in a or not a.split("=", 1)[0].strip():
            out.append(Finding(ERROR, f"optim.optimizer_args[{i}]", "expected key=value", a, "e.g. weight_decay=0.01"))
    for i, p in enumerate(sc.sample_prompts):
        if not p.strip() or p.lstrip().startswith("--"):
            out.append(Finding(ERROR, f"schedule.sample_prompts[{i}]", "empty prompt", p,
                               "prompt --n negative --w 512 --h 768 --d 42 --s 28 --l 7"))
    for i, s in enumerate(sc.sample_strengths):
        if not (0 < s <= 2):
            out.append(Finding(ERROR, f"schedule.sample_strengths[{i}]", "out of range", s, "> 0 and <= 2"))
    out += _output_name(cfg.output.name)
    out += _sample_sizes(cfg)
    h = cfg.hardware
    if h.device not in ("auto", "cuda", "cpu", "mps") and not (h.device.startswith("cuda:") and h.device[5:].isdigit()):
        out.append(Finding(ERROR, "hardware.device", "not a known device", h.device, "auto, cuda, cuda:N, cpu, mps"))
    if h.gpu_ids and h.num_processes > len(h.gpu_ids):
        out.append(Finding(ERROR, "hardware.num_processes", "more processes than listed GPUs", h.num_processes,
                           f"<= {len(h.gpu_ids)}"))
    if any(g < 0 for g in h.gpu_ids):
        out.append(Finding(ERROR, "hardware.gpu_ids", "GPU indices are >= 0", h.gpu_ids))
    return out


MAX_OUTPUT_NAME = 100
"""Characters in output.name: the per-epoch files add ``-000010.safetensors`` and temporaries a
prefix, and file systems stop at 255 bytes."""


def _output_name(name: str) -> list[Finding]:
    from loratui.dataset.safe_paths import UnsafePath, check_component

    shown = name if len(name) <= 60 else name[:57] + "..."
    try:
        check_component(name, what="output name", max_len=MAX_OUTPUT_NAME)
    except UnsafePath as e:
        return [Finding(ERROR, "output.name", f"must be a plain file name: {e.reason}", shown,
                        f"letters, digits, - _ . and spaces, at most {MAX_OUTPUT_NAME} characters, no / or ..",
                        "e.g. mychar_v1")]
    if len(name.encode("utf-8", "surrogateescape")) > 2 * MAX_OUTPUT_NAME:
        return [Finding(ERROR, "output.name", "too long in bytes for a file name", shown,
                        f"at most {2 * MAX_OUTPUT_NAME} bytes of UTF-8")]
    return []


SAMPLE_OPT = re.compile(r"--([a-z]+)\s+(\S+)")


def _sample_sizes(cfg: TrainConfig) -> list[Finding]:
    """``--w``/``--h``/``--s`` of sample prompts within what the model can generate."""
    out: list[Finding] = []
    limit = 4096 if cfg.model.family == "sdxl" else 2048
    for i, p in enumerate(cfg.schedule.sample_prompts):
        for opt, raw in SAMPLE_OPT.findall(p):
            if opt not in ("w", "h", "s", "d"):
                continue
            try:
                v = int(raw)
            except ValueError:
                out.append(Finding(ERROR, f"schedule.sample_prompts[{i}]", f"--{opt} is not a whole number", raw))
                continue
            if opt in ("w", "h") and not (64 <= v <= limit and v % 8 == 0):
                out.append(Finding(ERROR, f"schedule.sample_prompts[{i}]", f"--{opt} {v} is not a size the model "
                                   "can generate", v, f"a multiple of 8 from 64 to {limit}"))
            elif opt == "s" and not 1 <= v <= 1000:
                out.append(Finding(ERROR, f"schedule.sample_prompts[{i}]", f"--s {v} sampling steps", v, "1 to 1000"))
            elif opt == "d" and not 0 <= v < 2**63:
                out.append(Finding(ERROR, f"schedule.sample_prompts[{i}]", f"--d {v} seed", v, "0 to 2**63-1"))
    return out


def launch_errors(cfg: TrainConfig) -> list[Finding]:
    """The errors that stop every launch (foreground, detached, queued, resumed, from the TUI).

    Files are not checked here (the worker reports a missing model with its own message); the
    dataset's health is the health check's business (``--ignore-check`` concerns only that)."""
    return [f for f in validate(cfg, check_files=False) if f.is_error]


def _files(cfg: TrainConfig, image_counts) -> list[Finding]:
    out: list[Finding] = []
    base = cfg.model.base
    if base and not os.path.exists(cfg.abspath(base)):
        out.append(Finding(ERROR, "model.base", "not found", base, "an existing file or folder"))
    if cfg.model.vae and not os.path.exists(cfg.abspath(cfg.model.vae)):
        out.append(Finding(ERROR, "model.vae", "not found", cfg.model.vae, "an existing file or folder, or empty"))
    if cfg.model.config_dir and not os.path.isdir(cfg.abspath(cfg.model.config_dir)):
        out.append(Finding(ERROR, "model.config_dir", "folder not found", cfg.model.config_dir,
                           "a diffusers config folder (model_index.json, unet/config.json, ...) or empty"))
    if cfg.dataset.root and not os.path.isdir(cfg.abspath(cfg.dataset.root)):
        out.append(Finding(ERROR, "dataset.root", "folder not found", cfg.dataset.root))
    counts = image_counts if image_counts is not None else count_images(cfg)
    total = 0
    for i, (s, c) in enumerate(zip(cfg.dataset.subsets, counts)):
        if c is None:
            out.append(Finding(ERROR, f"dataset.subsets[{i}].image_dir", "folder not found or unreadable",
                               s.image_dir))
        elif c == 0:
            out.append(Finding(ERROR, f"dataset.subsets[{i}].image_dir", "no training images (png, jpg, jpeg, webp, bmp that can be read)",
                               s.image_dir))
        if c and not s.is_reg:
            total += c
    if cfg.dataset.subsets and 0 < total < 20:
        out.append(Finding(WARNING, "dataset.subsets", f"only {total} training images", total, ">= 20",
                           "collect at least 20 varied images (close-ups, upper body, full body, angles)"))
    if os.path.exists(cfg.output_file()):
        out.append(Finding(WARNING, "output.name", "the output file exists and would be overwritten",
                           cfg.output.name, "", f"rename the output ({cfg.output_file()})"))
    return out


def _teaching(cfg: TrainConfig) -> list[Finding]:
    out: list[Finding] = []
    n, o, sc = cfg.network, cfg.optim, cfg.schedule
    held = cfg.dataset.validation_split > 0 or any(s.validation for s in cfg.dataset.subsets)
    if sc.validate_every_n_steps and not held:
        out.append(Finding(WARNING, "schedule.validate_every_n_steps", "nothing is held out to validate on",
                           sc.validate_every_n_steps, "", "set dataset.validation_split (e.g. 0.1) or mark a subset "
                           "as validation"))
    if o.ema and o.ema_decay < 0.9:
        out.append(Finding(WARNING, "optim.ema_decay", "very low: the average barely smooths", o.ema_decay,
                           "0.99 to 0.9999"))
    if cfg.output.save_raw_with_ema and not o.ema:
        out.append(Finding(WARNING, "output.save_raw_with_ema", "has no effect without optim.ema", True))
    if not sc.max_steps and not (8 <= sc.epochs <= 12):
        out.append(Finding(WARNING, "schedule.epochs", "outside the usual 8-12", sc.epochs, "8 to 12",
                           "aim for about 100 views per image: 10 repeats x 10 epochs"))
    te_lrs = ["text_encoder_lr"] + (["text_encoder2_lr"] if o.text_encoder2_lr is not None
                                    and cfg.model.family == "sdxl" else [])
    for name in te_lrs:
        v = getattr(o, name)
        if n.train_text_encoder and n.train_unet and v > o.unet_lr:
            out.append(Finding(WARNING, f"optim.{name}", "above the UNet learning rate", v,
                               f"<= {o.unet_lr:g}", "the text encoder overfits fast; half the UNet LR is usual"))
    if cfg.concept in ("character", "concept") and not cfg.output.trigger_words:
        out.append(Finding(WARNING, "output.trigger_words", f"no trigger word for a {cfg.concept}", [], "",
                           "add the word that activates it, and keep it first in every caption"))
    if n.alpha > n.dim:
        out.append(Finding(WARNING, "network.alpha", "alpha above dim amplifies updates", n.alpha, f"<= {n.dim}",
                           "alpha = dim/2 is the usual choice"))
    if n.type == "locon" and n.conv_alpha > n.conv_dim:
        out.append(Finding(WARNING, "network.conv_alpha", "conv_alpha above conv_dim", n.conv_alpha,
                           f"<= {n.conv_dim}"))
    if o.optimizer == "Prodigy":
        for name in ["unet_lr"] + te_lrs:
            v = getattr(o, name)
            if not (0.1 <= v <= 10):
                out.append(Finding(WARNING, f"optim.{name}", "Prodigy adapts the step size: its LR is a multiplier",
                                   v, "about 1.0", "set the learning rates to 1.0"))
    else:
        high = LR_HIGH.get(o.optimizer)
        for name in ["unet_lr"] + te_lrs:
            v = getattr(o, name)
            if high and v > high:
                out.append(Finding(WARNING, f"optim.{name}", f"unusually high for {o.optimizer}", v, f"<= {high:g}",
                                   "LoRA LRs are usually 5e-5 to 2e-4 (Lion: 3-10x lower)"))
    if cfg.concept == "character" and cfg.dataset.shuffle_caption and cfg.dataset.keep_tokens == 0:
        out.append(Finding(WARNING, "dataset.keep_tokens", "0 lets the trigger word be shuffled away", 0, ">= 1",
                           "keep_tokens 1 protects the first tag (the trigger word)"))
    return out
