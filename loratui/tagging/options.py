"""Options of a tagging run and the presets the CLI and the TUI dialog offer. No numpy, no onnxruntime."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

MAX_PIXELS = 89_478_485
"""Pillow's own decompression-bomb warning limit; larger images are skipped, never decoded."""


@dataclass
class SelectOptions:
    """How tags are chosen from a model's probabilities and written as text."""

    general_threshold: float = 0.35
    """General tags with a probability strictly above this are kept."""
    character_threshold: float = 0.85
    """Character tags with a probability strictly above this are kept."""
    general_mcut: bool = False
    """Pick the general threshold per image with MCut (midpoint of the largest gap) instead."""
    character_mcut: bool = False
    """Same for character tags (never below 0.15)."""
    rating: bool = False
    """Add the most likely rating tag (general, sensitive, questionable, explicit)."""
    undesired: list[str] = field(default_factory=list)
    """Tags never written (compared loosely: case, ``_`` vs space)."""
    replace: list[tuple[str, str]] = field(default_factory=list)
    """(from, to) pairs applied to predicted tags; an empty ``to`` drops the tag."""
    underscores_to_spaces: bool = True
    """``long_hair`` -> ``long hair``; kaomoji such as ``^_^`` are kept as written."""
    escape_brackets: bool = False
    """Write ``(`` ``)`` ``\\`` as ``\\(`` ``\\)`` ``\\\\`` so prompt attention syntax leaves them alone."""
    characters_first: bool = True
    """Character tags before general tags (each group sorted by probability)."""
    always_first: list[str] = field(default_factory=list)
    """Tags put at the front of every caption, in this order (the trigger word)."""

    def validate(self) -> None:
        for name in ("general_threshold", "character_threshold"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name.replace('_', ' ')} must be between 0 and 1, not {v}")


MODES = ("skip", "append", "overwrite")
MODE_HELP = {
    "skip": "tag only images without tags; captioned images are left alone",
    "append": "add predicted tags after the existing ones (no duplicates, existing order kept)",
    "overwrite": "replace every caption with the prediction",
}


@dataclass
class TaggingOptions:
    """Everything a tagging run needs besides the dataset and the images."""

    model: str | None = None
    """A known model name (see ``KNOWN_MODELS``); None: the default model."""
    model_dir: str | None = None
    """A folder holding model.onnx + selected_tags.csv; wins over ``model``."""
    select: SelectOptions = field(default_factory=SelectOptions)
    """Thresholds, MCut, rating, undesired/replaced tags, text rules, always-first tags."""
    mode: str = "skip"
    """skip | append | overwrite (see ``MODE_HELP``)."""
    batch: int | None = None
    """Batch size for free-batch models (None: 16 on GPU, 4 on CPU); fixed-batch models use theirs."""
    workers: int | None = None
    """Image decoding threads (None: one per CPU core, at most 16)."""
    require_gpu: bool = False
    """Fail instead of running on the CPU when CUDA is not usable."""
    keep_probs: bool = True
    """Store probabilities in ``.loratui/tagger/probs.sqlite`` (resume, re-threshold, TUI confidences)."""
    use_cache: bool = True
    """Reuse stored probabilities of unchanged images instead of running the model again."""
    max_pixels: int = MAX_PIXELS
    """Images larger than this many pixels are skipped (decompression bombs)."""
    fast_decode: bool = False
    """Decode big JPEGs at reduced scale and pre-shrink with a box filter: several times faster
    on large photos (helps when the GPU waits for the CPU); pixels differ slightly from the
    reference preprocessing, so tags can differ at the margin. Off: exact reference."""

    def validate(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.batch is not None and self.batch < 1:
            raise ValueError("batch must be 1 or more")
        self.select.validate()


@dataclass(frozen=True)
class Preset:
    description: str
    changes: dict
    """TaggingOptions fields to set; ``select.<field>`` keys set SelectOptions fields."""


PRESETS: dict[str, Preset] = {
    "default": Preset("WD14 defaults: general > 0.35, character > 0.85, new images only", {}),
    "character": Preset("a character LoRA: defaults, character tags first, no rating (add the trigger word "
                        "as an always-first tag)", {"select.characters_first": True, "select.rating": False}),
    "style": Preset("a style LoRA: more general tags (> 0.30), no character tags",
                    {"select.general_threshold": 0.30, "select.character_threshold": 1.0}),
    "strict": Preset("fewer, surer tags: general > 0.50, character > 0.90",
                     {"select.general_threshold": 0.50, "select.character_threshold": 0.90}),
    "loose": Preset("more tags to prune by hand: general > 0.25, character > 0.75",
                    {"select.general_threshold": 0.25, "select.character_threshold": 0.75}),
    "mcut": Preset("per-image thresholds by MCut (general and character)",
                   {"select.general_mcut": True, "select.character_mcut": True}),
}


def apply_preset(name: str, base: TaggingOptions | None = None) -> TaggingOptions:
    """A copy of ``base`` (default options) with preset ``name``'s values set."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    base = base or TaggingOptions()
    sel = replace(base.select, undesired=list(base.select.undesired), replace=list(base.select.replace),
                  always_first=list(base.select.always_first))
    top: dict = {}
    for k, v in PRESETS[name].changes.items():
        if k.startswith("select."):
            setattr(sel, k[7:], v)
        else:
            top[k] = v
    return replace(base, select=sel, **top)


