"""What the check needs from the training config, with kohya/loratui defaults when there is none."""

from __future__ import annotations

from dataclasses import dataclass, field

from .duplicates import NEAR_THRESHOLD


@dataclass
class CheckOptions:
    resolution: tuple[int, int] = (512, 512)
    """Training (width, height)."""
    enable_bucket: bool = True
    min_bucket_reso: int = 256
    max_bucket_reso: int = 1024
    bucket_reso_steps: int = 64
    bucket_no_upscale: bool = False
    batch_size: int = 1
    keep_tokens: int = 1
    """Leading tags protected from shuffling: the trigger word must be among them."""
    shuffle_caption: bool = True
    trigger_words: list[str] = field(default_factory=list)
    """Empty: inferred per subset from its folder name (``10_mychar`` -> ``mychar``) when most of
    the subset's captions carry it."""
    concept: str | None = None
    """character | style | background | concept | other; None: character subsets are recognised by
    their tags (most captions say ``1girl``/``1boy``/``solo``)."""
    reg_subsets: set[str] = field(default_factory=set)
    """Subset folders (relative to the dataset root) holding regularisation images."""
    near_threshold: int = NEAR_THRESHOLD
    min_images: int = 20
    absorb_ratio: float = 0.8
    """A tag in at least this share of a character subset's captions is suggested for pruning."""
    use_cache: bool = True
    tokenizer_paths: list[str] = field(default_factory=list)
    """Where to look for a CLIP ``merges.txt`` (the base model's folder is added from a config)."""
    vocabulary: set[str] | None = None
    """Known tag keys (the tagger's list) for typo checks; None: look for a local WD14 model."""
    config: object = None
    """The ``TrainConfig`` these options came from, for step math (None: no config)."""

    @classmethod
    def from_config(cls, cfg, root: str | None = None, **overrides) -> "CheckOptions":
        """Options from a ``loratui.config.TrainConfig``; ``root`` (the dataset folder checked)
        maps the config's regularisation subsets to folders."""
        import os

        d = cfg.dataset
        res = list(d.resolution) if d.resolution else [512]
        res = res * 2 if len(res) == 1 else res
        reg = set()
        if root:
            for s in d.subsets:
                if s.is_reg:
                    reg.add(os.path.relpath(cfg.subset_dir(s), os.path.abspath(root)).replace(os.sep, "/"))
        paths = [p for p in (cfg.abspath(cfg.model.base), cfg.abspath(getattr(cfg.model, "config_dir", "")))
                 if p and os.path.isdir(p)]
        opts = cls(resolution=(int(res[0]), int(res[1])), enable_bucket=d.enable_bucket,
                   min_bucket_reso=d.min_bucket_reso, max_bucket_reso=d.max_bucket_reso,
                   bucket_reso_steps=d.bucket_reso_steps, bucket_no_upscale=d.bucket_no_upscale,
                   batch_size=cfg.optim.batch_size, keep_tokens=d.keep_tokens, shuffle_caption=d.shuffle_caption,
                   trigger_words=list(cfg.output.trigger_words), concept=cfg.concept, reg_subsets=reg,
                   tokenizer_paths=paths, config=cfg)
        for k, v in overrides.items():
            setattr(opts, k, v)
        return opts
