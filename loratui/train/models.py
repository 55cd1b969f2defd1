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
    text_encoder_2: object = None
    """SDXL's second text encoder (OpenCLIP bigG, with projection); None for SD 1.x / 2.x."""
    tokenizer_2: object = None
    checkpoint_ztsnr: bool = False
    """The checkpoint carries NoobAI's ``ztsnr`` marker (trained with zero-terminal SNR)."""

    @property
    def sdxl(self) -> bool:
        return self.text_encoder_2 is not None

    @property
    def text_encoders(self) -> list:
        return [m for m in (self.text_encoder, self.text_encoder_2) if m is not None]


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
        _check_family(spec, folder_family(p), p)
        return "diffusers"
    ext = os.path.splitext(p)[1].lower()
    if ext not in SINGLE_FILE_EXTS:
        raise ModelError(f"{p}: unsupported model file type {ext or '(none)'}; use .safetensors", p)
    if ext == ".safetensors":
        _check_family(spec, checkpoint_family(check_safetensors_header(p)), p)
    return "single_file"


def checkpoint_family(header: dict) -> str | None:
    """"sdxl" / "sd2" / "sd1" from a single-file checkpoint's tensor names (None: cannot tell)."""
    for k in header:
        if k.startswith(("conditioner.embedders.1.", "model.diffusion_model.label_emb.")):
            return "sdxl"
    for k in header:
        if k.startswith("cond_stage_model.model.transformer."):
            return "sd2"
        if k.startswith("cond_stage_model.transformer."):
            return "sd1"
    return None


def folder_family(path: str) -> str | None:
    """"sdxl" for a diffusers folder with a second text encoder or a text-time UNet, else None."""
    if os.path.isdir(os.path.join(path, "text_encoder_2")):
        return "sdxl"
    try:
        with open(os.path.join(path, "unet", "config.json"), encoding="utf-8") as f:
            cfg = json.load(f)
    except (OSError, ValueError):
        return None
    return "sdxl" if isinstance(cfg, dict) and cfg.get("addition_embed_type") == "text_time" else None


def _check_family(spec: TrainSpec, found: str | None, path: str) -> None:
    """SDXL driven as SD 1.x (or the reverse) fails deep inside a step: say so before loading."""
    want_xl = spec.family == "sdxl"
    if found == "sdxl" and not want_xl:
        raise ModelError(f"{path}: this is an SDXL model (two text encoders) but model.family is "
                         f"{spec.family}; set model.family = \"sdxl\"", path)
    if want_xl and found in ("sd1", "sd2"):
        raise ModelError(f"{path}: model.family is sdxl but this is an {found} checkpoint; set model.family "
                         f"= \"{found}\"", path)
    if want_xl and found is None and os.path.isdir(path):
        raise ModelError(f"{path}: model.family is sdxl but this folder has no text_encoder_2 and no text-time "
                         "UNet; it is not an SDXL model", path)


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


