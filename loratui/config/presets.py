"""Starting presets (character / style / background / concept) and user presets saved as files.

The built-in numbers are the community's conventional starting values, not measured optima.
A user preset is a normal config file in ``<config dir>/presets/NAME.toml``; applying one copies
its training settings (concept, network, optimisation, schedule, caption handling) and keeps the
target's model, dataset folders and output location.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass

from .model import TrainConfig

DISCLAIMER = "Conventional community starting values, not measured optima: tune them for your data."


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    concept: str
    network_type: str
    dim: int
    alpha: float
    unet_lr: float
    text_encoder_lr: float
    conv_dim: int = 16
    conv_alpha: float = 8.0
    repeats: int = 10
    epochs: int = 10
    trigger_required: bool = True
    model: str = ""
    """a model preset applied after (``MODEL_PRESETS``), e.g. ``sdxl``"""

    def apply(self, cfg: TrainConfig) -> TrainConfig:
        """A copy of ``cfg`` with this preset's settings (folder repeats from names are kept)."""
        c = copy.deepcopy(cfg)
        c.concept = self.concept
        c.network.type = self.network_type
        c.network.dim, c.network.alpha = self.dim, self.alpha
        c.network.conv_dim, c.network.conv_alpha = self.conv_dim, self.conv_alpha
        c.optim.unet_lr, c.optim.text_encoder_lr = self.unet_lr, self.text_encoder_lr
        c.schedule.epochs = self.epochs
        c.schedule.max_steps = 0
        # a character's fixed traits sit behind the trigger word; flips would mirror asymmetric details
        c.dataset.flip_aug = self.concept in ("style", "background")
        c.dataset.keep_tokens = 1 if self.trigger_required else 0
        if self.model:
            c = MODEL_PRESETS[self.model].apply(c)
            c.optim.unet_lr = self.unet_lr
        return c


BUILTIN: dict[str, Preset] = {p.name: p for p in (
    Preset("character", "a person or character: LoRA 32/16, UNet 1e-4, TE 5e-5, 10 repeats x 10 epochs; "
           "trigger word required", "character", "lora", 32, 16.0, 1e-4, 5e-5),
    Preset("style", "an art style: LoCon 32/16 (conv 16/8), UNet 8e-5, TE 4e-5, 10 x 10; "
           "lower LRs because a style is more general", "style", "locon", 32, 16.0, 8e-5, 4e-5,
           trigger_required=False),
    Preset("background", "scenery and places: LoRA 32/16, UNet 8e-5, TE 4e-5, 10 x 10",
           "background", "lora", 32, 16.0, 8e-5, 4e-5, trigger_required=False),
    Preset("concept", "an object, pose or effect: LoRA 16/8, UNet 1e-4, TE 5e-5, 10 x 10; trigger word required",
           "concept", "lora", 16, 8.0, 1e-4, 5e-5),
    Preset("sdxl-character", "a character on SDXL (Illustrious, NoobAI, Pony...): LoRA 16/8, UNet only 1e-4, "
           "1024 px, bf16, gradient checkpointing; 10 x 10; trigger word required", "character", "lora", 16, 8.0,
           1e-4, 5e-5, model="sdxl"),
    Preset("sdxl-style", "an art style on SDXL: LoCon 32/16 (conv 16/8), UNet only 8e-5, 1024 px, bf16, "
           "gradient checkpointing; 10 x 10", "style", "locon", 32, 16.0, 8e-5, 4e-5, trigger_required=False,
           model="sdxl"),
)}


PONY_SCORE_TAGS = "score_9, score_8_up, score_7_up"
"""Pony Diffusion V6 XL's quality tags, which its LoRAs are commonly trained and prompted with."""


@dataclass(frozen=True)
class ModelPreset:
    """What a model family's community trains with, applied on top of a concept preset: the family,
    its prediction type, its resolution and SDXL's usual memory and text-encoder settings."""
    name: str
    description: str
    family: str
    prediction_type: str = "auto"
    zero_terminal_snr: bool = False
    caption_prefix_hint: str = ""
    """Offered, never applied by itself (``config new --score-tags`` applies Pony's)."""

    def apply(self, cfg: TrainConfig) -> TrainConfig:
        c = copy.deepcopy(cfg)
        c.model.family = self.family
        c.model.prediction_type = self.prediction_type
        c.model.zero_terminal_snr = self.zero_terminal_snr
        if self.family == "sdxl":
            # sd-scripts' SDXL conventions: 1024-area buckets, step 64; clip skip is not used;
            # UNet only (the encoders of these finetunes are fragile); bf16 and checkpointing fit 24 GB
            c.model.clip_skip = 1
            c.dataset.resolution = [1024, 1024]
            c.dataset.min_bucket_reso, c.dataset.max_bucket_reso, c.dataset.bucket_reso_steps = 512, 2048, 64
            c.network.train_text_encoder = False
            c.optim.mixed_precision = "bf16"
            c.optim.gradient_checkpointing = True
            if c.optim.unet_lr >= 1e-4:
                c.optim.unet_lr = 1e-4
        elif self.family == "sd2-v":
            c.dataset.resolution = [768, 768]
        return c


