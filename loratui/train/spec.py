"""``TrainSpec``: exactly what the engine needs, resolved (absolute paths, no defaults left to guess).

The engine never reads the user-facing config directly: ``spec_from_config`` adapts a
``loratui.config.TrainConfig`` into a spec, so the two can evolve separately. A spec also
round-trips through a plain dict (``to_dict`` / ``from_dict``), which is what resumable
checkpoints store to detect a config changed between a stop and a resume.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field


@dataclass
class SubsetSpec:
    path: str
    """Absolute image folder."""
    repeats: int = 1
    class_tokens: str = ""
    """Caption for images without a caption file (kohya ``class_tokens``)."""
    caption_ext: str = ".txt"
    keep_tokens: int = 0
    shuffle_caption: bool = False
    caption_dropout_rate: float = 0.0
    caption_tag_dropout_rate: float = 0.0
    flip_aug: bool = False
    is_reg: bool = False
    caption_prefix: str = ""
    """Tags put before every caption (kohya ``caption_prefix``), counted in ``keep_tokens``."""
    is_val: bool = False
    """Held out for the validation loss (never trained on)."""


@dataclass
class TrainSpec:
    # ---- model
    base_model: str
    """Diffusers folder, or a single .safetensors / .ckpt file."""
    output_dir: str
    output_name: str = "lora"
    model_config: str = ""
    """Local diffusers config folder used to load a single-file model offline (empty: none)."""
    family: str = "sd1"
    """sd1 | sd2 | sd2-v | sdxl"""
    v_parameterization: bool | None = None
    """None: from the model (its scheduler config's ``prediction_type``, or a ``v_pred`` key)."""
    zero_terminal_snr: bool = False
    """Rescale the training noise schedule to zero terminal SNR (sd-scripts' ``--zero_terminal_snr``)."""
    vae: str = ""
    clip_skip: int = 1
    # ---- data
    subsets: list[SubsetSpec] = field(default_factory=list)
    resolution: tuple[int, int] = (512, 512)
    """(width, height)"""
    enable_bucket: bool = True
    min_bucket_reso: int = 256
    max_bucket_reso: int = 1024
    bucket_reso_steps: int = 64
    bucket_no_upscale: bool = False
    cache_latents: bool = True
    cache_latents_to_disk: bool = False
    validation_split: float = 0.0
    """Fraction of the images held out for the validation loss (``loratui.dataset.validation_split``)."""
    validate_every_n_steps: int = 0
    """0: validate at each epoch end (when anything is held out)."""
    alpha_mask: bool = False
    """Weight the loss per pixel by the alpha channel or ``NAME.mask.png``."""
    latent_cache_dir: str = ""
    """Disk cache folder (empty: the user cache dir, ~/.cache/loratui/latents)."""
    cache_text_encoder_outputs: bool = False
    """Encode each caption once; the text encoders then leave the GPU (UNet-only, fixed captions)."""
    # ---- network
    network_type: str = "lora"
    """lora | locon | loha | lokr"""
    network_dim: int = 4
    network_alpha: float = 1.0
    conv_dim: int = 0
    """0: no 3x3 convolutions."""
    conv_alpha: float = 1.0
    network_dropout: float = 0.0
    dora: bool = False
    """Weight-decomposed (DoRA; with loha/lokr lycoris' DoHa/DoKr), trained with lycoris-lora."""
    lycoris_preset: str = "full"
    """LyCORIS module preset (loha, lokr, dora)."""
    lokr_factor: int = -1
    lokr_full_matrix: bool = False
    lokr_decompose_both: bool = False
    rank_dropout: float = 0.0
    module_dropout: float = 0.0
    train_unet: bool = True
    train_text_encoder: bool = True
    # ---- optimisation
    unet_lr: float = 1e-4
    text_encoder_lr: float = 5e-5
    text_encoder2_lr: float | None = None
    """SDXL's second encoder (None: ``text_encoder_lr``)."""
    optimizer: str = "AdamW"
    optimizer_args: dict = field(default_factory=dict)
    lr_scheduler: str = "constant"
    lr_warmup_steps: int = 0
    lr_warmup_ratio: float = 0.0
    lr_scheduler_num_cycles: int = 1
    lr_scheduler_power: float = 1.0
    batch_size: int = 1
    grad_accumulation: int = 1
    max_grad_norm: float = 1.0
    noise_offset: float = 0.0
    min_snr_gamma: float = 0.0
    mixed_precision: str = "no"
    gradient_checkpointing: bool = False
    seed: int = 42
    ema: bool = False
    ema_decay: float = 0.999
    save_raw_with_ema: bool = False
    device: str = "auto"
    cpu_threads: int = 0
    """torch CPU threads (0: the cores this process may use, see ``loratui.train.threads``)."""
    # ---- schedule
    epochs: int = 1
    max_train_steps: int = 0
    """0: epochs decide."""
    save_every_n_epochs: int = 1
    keep_last: int = 0
    """Keep only the last N per-epoch LoRA files (0: keep all; the final file is always kept)."""
    checkpoint_every_n_steps: int = 0
    """Resumable checkpoint every N steps (0: only on stop and at epoch ends)."""
    sample_prompts: list[str] = field(default_factory=list)
    sample_every_n_epochs: int = 0
    sample_every_n_steps: int = 0
    """Also sample every N optimizer steps (0: off); files are named by step then."""
    sample_strengths: list[float] = field(default_factory=lambda: [1.0])
    sample_sampler: str = "euler_a"
    # ---- output metadata
    save_precision: str = "fp16"
    title: str = ""
    author: str = ""
    description: str = ""
    trigger_words: list[str] = field(default_factory=list)
    comment: str = ""

    # ------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["resolution"] = list(self.resolution)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainSpec":
        d = dict(d)
        d["subsets"] = [SubsetSpec(**s) for s in d.get("subsets", [])]
        if "resolution" in d:
            d["resolution"] = tuple(d["resolution"])
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown spec keys: {', '.join(unknown)}")
        return cls(**d)

    def fingerprint(self) -> str:
        """Hash of what changes the training trajectory (not output names or metadata text)."""
        d = self.to_dict()
        for k in ("output_dir", "output_name", "title", "author", "description", "trigger_words", "comment",
                  "save_every_n_epochs", "keep_last", "checkpoint_every_n_steps", "sample_prompts", "sample_every_n_epochs", "sample_every_n_steps",
                  "sample_strengths", "sample_sampler", "save_precision", "validate_every_n_steps", "save_raw_with_ema", "cache_latents_to_disk", "latent_cache_dir", "device",
                  "cpu_threads"):
            d.pop(k, None)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]

    def network_config(self):
        """The ``[network]`` settings as a ``NetworkConfig`` (for ``loratui.config.network_types``)."""
        from loratui.config.model import NetworkConfig

        return NetworkConfig(type=self.network_type, dim=self.network_dim, alpha=self.network_alpha,
                             conv_dim=self.conv_dim, conv_alpha=self.conv_alpha, dropout=self.network_dropout,
                             dora=self.dora, factor=self.lokr_factor, full_matrix=self.lokr_full_matrix,
                             decompose_both=self.lokr_decompose_both, preset=self.lycoris_preset,
                             rank_dropout=self.rank_dropout, module_dropout=self.module_dropout,
                             train_unet=self.train_unet, train_text_encoder=self.train_text_encoder)

    @property
    def is_lycoris(self) -> bool:
        """LoHa, LoKr or DoRA: trained with lycoris-lora, saved as ``lycoris.kohya``."""
        return self.network_type in ("loha", "lokr") or self.dora

    @property
    def v_pred_known(self) -> bool:
        return self.v_parameterization is not None


