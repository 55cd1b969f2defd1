"""Peak GPU memory of a training run, estimated before launch (pure Python: no torch, no GPU).

The model (bytes; each part is listed in ``VramEstimate.parts``):

- **base weights**: UNet, plus the text encoders unless their outputs are cached (they then leave
  the GPU), plus the VAE (fp32, as the worker keeps it) unless latents are cached (it then leaves
  the GPU before the first step). Stored in the compute dtype (2 bytes with fp16/bf16, 4 without).
- **trained parameters**: the LoRA / LoCon weights, fp32 (4 bytes), their gradients (4 bytes) and
  the optimizer's states (AdamW 8 bytes per parameter, AdamW8bit 2, Lion 4, Prodigy 16, Adafactor
  4). Parameter counts are exact: rank x (in + out features) summed over the modules kohya adapts,
  measured once on the full-size architectures (``_ARCH``).
- **activations** kept for the backward pass: linear in batch x latent pixels (SDPA attention is
  linear in memory), a per-family constant per latent pixel at 16-bit compute, doubled in fp32, and
  about 7x smaller with gradient checkpointing. Trained text encoders add their own (77 tokens).
- **VAE encoding** (latents not cached): a transient, before the UNet's forward, so the peak is the
  larger of it and the activations.
- **needs**: the allocated peak x 1.1 (the caching allocator's slack) + 0.6 GiB (the CUDA context),
  the figure compared with the GPU's free memory.

The activation constants are calibrated from published figures (SDXL LoRA at 1024 px, batch 1, bf16:
~12 GB with gradient checkpointing and cached text encoders, ~20-24 GB without checkpointing;
SD 1.5 LoRA at 512 px, batch 1, fp16: ~6 GB without checkpointing). They are estimates: the GPU
benchmark (``bench/gpu_train.py``) prints the measured peak next to this estimate, and the
constants are to be corrected from those figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GiB = 1024 ** 3
MiB = 1024 ** 2


@dataclass(frozen=True)
class _Arch:
    unet: int
    """UNet parameters"""
    text_encoders: tuple[int, ...]
    vae: int
    lora_unet: int
    """sum of (in + out) features over the LoRA (LierLa) UNet modules: params per rank"""
    locon_unet_extra: int
    """the same for the modules LoCon adds at network rank (resnet linears, 1x1 shortcuts)"""
    locon_conv: int
    """sum of (in*9 + out) over the 3x3 convolutions LoCon adds: params per conv rank"""
    lora_te: tuple[int, ...]
    """per text encoder, params per rank"""
    act_kib: float
    """activation KiB per latent pixel per sample, 16-bit compute, no checkpointing"""
    act_ckpt_kib: float
    """the same with gradient checkpointing"""
    te_act_mib: float
    """trained text encoders' activations per sample (77 tokens), MiB"""


_VAE = 83_653_863
_ARCH = {
    # counts from diffusers / transformers modules of the published configs, built on the meta device
    "sd1": _Arch(859_520_964, (123_060_480,), _VAE, 423_936, 82_880, 544_000, (165_888,), 768, 160, 35),
    "sd2": _Arch(865_910_724, (340_387_840,), _VAE, 432_128, 82_880, 544_000, (423_936,), 768, 160, 110),
    "sdxl": _Arch(2_567_463_684, (123_060_480, 694_659_840), _VAE, 2_659_840, 58_560, 355_840,
                  (165_888, 737_280), 832, 112, 185),
}
_ARCH["sd2-v"] = _ARCH["sd2"]

OPTIMIZER_BYTES = {"AdamW": 8, "AdamW8bit": 2, "Lion": 4, "Prodigy": 16, "Adafactor": 4}
"""Optimizer state bytes per trained (fp32) parameter."""

ALLOCATOR_SLACK = 1.10
CUDA_CONTEXT = 0.6 * GiB