MODEL_PRESETS: dict[str, ModelPreset] = {p.name: p for p in (
    ModelPreset("sd1", "SD 1.x and its finetunes: 512 px, epsilon", "sd1"),
    ModelPreset("sdxl", "SDXL base and epsilon finetunes: 1024 px buckets (step 64), UNet only, bf16, "
                "gradient checkpointing", "sdxl", "epsilon"),
    ModelPreset("illustrious", "Illustrious-XL (epsilon): as sdxl; tag captions, clip skip not used",
                "sdxl", "epsilon"),
    ModelPreset("noobai-eps", "NoobAI-XL epsilon: as sdxl", "sdxl", "epsilon"),
    ModelPreset("noobai-vpred", "NoobAI-XL v-pred: v-prediction with zero-terminal SNR (sd-scripts' "
                "--v_parameterization --zero_terminal_snr)", "sdxl", "v_prediction", True),
    ModelPreset("pony", "Pony Diffusion V6 XL (epsilon): as sdxl; its score tags "
                f"({PONY_SCORE_TAGS}) offered as a caption prefix with --score-tags", "sdxl", "epsilon",
                caption_prefix_hint=PONY_SCORE_TAGS),
)}


def config_dir() -> str:
    env = os.environ.get("LORATUI_CONFIG_DIR")
    if env:
        return env
    import platformdirs

    return platformdirs.user_config_dir("loratui", appauthor=False)


def user_presets_dir() -> str:
    return os.path.join(config_dir(), "presets")


_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")


def user_preset_names() -> list[str]:
    try:
        names = [f[:-5] for f in os.listdir(user_presets_dir()) if f.endswith(".toml") and not f.startswith(".")]
    except OSError:
        return []
    return sorted(names)


def preset_names() -> list[str]:
    """Built-in names first, then user presets (a user preset may not shadow a built-in)."""
    return list(BUILTIN) + [n for n in user_preset_names() if n not in BUILTIN]


def save_user_preset(name: str, cfg: TrainConfig) -> str:
    """Save ``cfg`` as a user preset; returns the file path. Raises ValueError for a bad name."""
    if not _NAME_RE.match(name) or name.endswith("."):
        raise ValueError(f"preset name {name!r}: use letters, digits, space, _ . - (up to 64)")
    if name in BUILTIN:
        raise ValueError(f"preset name {name!r} is a built-in preset; pick another")
    path = os.path.join(user_presets_dir(), name + ".toml")
    cfg.save(path)
    return path


def apply_user_preset(preset: TrainConfig, cfg: TrainConfig) -> TrainConfig:
    c = copy.deepcopy(cfg)
    c.concept = preset.concept
    c.network = copy.deepcopy(preset.network)
    c.optim = copy.deepcopy(preset.optim)
    c.schedule = copy.deepcopy(preset.schedule)
    root, subsets = c.dataset.root, c.dataset.subsets
    c.dataset = copy.deepcopy(preset.dataset)
    c.dataset.root, c.dataset.subsets = root, subsets
    c.model.family, c.model.clip_skip = preset.model.family, preset.model.clip_skip
    c.output.save_precision = preset.output.save_precision
    return c


def apply_preset(name: str, cfg: TrainConfig | None = None) -> TrainConfig:
    """Apply a built-in or user preset by name. Raises KeyError (unknown) or ConfigError (bad file)."""
    cfg = cfg if cfg is not None else TrainConfig()
    if name in BUILTIN:
        return BUILTIN[name].apply(cfg)
    path = os.path.join(user_presets_dir(), name + ".toml")
    if not os.path.isfile(path):
        raise KeyError(f"unknown preset {name!r}; known: {', '.join(preset_names())}")
    return apply_user_preset(TrainConfig.load(path), cfg)


_SUBSET_RE = re.compile(r"^(\d+)_(.+)$")


def find_subsets(root: str, default_repeats: int = 10):
    """Subset folders of a kohya-layout dataset: ``root/<repeats>_<name>`` folders with images, or
    ``root`` itself when it holds the images. Directory listings only."""
    from loratui.dataset import IMAGE_EXTS

    from .model import SubsetConfig

    def has_images(d: str) -> bool:
        try:
            with os.scandir(d) as it:
                return any(os.path.splitext(e.name)[1].lower() in IMAGE_EXTS and not e.name.startswith(".")
                           for e in it)
        except OSError:
            return False

    out = []
    try:
        entries = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    except OSError:
        entries = []
    for name in entries:
        m = _SUBSET_RE.match(name)
        if m and has_images(os.path.join(root, name)):
            out.append(SubsetConfig(name, max(1, int(m.group(1))), m.group(2).strip()))
    if not out and has_images(root):
        m = _SUBSET_RE.match(os.path.basename(os.path.abspath(root)))
        out.append(SubsetConfig(".", max(1, int(m.group(1))) if m else default_repeats, m.group(2) if m else ""))
    return out


