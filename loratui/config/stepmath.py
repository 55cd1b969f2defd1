"""Step math: what a config costs in steps and (once a speed is known) in time.

Matches sd-scripts: batches per epoch = images x repeats / batch (rounded up; per bucket when
bucketing, so the real number can be a little higher), split across processes, divided by gradient
accumulation (rounded up) = optimizer steps per epoch. Regularisation images are repeated to match
the training images, doubling the views.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .model import TrainConfig


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


def step_math(cfg: TrainConfig, image_counts: list[int | None] | None = None,
              seconds_per_step: float | None = None) -> StepMath:
    """Steps for ``cfg``. ``image_counts`` gives one count per subset (default: list the folders);
    ``seconds_per_step`` (default: the speed recorded for this machine, if any) gives the ETA."""
    if image_counts is None:
        from .validate import count_images

        image_counts = count_images(cfg)
    if seconds_per_step is None:
        from .speed import known_speed

        seconds_per_step = known_speed(cfg)
    o, sc = cfg.optim, cfg.schedule
    subsets = [SubsetMath(s.image_dir, c, s.repeats, s.is_reg) for s, c in zip(cfg.dataset.subsets, image_counts)]
    train_views = sum(s.views for s in subsets if not s.is_reg)
    reg = any(s.is_reg and s.views for s in subsets)
    views = train_views * 2 if reg else train_views
    batch = max(1, o.batch_size)
    accum = max(1, o.grad_accumulation)
    procs = max(1, cfg.hardware.num_processes)
    batches = math.ceil(views / batch)
    steps_per_epoch = math.ceil(math.ceil(batches / procs) / accum)
    notes = []
    if cfg.dataset.enable_bucket and batch > 1:
        notes.append("bucketing rounds up per bucket: a few more steps per epoch are possible")
    if reg:
        notes.append("regularisation images are repeated to match the training images (views doubled)")
    if any(c is None for c in image_counts):
        notes.append("some subset folders could not be read: counted as 0 images")
    if sc.max_steps:
        total = sc.max_steps
        epochs = total / steps_per_epoch if steps_per_epoch else 0.0
    else:
        total = steps_per_epoch * sc.epochs
        epochs = float(sc.epochs)
    return StepMath(subsets, sum(s.images or 0 for s in subsets if not s.is_reg), views, batch, accum, procs,
                    batches, steps_per_epoch, epochs, total, seconds_per_step, notes)


def format_duration(seconds: float) -> str:
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h}h{m:02d}m"
    if m:
        return f"{m}m{s:02d}s"
    return f"{s}s"
