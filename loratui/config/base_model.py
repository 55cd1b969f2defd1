"""What a base model is, read from its files without loading it (pure Python: JSON and a safetensors
header only): its family, and whether it says it is a v-prediction / zero-terminal-SNR model.

- single ``.safetensors`` checkpoint (SGM / LDM tensor names): ``conditioner.embedders.1.*`` (the
  second text encoder) or ``model.diffusion_model.label_emb.*`` (the text-time embedding) is SDXL;
  ``cond_stage_model.model.transformer.*`` (OpenCLIP) is SD 2.x; ``cond_stage_model.transformer.*``
  (CLIP) is SD 1.x. NoobAI-XL v-pred ships the marker tensors ``v_pred`` and ``ztsnr``.
- diffusers folder: ``text_encoder_2/`` or a text-time UNet config is SDXL; a 1024-wide cross
  attention is SD 2.x; ``scheduler/scheduler_config.json``'s ``prediction_type`` tells v-prediction.

The engine (``loratui.train.models``) refuses a family that contradicts the files at launch; this
module is what ``config new --base`` and ``config check`` use before that, and it never raises:
an unreadable or unknown file is "cannot tell" (``family`` None) with the reason.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from loratui.lora.header import LoraFileError, read_header

MAX_JSON = 1 << 20


@dataclass(frozen=True)
class BaseModelInfo:
    family: str | None
    """sd1 | sd2 | sdxl, None: cannot tell"""
    v_prediction: bool | None = None
    """True/False when the files say so, None when they do not"""
    zero_terminal_snr: bool | None = None
    why: str = ""

    def describe(self) -> str:
        if self.family is None:
            return f"family unknown ({self.why})"
        pred = " v-prediction" if self.v_prediction else ""
        zt = " + zero-terminal SNR" if self.zero_terminal_snr else ""
        return f"{self.family}{pred}{zt} ({self.why})"


def _json(path: str) -> dict | None:
    try:
        if os.path.getsize(path) > MAX_JSON:
            return None
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    return d if isinstance(d, dict) else None


def _checkpoint(path: str) -> BaseModelInfo:
    try:
        h = read_header(path)
    except LoraFileError as e:
        return BaseModelInfo(None, why=str(e))
    names = h.tensors
    v = True if "v_pred" in names else None
    zt = True if "ztsnr" in names else None
    if any(k.startswith(("conditioner.embedders.1.", "model.diffusion_model.label_emb.")) for k in names):
        return BaseModelInfo("sdxl", v, zt, "two text encoders in the checkpoint" +
                             (", v_pred key" if v else "") + (", ztsnr key" if zt else ""))
    if any(k.startswith("cond_stage_model.model.transformer.") for k in names):
        return BaseModelInfo("sd2", v, zt, "OpenCLIP text encoder in the checkpoint")
    if any(k.startswith("cond_stage_model.transformer.") for k in names):
        return BaseModelInfo("sd1", v, zt, "CLIP text encoder in the checkpoint")
    return BaseModelInfo(None, v, zt, "no known text-encoder tensor names in the checkpoint")


def _folder(path: str) -> BaseModelInfo:
    unet = _json(os.path.join(path, "unet", "config.json"))
    if unet is None:
        return BaseModelInfo(None, why="not a diffusers model folder (no readable unet/config.json)")
    sched = _json(os.path.join(path, "scheduler", "scheduler_config.json")) or {}
    pred = sched.get("prediction_type")
    v = True if pred == "v_prediction" else False if pred == "epsilon" else None
    zt = True if sched.get("rescale_betas_zero_snr") is True else None
    if os.path.isdir(os.path.join(path, "text_encoder_2")) or unet.get("addition_embed_type") == "text_time":
        return BaseModelInfo("sdxl", v, zt, "two text encoders (text_encoder_2)")
    if unet.get("cross_attention_dim") == 1024:
        return BaseModelInfo("sd2", v, zt, "1024-wide cross attention (OpenCLIP)")
    if unet.get("cross_attention_dim") == 768:
        return BaseModelInfo("sd1", v, zt, "768-wide cross attention (CLIP)")
    return BaseModelInfo(None, v, zt, f"unfamiliar UNet (cross_attention_dim {unet.get('cross_attention_dim')!r})")


def detect_base_model(path: str) -> BaseModelInfo:
    if not path:
        return BaseModelInfo(None, why="no base model given")
    path = os.path.expanduser(path)
    if os.path.isdir(path):
        return _folder(path)
    if not os.path.isfile(path):
        return BaseModelInfo(None, why="file not found")
    if os.path.splitext(path)[1].lower() != ".safetensors":
        return BaseModelInfo(None, why="only .safetensors checkpoints can be read without loading them")
    return _checkpoint(path)


def config_family(info: BaseModelInfo) -> str | None:
    """The ``model.family`` value for what was detected (SD 2.x with v-prediction is sd2-v)."""
    if info.family == "sd2" and info.v_prediction:
        return "sd2-v"
    return info.family
