"""sd-scripts' aspect-ratio buckets and the batch count they make: pure Python, no torch.

One implementation for everything that predicts or does training: the worker assigns each image
to a bucket with it, the health check shows the bucket spread with it, and the config's step math
counts batches with it, so the steps a config screen announces are the steps the worker trains.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

Size = tuple[int, int]


@dataclass(frozen=True, slots=True)
class BucketSettings:
    """The bucket options of a config, a train spec or the health check's options."""

    resolution: Size = (512, 512)
    """Training (width, height)."""
    enable_bucket: bool = True
    min_bucket_reso: int = 256
    max_bucket_reso: int = 1024
    bucket_reso_steps: int = 64
    bucket_no_upscale: bool = False

    @classmethod
    def of(cls, obj) -> "BucketSettings":
        """From any object with these attributes (``TrainSpec``, ``CheckOptions``, ``DatasetConfig``)."""
        res = list(getattr(obj, "resolution", (512, 512)) or (512,))
        res = res * 2 if len(res) == 1 else res
        return cls((int(res[0]), int(res[1])), bool(obj.enable_bucket), int(obj.min_bucket_reso),
                   int(obj.max_bucket_reso), int(obj.bucket_reso_steps), bool(obj.bucket_no_upscale))


def make_bucket_resolutions(resolution: Size, min_size: int = 256, max_size: int = 1024,
                            step: int = 64) -> list[Size]:
    """kohya's bucket list: sides multiples of ``step`` in [min, max], area <= width*height."""
    max_area = resolution[0] * resolution[1]
    resos = set()
    side = int(math.sqrt(max_area) // step) * step
    resos.add((side, side))
    width = min_size
    while width <= max_size:
        height = min(max_size, int((max_area // width) // step) * step)
        if height >= min_size:
            resos.add((width, height))
            resos.add((height, width))
        width += step
    return sorted(resos)


class BucketManager:
    """Chooses each image's bucket and the size it is resized to before the centre crop.

    ``settings``: a ``BucketSettings`` or any object carrying the same attributes."""

    def __init__(self, settings):
        s = settings if isinstance(settings, BucketSettings) else BucketSettings.of(settings)
        self.enabled = s.enable_bucket
        self.resolution = s.resolution
        self.step = s.bucket_reso_steps
        self.no_upscale = s.bucket_no_upscale
        self.max_area = self.resolution[0] * self.resolution[1]
        self.resos = make_bucket_resolutions(self.resolution, s.min_bucket_reso, s.max_bucket_reso, self.step)
        self.ratios = [w / h for w, h in self.resos]
        self._selected: dict[Size, tuple[Size, Size]] = {}

    def _round(self, x: float) -> int:
        x = int(x + 0.5)
        return x - x % self.step

    def select(self, width: int, height: int) -> tuple[Size, Size]:
        """(bucket (w, h), resized (w, h)); resized covers the bucket, which is then centre-cropped.
        Remembered per image size: a dataset has far fewer sizes than images."""
        got = self._selected.get((width, height))
        if got is None:
            got = self._selected[(width, height)] = self._select(width, height)
        return got

    def _select(self, width: int, height: int) -> tuple[Size, Size]:
        if not self.enabled:
            reso = self.resolution
            scale = max(reso[0] / width, reso[1] / height)
            return reso, (max(reso[0], int(width * scale + 0.5)), max(reso[1], int(height * scale + 0.5)))
        ar = width / height
        if not self.no_upscale:
            i = min(range(len(self.ratios)), key=lambda k: abs(self.ratios[k] - ar))
            reso = self.resos[i]
            scale = reso[1] / height if ar > reso[0] / reso[1] else reso[0] / width
            resized = (int(width * scale + 0.5), int(height * scale + 0.5))
            return reso, (max(resized[0], reso[0]), max(resized[1], reso[1]))
        if width * height > self.max_area:
            rw = math.sqrt(self.max_area * ar)
            rh = self.max_area / rw
            bw = self._round(rw)
            bh_w = self._round(bw / ar)
            bh = self._round(rh)
            bw_h = self._round(bh * ar)
            if bh_w and bh and abs(bw / bh_w - ar) < abs(bw_h / bh - ar):
                resized = (bw, int(bw / ar + 0.5))
            else:
                resized = (int(bh * ar + 0.5), bh)
        else:
            resized = (width, height)
        reso = (resized[0] - resized[0] % self.step, resized[1] - resized[1] % self.step)
        if reso[0] < self.step or reso[1] < self.step:
            reso = (max(reso[0], self.step), max(reso[1], self.step))
            scale = max(reso[0] / width, reso[1] / height)
            resized = (int(width * scale + 0.5), int(height * scale + 0.5))
        return reso, resized


# ---- counting ------------------------------------------------------------------------------------
def reg_repeats(train_views: int, reg_repeats_in: list[int]) -> list[int]:
    """Effective repeats of regularisation images, as sd-scripts' DreamBoothDataset sets them.

    Regularisation images are cycled (first pass: each with its own repeats; later passes: one
    more repeat each) until they add up to as many views as the training images, so that half of
    what the model sees is regularisation. With no training views, none are used."""
    out = [0] * len(reg_repeats_in)
    if not reg_repeats_in or train_views <= 0:
        return out
    n = 0
    first = True
    while n < train_views:
        for i, r in enumerate(reg_repeats_in):
            if first:
                out[i] = r
                n += r
            else:
                out[i] += 1
                n += 1
            if n >= train_views:
                break
        first = False
    return out


def effective_repeats(images: list[tuple[int, bool]]) -> list[int]:
    """Per image, (its subset's repeats, is regularisation) -> the repeats training uses."""
    train_views = sum(r for r, reg in images if not reg)
    reg_idx = [i for i, (_, reg) in enumerate(images) if reg]
    out = [r if not reg else 0 for r, reg in images]
    for i, r in zip(reg_idx, reg_repeats(train_views, [images[i][0] for i in reg_idx])):
        out[i] = r
    return out


def batches_per_epoch(bucket_views: Iterable[int], batch_size: int) -> int:
    """sd-scripts makes batches inside each bucket: the views of every bucket rounded up."""
    bs = max(1, batch_size)
    return sum(math.ceil(v / bs) for v in bucket_views if v > 0)


def steps_per_epoch(batches: int, num_processes: int = 1, grad_accumulation: int = 1) -> int:
    """Optimizer updates per epoch with each process taking its own batches (a partial
    accumulation is flushed at each epoch end)."""
    return math.ceil(math.ceil(batches / max(1, num_processes)) / max(1, grad_accumulation))


def epochs_and_total(steps_per_epoch_: int, epochs: int, max_steps: int) -> tuple[int, int]:
    """(epochs trained, optimizer steps trained). ``max_steps`` > 0 decides alone, as
    ``max_train_steps`` does in sd-scripts when no ``max_train_epochs`` is given: training runs
    ceil(max_steps / steps per epoch) epochs, the last one cut at max_steps."""
    if max_steps > 0:
        return (math.ceil(max_steps / steps_per_epoch_) if steps_per_epoch_ else 0), max_steps
    return epochs, epochs * steps_per_epoch_