@dataclass(frozen=True)
class VramInputs:
    family: str = "sd1"
    width: int = 512
    height: int = 512
    batch: int = 1
    precision: str = "fp16"
    """no | fp16 | bf16 (mixed_precision)"""
    gradient_checkpointing: bool = False
    cache_latents: bool = True
    cache_text_encoder_outputs: bool = False
    train_unet: bool = True
    train_text_encoder: bool = True
    network_type: str = "lora"
    dim: int = 32
    conv_dim: int = 16
    optimizer: str = "AdamW"

    @classmethod
    def from_config(cls, cfg) -> "VramInputs":
        """From a ``TrainConfig`` (fields the config does not have yet keep their defaults)."""
        ds, net, opt = cfg.dataset, cfg.network, cfg.optim
        res = list(ds.resolution) + list(ds.resolution)[:1]
        cache_te = bool(getattr(ds, "cache_text_encoder_outputs", False))
        return cls(family=cfg.model.family, width=int(res[0]), height=int(res[1]), batch=int(opt.batch_size),
                   precision=opt.mixed_precision, gradient_checkpointing=bool(opt.gradient_checkpointing),
                   cache_latents=bool(ds.cache_latents), cache_text_encoder_outputs=cache_te,
                   train_unet=bool(net.train_unet), train_text_encoder=bool(net.train_text_encoder) and not cache_te,
                   network_type=net.type, dim=int(net.dim), conv_dim=int(net.conv_dim), optimizer=opt.optimizer)


def inputs_from_spec(spec) -> VramInputs:
    """From the worker's ``TrainSpec`` (duck-typed: this module imports nothing of ``loratui.train``)."""
    cache_te = bool(getattr(spec, "cache_text_encoder_outputs", False))
    w, h = spec.resolution
    return VramInputs(family=spec.family, width=int(w), height=int(h), batch=int(spec.batch_size),
                      precision=spec.mixed_precision, gradient_checkpointing=bool(spec.gradient_checkpointing),
                      cache_latents=bool(spec.cache_latents), cache_text_encoder_outputs=cache_te,
                      train_unet=bool(spec.train_unet), train_text_encoder=bool(spec.train_text_encoder) and not cache_te,
                      network_type=spec.network_type, dim=int(spec.network_dim), conv_dim=int(spec.conv_dim),
                      optimizer=spec.optimizer)


@dataclass
class VramEstimate:
    inputs: VramInputs
    parts: dict[str, int] = field(default_factory=dict)
    """bytes by part, in the order they are explained (``lines``)"""
    allocated: int = 0
    """peak bytes torch allocates (what ``torch.cuda.max_memory_allocated`` measures)"""
    needs: int = 0
    """free GPU memory the run needs: allocated + allocator slack + CUDA context"""
    trained_params: int = 0

    def summary(self) -> str:
        i = self.inputs
        return (f"needs ~{_gb(self.needs)} of GPU memory ({i.family}, {i.width}x{i.height}, batch {i.batch}, "
                f"{i.precision if i.precision != 'no' else 'fp32'}, gradient checkpointing "
                f"{'on' if i.gradient_checkpointing else 'off'})")

    def lines(self) -> list[str]:
        out = [self.summary()]
        out += [f"{name:<28} {_gb(b):>8}" for name, b in self.parts.items() if b]
        out.append(f"{'peak allocated':<28} {_gb(self.allocated):>8}  (+10% allocator slack, +0.6 GB CUDA context)")
        return out

    def to_dict(self) -> dict:
        return {"needs_bytes": self.needs, "allocated_bytes": self.allocated, "parts": dict(self.parts),
                "trained_params": self.trained_params}


def _gb(b: float) -> str:
    return f"{b / 1e9:.1f} GB" if b >= 1e9 else f"{b / 1e6:.0f} MB"


