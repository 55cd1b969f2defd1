"""The training configuration: one typed dataclass tree, one docstring (``help``) per field.

This module knows nothing of Textual or torch. The TOML layout mirrors the tree: one table per
section (``[model]``, ``[dataset]``, ``[[dataset.subsets]]``, ``[network]``, ``[optim]``,
``[schedule]``, ``[output]``, ``[hardware]``) plus top-level ``schema_version`` and ``concept``.

Field metadata (read by the form and the validator):
- ``help``: one line shown beside the field;
- ``choices``: the allowed values of a string field;
- ``min`` / ``max``: inclusive numeric bounds (``min_exclusive`` for "> 0");
- ``internal``: not written to TOML (run-time only).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import os
from dataclasses import dataclass, field, fields

SCHEMA_VERSION = 1

FAMILIES = ("sd1", "sd2", "sd2-v", "sdxl")
CONCEPTS = ("character", "style", "background", "concept", "other")
NETWORK_TYPES = ("lora", "locon", "loha", "lokr")
LYCORIS_PRESETS = ("full", "attn-mlp", "attn-only", "unet-transformer-only", "unet-convblock-only")
"""LyCORIS module presets (which layers a LoHa / LoKr / DoRA network adapts); see ``network_types``."""
OPTIMIZERS = ("AdamW", "AdamW8bit", "Lion", "Prodigy", "Adafactor")
SCHEDULERS = ("constant", "cosine", "cosine_with_restarts", "linear", "polynomial", "constant_with_warmup")
PREDICTION_TYPES = ("auto", "epsilon", "v_prediction")
MIXED_PRECISION = ("no", "fp16", "bf16")
SAVE_PRECISION = ("fp32", "fp16", "bf16")
SAMPLERS = ("ddim", "pndm", "lms", "euler", "euler_a", "heun", "dpm_2", "dpm_2_a", "dpmsolver",
            "dpmsolver++", "dpmsingle", "k_lms", "k_euler", "k_euler_a", "k_dpm_2", "k_dpm_2_a")


MAX_EPOCHS = 100_000
MAX_STEPS = 100_000_000
"""Far beyond any real LoRA run; above them a number is a typo (or 1e23) that would never end."""


def _f(default, help: str, **meta):
    """A dataclass field with a help line (and optional choices/min/max) in its metadata."""
    meta["help"] = help
    if isinstance(default, (list, dict)):
        return field(default_factory=functools.partial(copy.deepcopy, default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class ModelConfig:
    base: str = _f("", "base checkpoint: a diffusers folder or a single .safetensors (train on a pruned root model)")
    family: str = _f("sd1", "model family: sd1, sd2, sd2-v (v-prediction 768) or sdxl", choices=FAMILIES)
    vae: str = _f("", "VAE override (.safetensors or folder); empty = the checkpoint's own VAE")
    clip_skip: int = _f(1, "text-encoder layers to skip from the end (2 for anime/NAI-based models; "
                        "SDXL always uses the penultimate layer)", min=1, max=12)
    prediction_type: str = _f("auto", "what the model predicts: epsilon (SD 1.x, SDXL, Pony, Illustrious) or "
                              "v_prediction (SD 2.x 768-v, NoobAI-XL v-pred); auto = what the model says "
                              "(its scheduler config, or the v_pred key of the checkpoint), else epsilon",
                              choices=PREDICTION_TYPES)
    zero_terminal_snr: bool = _f(False, "rescale the noise schedule to zero terminal SNR (with v-prediction; "
                                 "NoobAI-XL v-pred was trained so)")
    config_dir: str = _f("", "local diffusers config folder for a single-file base model (offline loading)")


@dataclass
class SubsetConfig:
    image_dir: str = _f("", "image folder, relative to dataset.root (or absolute)")
    repeats: int = _f(10, "times each image is shown per epoch", min=1)
    class_tokens: str = _f("", "caption used for images without a caption file (kohya class_tokens)")
    is_reg: bool = _f(False, "regularisation images (prior preservation)")
    # per-subset caption options (kohya allows them per subset); None: the dataset's setting
    keep_tokens: int | None = _f(None, "this subset's keep_tokens (unset: the dataset's)", min=0)
    shuffle_caption: bool | None = _f(None, "this subset's caption shuffling (unset: the dataset's)")
    caption_dropout_rate: float | None = _f(None, "this subset's caption dropout (unset: the dataset's)",
                                            min=0.0, max=1.0)
    caption_tag_dropout_rate: float | None = _f(None, "this subset's tag dropout (unset: the dataset's)",
                                                min=0.0, max=1.0)
    flip_aug: bool | None = _f(None, "this subset's flip augmentation (unset: the dataset's)")
    validation: bool = _f(False, "hold this whole subset out for the validation loss (never trained on)")


SUBSET_OVERRIDES = ("keep_tokens", "shuffle_caption", "caption_dropout_rate", "caption_tag_dropout_rate", "flip_aug")
"""Caption options a subset may set for itself (same names in DatasetConfig and in kohya's subsets)."""


@dataclass
class DatasetConfig:
    root: str = _f("", "dataset folder holding the <repeats>_<name> subset folders")
    subsets: list[SubsetConfig] = _f([], "subset folders with their repeats")
    caption_extension: str = _f(".txt", "caption file extension (.txt; kohya's default is .caption)")
    keep_tokens: int = _f(1, "leading tags never shuffled or dropped (keep the trigger word first)", min=0)
    shuffle_caption: bool = _f(True, "shuffle tags after the first keep_tokens each step")
    caption_dropout_rate: float = _f(0.0, "probability of training an image with an empty caption", min=0.0, max=1.0)
    caption_tag_dropout_rate: float = _f(0.0, "probability of dropping each (non-kept) tag", min=0.0, max=1.0)
    flip_aug: bool = _f(False, "random horizontal flips (avoid for asymmetric characters)")
    resolution: list[int] = _f([512, 512], "training resolution [width, height] (512 for SD1, 1024 for SDXL)")
    enable_bucket: bool = _f(True, "aspect-ratio bucketing (keeps non-square images uncropped)")
    min_bucket_reso: int = _f(256, "smallest bucket side", min=8)
    max_bucket_reso: int = _f(1024, "largest bucket side", min=8)
    bucket_reso_steps: int = _f(64, "bucket sides are multiples of this", min=8)
    bucket_no_upscale: bool = _f(False, "never upscale small images into a larger bucket")
    cache_latents: bool = _f(True, "encode images once before training (faster; less VRAM)")
    cache_latents_to_disk: bool = _f(False, "keep the cached latents on disk between runs")
    caption_prefix: str = _f("", "text put before every caption, as kohya's caption_prefix (its tags count in "
                             "keep_tokens), e.g. Pony's \"score_9, score_8_up, score_7_up\"")
    validation_split: float = _f(0.0, "fraction of the images held out to measure a validation loss (0 = none; "
                                 "0.05-0.1 is typical)", min=0.0, max=0.5)
    alpha_mask: bool = _f(False, "weight the loss per pixel by each image's alpha channel or a NAME.mask.png "
                          "beside it (sd-scripts alpha_mask)")
    cache_text_encoder_outputs: bool = _f(False, "encode every caption once and move the text encoders off the "
                                          "GPU (UNet-only training, fixed captions: no shuffle or dropout)")


@dataclass
class NetworkConfig:
    type: str = _f("lora", "lora (attention/linear layers), locon (also 3x3 convolutions; good for styles), "
                   "loha (Hadamard product, LyCORIS) or lokr (Kronecker product, LyCORIS; small files)",
                   choices=NETWORK_TYPES)
    dim: int = _f(32, "rank of the linear layers (network_dim; LoHa: effectively squared, 4-16 is usual)",
                  min=1, max=100000)
    alpha: float = _f(16.0, "scale: delta = up @ down * alpha / dim (usually dim/2)", min_exclusive=0.0)
    conv_dim: int = _f(16, "rank of the 3x3 convolutions (locon, loha, lokr)", min=1, max=100000)
    conv_alpha: float = _f(8.0, "alpha of the 3x3 convolutions (locon, loha, lokr)", min_exclusive=0.0)
    dropout: float = _f(0.0, "dropout on the LoRA activations (0 = off; lora/locon without dora only)",
                        min=0.0, max=1.0)
    dora: bool = _f(False, "weight-decomposed LoRA/LoCon (DoRA): trains a magnitude per output channel too")
    factor: int = _f(-1, "LoKr: the Kronecker factor (-1 = balanced, smallest file; 4-16 for more capacity)",
                     min=-1, max=1024)
    full_matrix: bool = _f(False, "LoKr: full-rank second factor (no low-rank split; bigger file, dim ignored)")
    decompose_both: bool = _f(False, "LoKr: also split the first (small) factor into a low-rank pair")
    preset: str = _f("full", "LyCORIS module preset (loha, lokr, dora): full, attn-mlp, attn-only, "
                     "unet-transformer-only, unet-convblock-only", choices=LYCORIS_PRESETS)
    rank_dropout: float = _f(0.0, "LyCORIS rank dropout (loha, lokr, dora; 0 = off)", min=0.0, max=1.0)
    module_dropout: float = _f(0.0, "LyCORIS module dropout: skip a whole module per step (loha, lokr, dora)",
                               min=0.0, max=1.0)
    train_unet: bool = _f(True, "train the UNet")
    train_text_encoder: bool = _f(True, "train the text encoder(s); off = UNet only (the usual choice for SDXL)")


@dataclass
class OptimConfig:
    unet_lr: float = _f(1e-4, "UNet learning rate", min_exclusive=0.0)
    text_encoder_lr: float = _f(5e-5, "text-encoder learning rate (usually half the UNet's; SDXL: the first, "
                                "CLIP-L, and the second unless text_encoder2_lr is set)", min_exclusive=0.0)
    text_encoder2_lr: float | None = _f(None, "SDXL's second text encoder (OpenCLIP bigG) learning rate; "
                                        "empty = text_encoder_lr", min_exclusive=0.0)
    optimizer: str = _f("AdamW", "optimizer", choices=OPTIMIZERS)
    optimizer_args: list[str] = _f([], "extra optimizer arguments as key=value (e.g. weight_decay=0.01)")
    scheduler: str = _f("cosine", "learning-rate schedule", choices=SCHEDULERS)
    warmup_steps: int = _f(0, "warm-up steps (use this or warmup_ratio)", min=0)
    warmup_ratio: float = _f(0.0, "warm-up as a fraction of total steps (0..1)", min=0.0, max=1.0)
    cycles: int = _f(1, "restarts for cosine_with_restarts", min=1)
    power: float = _f(1.0, "power for the polynomial schedule", min_exclusive=0.0)
    batch_size: int = _f(1, "images per step on each GPU", min=1, max=1024)
    grad_accumulation: int = _f(1, "steps accumulated per optimizer update", min=1)
    max_grad_norm: float = _f(1.0, "gradient clipping norm (0 = off)", min=0.0)
    noise_offset: float = _f(0.0, "noise offset (0.05-0.1 helps very dark/bright images; 0 = off)", min=0.0, max=1.0)
    min_snr_gamma: float = _f(0.0, "min-SNR loss weighting gamma (5 is common; 0 = off)", min=0.0)
    mixed_precision: str = _f("fp16", "compute precision (bf16 needs Ampere or newer)", choices=MIXED_PRECISION)
    gradient_checkpointing: bool = _f(False, "trade speed for memory")
    seed: int = _f(42, "random seed", min=0)
    ema: bool = _f(False, "keep an exponential moving average (EMA) of the LoRA weights, updated every step, "
                   "and save it as the output")
    ema_decay: float = _f(0.999, "EMA decay per step (0.99-0.9999; higher = smoother, slower to follow)",
                          min=0.0, max=0.999999)


@dataclass
class ScheduleConfig:
    epochs: int = _f(10, "epochs (8-12 is the usual range)", min=1, max=MAX_EPOCHS)
    max_steps: int = _f(0, "stop after this many steps instead (0 = use epochs)", min=0, max=MAX_STEPS)
    save_every_n_epochs: int = _f(1, "save a LoRA every N epochs (0 = only at the end)", min=0)
    save_every_n_steps: int = _f(0, "save a LoRA every N steps (0 = off)", min=0)
    keep_last: int = _f(0, "keep only the last N saved LoRAs (0 = keep all)", min=0)
    sample_every_n_epochs: int = _f(1, "generate samples every N epochs (0 = off)", min=0)
    sample_every_n_steps: int = _f(0, "generate samples every N steps (0 = off)", min=0)
    validate_every_n_steps: int = _f(0, "validation loss every N steps (0 = at each epoch end; needs "
                                     "dataset.validation_split or a validation subset)", min=0)
    sample_prompts: list[str] = _f([], "sample prompts, kohya syntax: `prompt --n negative --w 512 --h 768 --d 42 --s 28 --l 7`")
    sample_strengths: list[float] = _f([0.6, 1.0], "LoRA strengths to sample at")
    sample_sampler: str = _f("euler_a", "sampler for samples", choices=SAMPLERS)


@dataclass
class OutputConfig:
    dir: str = _f("output", "folder for LoRA files, samples and run state")
    name: str = _f("my_lora", "file name without extension")
    save_precision: str = _f("fp16", "precision of the saved LoRA", choices=SAVE_PRECISION)
    title: str = _f("", "metadata: title (modelspec.title)")
    author: str = _f("", "metadata: author")
    description: str = _f("", "metadata: description")
    trigger_words: list[str] = _f([], "trigger words (first tag of every caption)")
    save_raw_with_ema: bool = _f(False, "with optim.ema: also save the raw (non-averaged) weights as "
                                 "NAME-raw.safetensors")


@dataclass
class HardwareConfig:
    device: str = _f("auto", "auto, cuda, cuda:N or cpu")
    gpu_ids: list[int] = _f([], "GPU indices to use (empty = the first visible)")
    num_processes: int = _f(1, "training processes (one per GPU)", min=1)
    stall_factor: float = _f(10.0, "watchdog: a run with no progress for this many times its median step is "
                             "reported stalled (0 = no watchdog)", min=0.0)
    stall_minutes: float = _f(5.0, "watchdog: never report a stall before this many minutes without progress "
                              "(3x that before the first step)", min=0.0)
    cpu_threads: int = _f(0, "CPU threads of the training worker (0: the cores this process may use)", min=0)


@dataclass
class TrainConfig:
    """A complete LoRA training run. ``from_toml``/``to_toml`` read and write it; ``validate`` finds
    problems; ``step_math`` says what it will cost."""

    concept: str = _f("character", "what the LoRA teaches (drives presets and warnings)", choices=CONCEPTS)
    model: ModelConfig = field(default_factory=ModelConfig, metadata={"help": "base model"})
    dataset: DatasetConfig = field(default_factory=DatasetConfig, metadata={"help": "images and captions"})
    network: NetworkConfig = field(default_factory=NetworkConfig, metadata={"help": "the LoRA network"})
    optim: OptimConfig = field(default_factory=OptimConfig, metadata={"help": "optimisation"})
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig, metadata={"help": "epochs, saving, sampling"})
    output: OutputConfig = field(default_factory=OutputConfig, metadata={"help": "output files and metadata"})
    hardware: HardwareConfig = field(default_factory=HardwareConfig, metadata={"help": "GPUs and processes"})
    base_dir: str = field(default="", compare=False, repr=False, metadata={"internal": True,
                          "help": "folder relative paths are resolved against (the config file's folder)"})

    # ---- files -------------------------------------------------------------------------------
    @classmethod
    def from_toml(cls, text: str, base_dir: str = "") -> "TrainConfig":
        """Parse TOML text. Raises ``ConfigError`` listing every problem with its key path."""
        from .toml_io import config_from_toml

        return config_from_toml(text, base_dir=base_dir)

    @classmethod
    def load(cls, path: str) -> "TrainConfig":
        """Read a config file; relative paths in it are relative to its folder."""
        from .toml_io import load_config

        return load_config(path)

    def to_toml(self) -> str:
        from .toml_io import config_to_toml

        return config_to_toml(self)

    def save(self, path: str) -> None:
        """Write atomically (temp file + rename)."""
        from .toml_io import save_config

        save_config(self, path)

    # ---- checks ------------------------------------------------------------------------------
    def validate(self, image_counts: list[int | None] | None = None, check_files: bool = True) -> list:
        from .validate import validate

        return validate(self, image_counts=image_counts, check_files=check_files)

    def step_math(self, image_counts: list[int | None] | None = None, seconds_per_step: float | None = None):
        from .stepmath import step_math

        return step_math(self, image_counts=image_counts, seconds_per_step=seconds_per_step)

    # ---- paths -------------------------------------------------------------------------------
    def abspath(self, p: str) -> str:
        """``p`` made absolute against ``base_dir`` (or the current folder); "" stays ""."""
        if not p:
            return ""
        p = os.path.expanduser(p)
        return os.path.normpath(p if os.path.isabs(p) else os.path.join(self.base_dir or os.getcwd(), p))

    def subset_dir(self, subset: SubsetConfig) -> str:
        """Absolute folder of a subset (image_dir relative to dataset.root)."""
        root = self.abspath(self.dataset.root) if self.dataset.root else (self.base_dir or os.getcwd())
        d = os.path.expanduser(subset.image_dir)
        return os.path.normpath(d if os.path.isabs(d) else os.path.join(root, d))

    def output_file(self) -> str:
        """The final LoRA file this config will write."""
        return os.path.join(self.abspath(self.output.dir), f"{self.output.name}.safetensors")

    def resolved(self) -> "TrainConfig":
        """A copy whose paths are all absolute (what a training worker should use)."""
        c = copy.deepcopy(self)
        c.model.base = self.abspath(self.model.base)
        c.model.vae = self.abspath(self.model.vae)
        c.model.config_dir = self.abspath(self.model.config_dir)
        c.dataset.subsets = [dataclasses.replace(s, image_dir=self.subset_dir(s)) for s in self.dataset.subsets]
        c.dataset.root = self.abspath(self.dataset.root)
        c.output.dir = self.abspath(self.output.dir)
        return c

    def copy(self) -> "TrainConfig":
        return copy.deepcopy(self)


SECTIONS = ("model", "dataset", "network", "optim", "schedule", "output", "hardware")


def field_meta(cls, name: str) -> dict:
    for f in fields(cls):
        if f.name == name:
            return dict(f.metadata)
    raise KeyError(name)