def new_config(dataset_dir: str = "", preset: str = "character", base: str = "", family: str | None = None,
               output_dir: str = "", model_preset: str | None = None, notes: list[str] | None = None,
               score_tags: bool = False) -> TrainConfig:
    """A fresh config for a dataset folder from a preset. Subset repeats come from the folder names;
    for a character or concept the first word of the first subset's name becomes the trigger word.

    The model family: ``family`` if given, else ``model_preset``'s, else what ``base``'s files say
    (``loratui.config.base_model``), else a name with "xl" in it is taken for SDXL. A detected SDXL
    base gets the ``sdxl`` model preset (v-prediction + zero-terminal SNR when the checkpoint carries
    NoobAI's ``v_pred`` / ``ztsnr`` keys). What was decided and why is appended to ``notes``.
    ``score_tags``: Pony's score tags as the caption prefix, kept in front (keep_tokens + 3)."""
    from .base_model import config_family, detect_base_model

    notes = notes if notes is not None else []
    cfg = apply_preset(preset)
    mp = None
    if model_preset:
        if model_preset not in MODEL_PRESETS:
            raise KeyError(f"unknown model preset {model_preset!r}; known: {', '.join(MODEL_PRESETS)}")
        mp = MODEL_PRESETS[model_preset]
    if base:
        cfg.model.base = os.path.abspath(os.path.expanduser(base))
        info = detect_base_model(cfg.model.base)
        found = config_family(info)
        if family is None and mp is None:
            if found:
                family = found
                notes.append(f"model family {found}: {info.describe()}")
                if found == "sdxl":
                    mp = MODEL_PRESETS["noobai-vpred" if info.v_prediction and info.zero_terminal_snr else "sdxl"]
                    if info.v_prediction and not info.zero_terminal_snr:
                        mp = ModelPreset("sdxl-v", "", "sdxl", "v_prediction")
            elif "xl" in os.path.basename(base).lower():
                family = "sdxl"
                mp = MODEL_PRESETS["sdxl"]
                notes.append(f"model family sdxl guessed from the file name ({info.describe()}): check it")
            else:
                notes.append(f"model family {cfg.model.family} (default: {info.describe()})")
        else:
            asked = family or (mp.family if mp is not None else cfg.model.family)
            if found and asked != found and not (found == "sd2-v" and asked == "sd2"):
                notes.append(f"model family {asked} as asked, but the files say {info.describe()}")
    if mp is not None:
        cfg = mp.apply(cfg)
    if family:
        if family == "sdxl" and cfg.model.family != "sdxl":
            cfg = MODEL_PRESETS["sdxl"].apply(cfg)
        cfg.model.family = family
    if cfg.model.family == "sd2-v":
        cfg.dataset.resolution = [768, 768]
    if score_tags:
        cfg.dataset.caption_prefix = PONY_SCORE_TAGS
        n = len(PONY_SCORE_TAGS.split(","))
        cfg.dataset.keep_tokens += n  # the prefix's tags count in keep_tokens (sd-scripts): keep them first
        notes.append(f"caption prefix {PONY_SCORE_TAGS!r}; keep_tokens {cfg.dataset.keep_tokens} keeps it "
                     "(and the trigger word) in front")
    if dataset_dir:
        root = os.path.abspath(os.path.expanduser(dataset_dir))
        cfg.dataset.root = root
        p = BUILTIN.get(preset)
        cfg.dataset.subsets = find_subsets(root, p.repeats if p else 10)
        name = os.path.basename(root.rstrip(os.sep)) or "my_lora"
        cfg.output.name = re.sub(r"[^A-Za-z0-9_.-]+", "_", _SUBSET_RE.sub(r"\2", name)) or "my_lora"
        cfg.output.dir = output_dir or os.path.join(os.path.dirname(root), "output")
        if cfg.concept in ("character", "concept"):
            first = next((s.class_tokens.split()[0] for s in cfg.dataset.subsets if s.class_tokens.strip()), "")
            if first:
                cfg.output.trigger_words = [first]
    elif output_dir:
        cfg.output.dir = output_dir
    if cfg.output.trigger_words and not cfg.schedule.sample_prompts:
        w = cfg.dataset.resolution[0]
        h = round(w * 1.5 / 64) * 64  # a portrait frame shows a character best
        cfg.schedule.sample_prompts = [f"{cfg.output.trigger_words[0]}, solo, looking at viewer "
                                       f"--n lowres, bad anatomy, worst quality --w {w} --h {h} --d 42 --s 28 --l 7"]
    return cfg