def estimate(i: VramInputs) -> VramEstimate:
    arch = _ARCH.get(i.family, _ARCH["sd1"])
    wbytes = 4 if i.precision == "no" else 2
    cache_te = i.cache_text_encoder_outputs
    train_te = i.train_text_encoder and not cache_te

    weights = arch.unet * wbytes
    if not cache_te:
        weights += sum(arch.text_encoders) * wbytes
    vae = 0 if i.cache_latents else arch.vae * 4

    # LoCon, LoHa and LoKr also adapt the resnet convolutions (conv_dim). LoHa holds two low-rank
    # pairs per module (twice LoRA's parameters); LoKr's Kronecker factors are smaller than LoRA's
    # at the same rank, counted as LoRA's (an upper bound)
    conv = i.network_type in ("locon", "loha", "lokr")
    per_rank = 2 if i.network_type == "loha" else 1
    trained = 0
    if i.train_unet:
        trained += per_rank * i.dim * (arch.lora_unet + (arch.locon_unet_extra if conv else 0))
        trained += per_rank * i.conv_dim * arch.locon_conv if conv else 0
    if train_te:
        trained += per_rank * i.dim * sum(arch.lora_te)
    params_grads = trained * 8  # fp32 weights + fp32 gradients
    optim = trained * OPTIMIZER_BYTES.get(i.optimizer, 8)

    latent_px = (i.width // 8) * (i.height // 8)
    per_px = (arch.act_ckpt_kib if i.gradient_checkpointing else arch.act_kib) * 1024 * (wbytes / 2)
    acts = int(i.batch * latent_px * per_px) if i.train_unet or train_te else 0
    if train_te:
        acts += int(i.batch * arch.te_act_mib * MiB * (wbytes / 2) * (0.3 if i.gradient_checkpointing else 1.0))
    # the VAE encoder at full resolution in fp32: ~3 live tensors of 128 channels per image
    vae_encode = 0 if i.cache_latents else i.batch * i.width * i.height * 128 * 4 * 3

    parts = {"UNet + text-encoder weights" if not cache_te else "UNet weights": weights, "VAE weights": vae,
             "trained params + grads": params_grads, f"optimizer states ({i.optimizer})": optim,
             "activations": max(acts, vae_encode)}
    allocated = sum(parts.values())
    needs = int(allocated * ALLOCATOR_SLACK + CUDA_CONTEXT)
    return VramEstimate(i, parts, allocated, needs, trained)


def estimate_config(cfg) -> VramEstimate:
    return estimate(VramInputs.from_config(cfg))


def suggestions(i: VramInputs, free: int) -> list[str]:
    """Changes that lower the estimate, each with what it would need: the ones that fit ``free`` first,
    then all of them together."""
    from dataclasses import replace

    cands: list[tuple[str, dict]] = []
    if not i.gradient_checkpointing:
        cands.append(("enable gradient checkpointing (optim.gradient_checkpointing = true)",
                      {"gradient_checkpointing": True}))
    if i.batch > 1:
        cands.append((f"batch 1 (optim.batch_size = 1; optim.grad_accumulation = {i.batch} keeps the effective "
                      "batch)", {"batch": 1}))
    if i.family == "sdxl" and not i.cache_text_encoder_outputs:
        cands.append(("cache text-encoder outputs (dataset.cache_text_encoder_outputs = true: UNet only)",
                      {"cache_text_encoder_outputs": True, "train_text_encoder": False}))
    if not i.cache_latents:
        cands.append(("cache latents (dataset.cache_latents = true)", {"cache_latents": True}))
    if i.precision == "no":
        cands.append(('mixed precision (optim.mixed_precision = "bf16")', {"precision": "bf16"}))
    if i.optimizer in ("AdamW", "Prodigy"):
        cands.append(('8-bit AdamW (optim.optimizer = "AdamW8bit", needs bitsandbytes)', {"optimizer": "AdamW8bit"}))
    ranked = sorted(((estimate(replace(i, **ch)).needs, text) for text, ch in cands),
                    key=lambda t: (t[0] > free, t[0]))
    lines = [f"{text}: needs ~{_gb(n)}" for n, text in ranked]
    if len(cands) > 1:
        every = {k: v for _t, ch in cands for k, v in ch.items()}
        lines.append(f"all of these together: needs ~{_gb(estimate(replace(i, **every)).needs)}")
    return lines


@dataclass
class GpuMemory:
    index: int
    name: str
    free: int
    total: int


def vram_gate(est: VramEstimate, gpu: GpuMemory | None, override: bool = False) -> tuple[bool, str]:
    """The launch decision: (ok, message). No GPU reading (no NVIDIA GPU, CPU run): ok, unchecked."""
    if gpu is None:
        return True, f"{est.summary()}; no NVIDIA GPU found to compare with"
    have = f"GPU {gpu.index} ({gpu.name}) has {_gb(gpu.free)} free of {_gb(gpu.total)}"
    if est.needs <= gpu.free:
        return True, f"{est.summary()}; {have}"
    msg = f"{est.summary()}, but {have}"
    tips = suggestions(est.inputs, gpu.free)
    if override:
        return True, msg + "; launching anyway (--ignore-vram): it may run out of memory"
    return False, (msg + ". To fit:\n" + "\n".join(f"  - {t}" for t in tips) if tips else msg) + \
        "\n(or launch anyway with --ignore-vram: the estimate can be off by a few GB)"
