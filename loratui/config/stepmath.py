"""Step math: what a config costs in steps and (once a speed is known) in time.

The worker's own count, computed without it: every subset folder is scanned as the worker scans
it, its training images are the ones ``loratui.dataset.training_images`` defines (sizes from
headers only), each goes to the bucket ``loratui.dataset.buckets`` assigns, and batches are counted
per bucket (views rounded up to the batch size), split across processes and divided by gradient
accumulation (rounded up): optimizer steps per epoch, the figure the worker's ``dataset`` event
reports. Regularisation images are cycled to match the training views (sd-scripts), about doubling
them. ``max_steps``, when set, decides alone (sd-scripts' ``max_train_steps``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .model import TrainConfig

if TYPE_CHECKING:
    from loratui.dataset.training_images import FolderImages


@dataclass
class SubsetMath:
    image_dir: str
    images: int | None
    repeats: int
    is_reg: bool = False

    @property
    def views(self) -> int:
        return (self.images or 0) * self.repeats


@dataclass
class StepMath:
    subsets: list[SubsetMath]
    images: int
    """Training images (not regularisation)."""
    views_per_epoch: int
    """Images x repeats over all subsets (x2 when regularisation images are used)."""
    batch_size: int
    grad_accumulation: int
    num_processes: int
    batches_per_epoch: int
    steps_per_epoch: int
    """Optimizer steps per epoch."""
    epochs: float
    """Epochs run (fractional when max_steps stops early)."""
    total_steps: int
    seconds_per_step: float | None = None
    notes: list[str] = field(default_factory=list)
    num_epochs: int = 0
    """Epochs the worker runs (the last one cut short by max_steps): ``ss_num_epochs``."""
    exact: bool = False
    """True when computed from the images themselves (bucketed as the worker does)."""

    @property
    def eta_seconds(self) -> float | None:
        return None if self.seconds_per_step is None else self.total_steps * self.seconds_per_step

    @property
    def views_per_image(self) -> float:
        """How often the average training image is seen over the whole run."""
        train_views = sum(s.views for s in self.subsets if not s.is_reg)
        return (train_views / self.images * self.epochs) if self.images else 0.0

    def to_dict(self) -> dict:
        return {
            "subsets": [{"image_dir": s.image_dir, "images": s.images, "repeats": s.repeats, "is_reg": s.is_reg,
                         "views": s.views} for s in self.subsets],
            "images": self.images, "views_per_epoch": self.views_per_epoch, "batch_size": self.batch_size,
            "grad_accumulation": self.grad_accumulation, "num_processes": self.num_processes,
            "batches_per_epoch": self.batches_per_epoch, "steps_per_epoch": self.steps_per_epoch,
            "epochs": self.epochs, "total_steps": self.total_steps, "views_per_image": self.views_per_image,
            "seconds_per_step": self.seconds_per_step, "eta_seconds": self.eta_seconds, "notes": self.notes,
            "num_epochs": self.num_epochs, "exact": self.exact,
        }

    def lines(self) -> list[str]:
        """A short human summary (CLI and TUI)."""
        out = []
        for s in self.subsets:
            n = "?" if s.images is None else f"{s.images:,}"
            out.append(f"{s.image_dir or '.'}: {n} images x {s.repeats} repeats = {s.views:,}"
                       + (" (regularisation)" if s.is_reg else ""))
        per = f"{self.views_per_epoch:,} views / epoch; batch {self.batch_size}"
        if self.grad_accumulation > 1:
            per += f" x accumulation {self.grad_accumulation}"
        if self.num_processes > 1:
            per += f" x {self.num_processes} processes"
        out.append(per + f" -> {self.steps_per_epoch:,} steps / epoch")
        ep = f"{self.epochs:g}" if self.epochs == int(self.epochs) else f"{self.epochs:.2f}"
        out.append(f"{ep} epochs -> {self.total_steps:,} steps; each image seen ~{self.views_per_image:.0f} times")
        if self.eta_seconds is not None:
            out.append(f"ETA {format_duration(self.eta_seconds)} at {self.seconds_per_step:.2f} s/step")
        else:
            out.append("ETA unknown until a run or benchmark on this machine measures the speed")
        out += self.notes
        return out


def survey(cfg: TrainConfig) -> list[FolderImages]:
    """The training images of each subset folder, read as the worker reads them (headers only)."""
    from loratui.dataset.training_images import folder_images

    ext = cfg.dataset.caption_extension or ".txt"
    return [folder_images(cfg.subset_dir(s), ext) for s in cfg.dataset.subsets]


def without_held_out(cfg: TrainConfig, images: list) -> list:
    """The surveyed images minus those held out for the validation loss (the worker never trains on
    them: ``loratui.dataset.validation_split``)."""
    import dataclasses

    subs = cfg.dataset.subsets
    val = {i for i, s in enumerate(subs) if getattr(s, "validation", False)}
    if not val and not cfg.dataset.validation_split:
        return images
    from loratui.dataset.validation_split import held_out

    reg = {i for i, s in enumerate(subs) if s.is_reg}
    listed = [(si, rel) for si, fi in enumerate(images) if not fi.error for rel, _ in fi.images]
    held = held_out(listed, cfg.dataset.validation_split, val, reg, cfg.optim.seed)
    return [fi if fi.error else dataclasses.replace(fi, images=[(r, sz) for r, sz in fi.images if (si, r) not in held])
            for si, fi in enumerate(images)]


def step_math(cfg: TrainConfig, image_counts: list[int | None] | None = None,
              seconds_per_step: float | None = None, images: list[FolderImages] | None = None) -> StepMath:
    """Steps for ``cfg``. ``images`` (from ``survey``) gives each subset's training images and their
    sizes (default: survey the folders); ``image_counts`` alone (one count per subset) gives an
    estimate without buckets. ``seconds_per_step`` (default: the speed recorded for this machine,
    if any) gives the ETA."""
    # imported here: loratui.config stays importable without the dataset package (and its numpy)
    from loratui.dataset.buckets import (
        BucketManager,
        BucketSettings,
        batches_per_epoch,
        effective_repeats,
        epochs_and_total,
        steps_per_epoch,
    )

    if images is None and image_counts is None:
        images = survey(cfg)
    if images is not None:
        images = without_held_out(cfg, images)
        image_counts = [None if fi.error else fi.count for fi in images]
    assert image_counts is not None
    if seconds_per_step is None:
        from .speed import known_speed

        seconds_per_step = known_speed(cfg)
    o, sc = cfg.optim, cfg.schedule
    subs = cfg.dataset.subsets
    subsets = [SubsetMath(s.image_dir, c, s.repeats, s.is_reg) for s, c in zip(subs, image_counts)]
    # (repeats, is_reg) of every image in the worker's order: subsets in order, images in scan order
    per_image = [(s.repeats, s.is_reg) for s, c in zip(subs, image_counts) for _ in range(c or 0)]
    reps = effective_repeats(per_image)
    views = sum(reps)
    reg = any(s.is_reg and s.views for s in subsets)
    batch = max(1, o.batch_size)
    accum = max(1, o.grad_accumulation)
    procs = max(1, cfg.hardware.num_processes)
    notes = []
    if images is not None:
        bm = BucketManager(BucketSettings.of(cfg.dataset))
        sizes = [size for fi in images if not fi.error for _, size in fi.images]
        per_bucket: dict[tuple[int, int], int] = {}
        for size, r in zip(sizes, reps):
            b = bm.select(*size)[0]
            per_bucket[b] = per_bucket.get(b, 0) + r
        batches = batches_per_epoch(per_bucket.values(), batch)
        skipped = sum(len(fi.skipped) for fi in images)
        if skipped:
            notes.append(f"{skipped} listed image{'s are' if skipped != 1 else ' is'} not readable and not counted "
                         "(see `loratui check`)")
    else:
        batches = math.ceil(views / batch)
        if cfg.dataset.enable_bucket and batch > 1:
            notes.append("bucketing rounds up per bucket: a few more steps per epoch are possible")
    spe = steps_per_epoch(batches, procs, accum)
    if reg:
        notes.append("regularisation images are repeated to match the training images (views doubled)")
    if any(c is None for c in image_counts):
        notes.append("some subset folders could not be read: counted as 0 images")
    num_epochs, total = epochs_and_total(spe, sc.epochs, sc.max_steps)
    epochs = (total / spe if spe else 0.0) if sc.max_steps else float(sc.epochs)
    return StepMath(subsets, sum(s.images or 0 for s in subsets if not s.is_reg), views, batch, accum, procs,
                    batches, spe, epochs, total, seconds_per_step, notes, num_epochs, images is not None)


def format_duration(seconds: float) -> str:
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h}h{m:02d}m"
    if m:
        return f"{m}m{s:02d}s"
    return f"{s}s"