def load_models(spec: TrainSpec, dtype=None) -> Models:
    """Load tokenizer(s), text encoder(s), UNet, VAE and the training noise scheduler on the CPU.
    Every component is cast to one dtype whatever the files hold (fp16 and fp32 folders load
    differently across library versions): ``dtype`` (default fp32) for the UNet and text encoders,
    fp32 for the VAE (SD's VAE overflows in fp16)."""
    import torch

    t0 = time.time()
    kind = check_model_path(spec)
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    dtype = dtype or torch.float32
    p = spec.base_model
    sdxl = spec.family == "sdxl"
    model_hash = legacy = None
    text_encoder_2 = tokenizer_2 = None
    v_pred_key = ztsnr_key = False
    try:
        if kind == "diffusers":
            tokenizer = CLIPTokenizer.from_pretrained(p, subfolder="tokenizer", local_files_only=True)
            text_encoder = CLIPTextModel.from_pretrained(p, subfolder="text_encoder", local_files_only=True,
                                                         torch_dtype=dtype)
            if sdxl:
                tokenizer_2 = CLIPTokenizer.from_pretrained(p, subfolder="tokenizer_2", local_files_only=True)
                text_encoder_2 = CLIPTextModelWithProjection.from_pretrained(
                    p, subfolder="text_encoder_2", local_files_only=True, torch_dtype=dtype)
            unet = UNet2DConditionModel.from_pretrained(p, subfolder="unet", local_files_only=True, torch_dtype=dtype)
            vae = AutoencoderKL.from_pretrained(p, subfolder="vae", local_files_only=True, torch_dtype=torch.float32)
            sched_cfg = DDPMScheduler.load_config(p, subfolder="scheduler", local_files_only=True)
        else:
            if p.lower().endswith((".ckpt", ".pt", ".pth")):
                _load_ckpt_safely(p)
            else:
                header = check_safetensors_header(p)
                v_pred_key, ztsnr_key = "v_pred" in header, "ztsnr" in header
            from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

            config_dir = spec.model_config
            builtin = not config_dir and spec.family in ("sd1", "sdxl")
            if builtin:
                # SD 1.x and SDXL need no download: loratui writes their config folders
                if sdxl:
                    from .sdxl import ensure_sdxl_config

                    config_dir = ensure_sdxl_config()
                else:
                    from .sd1 import ensure_sd1_config

                    config_dir = ensure_sd1_config()
            if not config_dir:
                raise ModelError(f"{p}: loading a single-file {spec.family} model offline needs a local diffusers "
                                 "config folder (model.config_dir: a diffusers folder of the same architecture, "
                                 "weights optional)", p)
            pipe_cls = StableDiffusionXLPipeline if sdxl else StableDiffusionPipeline
            kw = {} if sdxl else {"safety_checker": None, "requires_safety_checker": False}
            try:
                # in the file's own dtype: cast_components below, so the VAE never passes through bf16
                pipe = pipe_cls.from_single_file(p, config=config_dir, local_files_only=True, **kw)
            except (OSError, ValueError, KeyError, RuntimeError) as e:
                if not builtin:
                    raise
                raise ModelError(f"{p}: does not load as an {'SDXL' if sdxl else 'SD 1.x'} checkpoint "
                                 f"({type(e).__name__}: {str(e).splitlines()[0][:200]}); if it is another "
                                 "architecture, set the model family, or model.config_dir to a diffusers folder "
                                 "of it", p) from e
            tokenizer, text_encoder, unet, vae = pipe.tokenizer, pipe.text_encoder, pipe.unet, pipe.vae
            if sdxl:
                tokenizer_2, text_encoder_2 = pipe.tokenizer_2, pipe.text_encoder_2
            sched_cfg = dict(pipe.scheduler.config)
            legacy = legacy_hash(p)
            model_hash = file_sha256(p)
            del pipe
    except ModelError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        raise ModelError(f"{p}: cannot load the base model ({type(e).__name__}: {str(e).splitlines()[0][:300]})",
                         p) from e
    if spec.vae:
        # a single-file VAE is read with the base's VAE config (a diffusers base folder holds one)
        vae = load_vae(spec.vae, spec.model_config or (p if kind == "diffusers" else _builtin_config(spec)))
    cast_components(dtype, text_encoder, text_encoder_2, unet, vae=vae)
    sched_cfg = {k: v for k, v in dict(sched_cfg).items() if not k.startswith("_")}
    pred = "v_prediction" if v_pred_key else sched_cfg.get("prediction_type", "epsilon")
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
                  time.time() - t0, sample_cfg, text_encoder_2, tokenizer_2, ztsnr_key)


def _builtin_config(spec: TrainSpec) -> str:
    if spec.family == "sdxl":
        from .sdxl import ensure_sdxl_config

        return ensure_sdxl_config()
    if spec.family == "sd1":
        from .sd1 import ensure_sd1_config

        return ensure_sd1_config()
    return ""


def cast_components(dtype, *models, vae=None) -> None:
    """Every parameter and buffer of ``models`` to ``dtype``, the VAE's to fp32 (a folder may mix
    fp16 and fp32 files, and a loader may keep a file's own dtype)."""
    import torch

    def cast(m, dt):
        # only when needed: diffusers' .to(dtype) logs a warning every time it is called
        if any(t.dtype != dt for t in list(m.parameters()) + list(m.buffers()) if t.is_floating_point()):
            m.to(dtype=dt)

    for m in models:
        if m is not None:
            cast(m, dtype)
    if vae is not None:
        cast(vae, torch.float32)


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