def _optimizer_args(items: list[str]) -> dict:
    out: dict = {}
    for it in items:
        k, sep, v = it.partition("=")
        if not sep:
            raise ValueError(f"optimizer argument {it!r}: expected key=value")
        v = v.strip()
        try:
            out[k.strip()] = json.loads(v.lower() if v.lower() in ("true", "false") else v)
        except json.JSONDecodeError:
            out[k.strip()] = v
    return out


def _v_parameterization(model) -> bool | None:
    """The config's prediction type as the engine's switch (None: ask the model)."""
    if model.prediction_type == "v_prediction":
        return True
    if model.prediction_type == "epsilon":
        return False
    return True if model.family == "sd2-v" else None


def spec_from_config(cfg, run_dir: str = "") -> TrainSpec:
    """Adapt a ``loratui.config.TrainConfig`` (paths resolved against its ``base_dir``)."""
    from loratui.config.network_types import uses_conv

    c = cfg.resolved()
    ds = c.dataset
    def own(s, name):  # a subset's own caption option, else the dataset's
        v = getattr(s, name, None)
        return getattr(ds, name) if v is None else v

    subsets = [SubsetSpec(path=s.image_dir, repeats=s.repeats, class_tokens=s.class_tokens,
                          caption_ext=ds.caption_extension, keep_tokens=own(s, "keep_tokens"),
                          shuffle_caption=own(s, "shuffle_caption"),
                          caption_dropout_rate=own(s, "caption_dropout_rate"),
                          caption_tag_dropout_rate=own(s, "caption_tag_dropout_rate"), flip_aug=own(s, "flip_aug"),
                          is_reg=s.is_reg, caption_prefix=getattr(ds, "caption_prefix", ""),
                          is_val=getattr(s, "validation", False))
               for s in ds.subsets]
    if not subsets and ds.root:
        subsets = subsets_from_root(ds.root, ds.caption_extension, SubsetSpec(
            path="", caption_ext=ds.caption_extension, keep_tokens=ds.keep_tokens,
            shuffle_caption=ds.shuffle_caption, caption_dropout_rate=ds.caption_dropout_rate,
            caption_tag_dropout_rate=ds.caption_tag_dropout_rate, flip_aug=ds.flip_aug,
            caption_prefix=getattr(ds, "caption_prefix", "")))
    o, s, n, h = c.optim, c.schedule, c.network, c.hardware
    res = ds.resolution if len(ds.resolution) == 2 else [ds.resolution[0]] * 2
    family = c.model.family
    return TrainSpec(
        base_model=c.model.base, output_dir=c.output.dir, output_name=c.output.name,
        model_config=cfg.abspath(getattr(cfg.model, "config_dir", "") or ""),  # not in the config model yet
        family=family, v_parameterization=_v_parameterization(c.model),
        zero_terminal_snr=c.model.zero_terminal_snr,
        cache_text_encoder_outputs=ds.cache_text_encoder_outputs,
        text_encoder2_lr=o.text_encoder2_lr,
        vae=c.model.vae, clip_skip=c.model.clip_skip,
        subsets=subsets, resolution=(int(res[0]), int(res[1])), enable_bucket=ds.enable_bucket,
        min_bucket_reso=ds.min_bucket_reso, max_bucket_reso=ds.max_bucket_reso,
        bucket_reso_steps=ds.bucket_reso_steps, bucket_no_upscale=ds.bucket_no_upscale,
        cache_latents=getattr(ds, "cache_latents", True),  # these two are not in the config model yet
        cache_latents_to_disk=getattr(ds, "cache_latents_to_disk", False),
        network_type=n.type, network_dim=n.dim, network_alpha=n.alpha,
        conv_dim=n.conv_dim if uses_conv(n) else 0, conv_alpha=n.conv_alpha,
        network_dropout=n.dropout, train_unet=n.train_unet, train_text_encoder=n.train_text_encoder,
        dora=bool(n.dora), lycoris_preset=n.preset, lokr_factor=n.factor,
        lokr_full_matrix=n.full_matrix, lokr_decompose_both=n.decompose_both, rank_dropout=n.rank_dropout,
        module_dropout=n.module_dropout,
        unet_lr=o.unet_lr, text_encoder_lr=o.text_encoder_lr, optimizer=o.optimizer,
        optimizer_args=_optimizer_args(o.optimizer_args), lr_scheduler=o.scheduler,
        lr_warmup_steps=o.warmup_steps, lr_warmup_ratio=o.warmup_ratio, lr_scheduler_num_cycles=o.cycles,
        lr_scheduler_power=o.power, batch_size=o.batch_size, grad_accumulation=o.grad_accumulation,
        max_grad_norm=o.max_grad_norm, noise_offset=o.noise_offset, min_snr_gamma=o.min_snr_gamma,
        mixed_precision=o.mixed_precision, gradient_checkpointing=o.gradient_checkpointing, seed=o.seed,
        device=h.device, cpu_threads=h.cpu_threads, epochs=s.epochs, max_train_steps=s.max_steps,
        save_every_n_epochs=s.save_every_n_epochs, keep_last=s.keep_last, sample_prompts=list(s.sample_prompts),
        sample_every_n_epochs=s.sample_every_n_epochs, sample_every_n_steps=s.sample_every_n_steps,
        sample_strengths=list(s.sample_strengths),
        sample_sampler=s.sample_sampler,
        save_precision=c.output.save_precision, title=c.output.title, author=c.output.author,
        description=c.output.description, trigger_words=list(c.output.trigger_words),
        validation_split=ds.validation_split, validate_every_n_steps=s.validate_every_n_steps,
        alpha_mask=ds.alpha_mask, ema=o.ema, ema_decay=o.ema_decay, save_raw_with_ema=c.output.save_raw_with_ema,
    )


def subsets_from_root(root: str, caption_ext: str, template: SubsetSpec) -> list[SubsetSpec]:
    """kohya folder convention: every ``<repeats>_<class tokens>`` folder under ``root``."""
    from loratui.dataset import Dataset

    ds = Dataset.open(root, caption_ext)
    out = []
    for s in ds.subsets:
        out.append(dataclasses.replace(template, path=os.path.normpath(os.path.join(ds.root, s.path)),
                                       repeats=s.repeats, class_tokens=s.class_tokens))
    return out


def load_run_spec(run_dir: str) -> TrainSpec:
    """The spec of a run folder: ``RUN_DIR/config.toml`` in the loratui config format."""
    from loratui.config.model import TrainConfig
    from loratui.config.toml_io import ConfigError
    from loratui.config.validate import launch_errors

    path = os.path.join(run_dir, "config.toml")
    cfg = TrainConfig.load(path)
    errors = launch_errors(cfg)
    if errors:  # whichever way the run was launched (CLI, detached, resumed, the TUI), it stops here
        raise ConfigError([str(f) for f in errors], path)
    return spec_from_config(cfg, run_dir)
