"""Loading the base model (diffusers folder or single file) with one clear error naming the file."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import time
from dataclasses import dataclass

from .spec import TrainSpec

SINGLE_FILE_EXTS = (".safetensors", ".ckpt", ".pt", ".pth")


class ModelError(Exception):
    """The base model (or VAE) cannot be loaded; ``path`` names the file or folder at fault."""

    def __init__(self, message: str, path: str = ""):
        super().__init__(message)
        self.path = path


@dataclass
class Models:
    tokenizer: object
    text_encoder: object
    unet: object
    vae: object
    noise_scheduler: object
    v_parameterization: bool
    kind: str
    """"diffusers" | "single_file"."""
    model_hash: str | None = None
    """sha256 of a single-file model (None for folders)."""
    legacy_hash: str | None = None
    seconds: float = 0.0
    scheduler_config: dict | None = None
    """The model's own scheduler config (what samplers are built from)."""


def legacy_hash(path: str) -> str:
    """A1111's old short hash: sha256 of 64 KiB at offset 1 MiB, 8 hex digits."""
    with open(path, "rb") as f:
        f.seek(0x100000)
        return hashlib.sha256(f.read(0x10000)).hexdigest()[:8]


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def check_safetensors_header(path: str) -> dict:
    """Parse a .safetensors header, raising ModelError for truncated or foreign files."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ModelError(f"{path}: not a safetensors file (too short)", path)
        (n,) = struct.unpack("<Q", head)
        if n > 100_000_000 or n + 8 > size:
            raise ModelError(f"{path}: not a valid safetensors file (bad header length)", path)
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ModelError(f"{path}: not a valid safetensors file (unreadable header)", path) from None
    end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
    if 8 + n + end > size:
        raise ModelError(f"{path}: truncated ({size:,} bytes, the header promises {8 + n + end:,}); "
                         "download it again", path)
    return header


def check_model_path(spec: TrainSpec) -> str:
    """Cheap checks before any heavy import. Returns "diffusers" or "single_file"."""
    p = spec.base_model
    if not p:
        raise ModelError("no base model configured (model.base)")
    if not os.path.exists(p):
        raise ModelError(f"{p}: base model not found", p)
    if os.path.isdir(p):
        if not os.path.isfile(os.path.join(p, "unet", "config.json")):
            raise ModelError(f"{p}: not a diffusers model folder (no unet/config.json); give a diffusers folder "
                             "or a .safetensors checkpoint", p)
        return "diffusers"
    ext = os.path.splitext(p)[1].lower()
    if ext not in SINGLE_FILE_EXTS:
        raise ModelError(f"{p}: unsupported model file type {ext or '(none)'}; use .safetensors", p)
    if ext == ".safetensors":
        check_safetensors_header(p)
    if spec.family == "sdxl":
        raise ModelError("SDXL training is not supported yet (SD 1.x and 2.x only)", p)
    return "single_file"


def _load_ckpt_safely(path: str) -> None:
    """Refuse a pickled checkpoint that needs more than ``weights_only=True`` to load."""
    import pickle

    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise ModelError(f"{path}: cannot read ({e.strerror or e})", path) from None
    if magic != b"PK\x03\x04":  # not torch's zip format: a legacy pickle stream, or not a checkpoint
        raise ModelError(f"{path}: refused: legacy pickle checkpoints are not loaded for safety (loading one can "
                         "run code); convert it to .safetensors with a tool you trust, or use the model's "
                         ".safetensors release", path)

    import torch

    try:
        torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, EOFError) as e:
        raise ModelError(
            f"{path}: refused: this .ckpt cannot be loaded safely (weights_only=True failed: "
            f"{str(e).splitlines()[0][:200]}). Pickled checkpoints can run code when loaded; convert it to "
            ".safetensors with a tool you trust, or use the .safetensors release of the model", path) from None


def load_models(spec: TrainSpec) -> Models:
    """Load tokenizer, text encoder, UNet, VAE and the training noise scheduler (fp32, CPU)."""
    t0 = time.time()
    kind = check_model_path(spec)
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    p = spec.base_model
    model_hash = legacy = None
    try:
        if kind == "diffusers":
            tokenizer = CLIPTokenizer.from_pretrained(p, subfolder="tokenizer", local_files_only=True)
            text_encoder = CLIPTextModel.from_pretrained(p, subfolder="text_encoder", local_files_only=True)
            unet = UNet2DConditionModel.from_pretrained(p, subfolder="unet", local_files_only=True)
            vae = AutoencoderKL.from_pretrained(p, subfolder="vae", local_files_only=True)
            sched_cfg = DDPMScheduler.load_config(p, subfolder="scheduler", local_files_only=True)
        else:
            if p.lower().endswith((".ckpt", ".pt", ".pth")):
                _load_ckpt_safely(p)
            from diffusers import StableDiffusionPipeline

            config_dir = spec.model_config
            builtin = not config_dir and spec.family == "sd1"
            if builtin:
                from .sd1 import ensure_sd1_config

                config_dir = ensure_sd1_config()  # SD 1.x needs no download: loratui writes its config
            if not config_dir:
                raise ModelError(f"{p}: loading a single-file {spec.family} model offline needs a local diffusers "
                                 "config folder (model.config_dir: a diffusers folder of the same architecture, "
                                 "weights optional)", p)
            try:
                pipe = StableDiffusionPipeline.from_single_file(p, config=config_dir, local_files_only=True,
                                                                safety_checker=None, requires_safety_checker=False)
            except (OSError, ValueError, KeyError, RuntimeError) as e:
                if not builtin:
                    raise
                raise ModelError(f"{p}: does not load as an SD 1.x checkpoint ({type(e).__name__}: "
                                 f"{str(e).splitlines()[0][:200]}); if it is another architecture, set the model "
                                 "family, or model.config_dir to a diffusers folder of it", p) from e
            tokenizer, text_encoder, unet, vae = pipe.tokenizer, pipe.text_encoder, pipe.unet, pipe.vae
            sched_cfg = dict(pipe.scheduler.config)
            legacy = legacy_hash(p)
            model_hash = file_sha256(p)
            del pipe
    except ModelError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError, EnvironmentError) as e:
        raise ModelError(f"{p}: cannot load the base model ({type(e).__name__}: {str(e).splitlines()[0][:300]})",
                         p) from e
    if spec.vae:
        vae = load_vae(spec.vae, spec.model_config)
    sched_cfg = {k: v for k, v in dict(sched_cfg).items() if not k.startswith("_")}
    pred = sched_cfg.get("prediction_type", "epsilon")
    v_pred = spec.v_parameterization if spec.v_parameterization is not None else pred == "v_prediction"
    noise_scheduler = DDPMScheduler(num_train_timesteps=sched_cfg.get("num_train_timesteps", 1000),
                                    beta_start=sched_cfg.get("beta_start", 0.00085),
                                    beta_end=sched_cfg.get("beta_end", 0.012),
                                    beta_schedule=sched_cfg.get("beta_schedule", "scaled_linear"),
                                    prediction_type="v_prediction" if v_pred else "epsilon", clip_sample=False)
    if spec.zero_terminal_snr:
        _zero_terminal_snr(noise_scheduler)
    sample_cfg = dict(sched_cfg, prediction_type="v_prediction" if v_pred else "epsilon")
    if spec.zero_terminal_snr:  # sample on the schedule the LoRA was trained on, ending at pure noise
        sample_cfg.update(rescale_betas_zero_snr=True, timestep_spacing="trailing")
    return Models(tokenizer, text_encoder, unet, vae, noise_scheduler, v_pred, kind, model_hash, legacy,
                  time.time() - t0, sample_cfg)


def _zero_terminal_snr(sched) -> None:
    """sd-scripts' ``fix_noise_scheduler_betas_for_zero_terminal_snr``: the training schedule's betas,
    alphas and cumulative alphas rescaled so the last timestep carries no signal."""
    import torch

    from .loss import zero_terminal_snr_betas

    sched.betas = zero_terminal_snr_betas(sched.betas)
    sched.alphas = 1.0 - sched.betas
    sched.alphas_cumprod = torch.cumprod(sched.alphas, dim=0)


def load_vae(path: str, config_dir: str = ""):
    from diffusers import AutoencoderKL

    if not os.path.exists(path):
        raise ModelError(f"{path}: VAE not found", path)
    try:
        if os.path.isdir(path):
            sub = "vae" if os.path.isdir(os.path.join(path, "vae")) else None
            return AutoencoderKL.from_pretrained(path, subfolder=sub, local_files_only=True)
        if path.lower().endswith(".safetensors"):
            check_safetensors_header(path)
        else:
            _load_ckpt_safely(path)
        kw = {"config": config_dir, "subfolder": "vae"} if config_dir else {}
        return AutoencoderKL.from_single_file(path, local_files_only=True, **kw)
    except ModelError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        raise ModelError(f"{path}: cannot load the VAE ({type(e).__name__}: {str(e).splitlines()[0][:300]})",
                         path) from e
