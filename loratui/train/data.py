"""The data pipeline, torch-free: images and captions of the subsets, kohya aspect-ratio buckets,
the per-epoch batch plan, and per-step caption processing.

Everything random here is a pure function of ``(seed, epoch, batch index)`` so that a run resumed
at step N draws exactly the batches, flips and captions an uninterrupted run would have drawn.
"""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass, field

from .spec import SubsetSpec, TrainSpec


class DataError(Exception):
    """The dataset cannot be trained on (no usable image, missing folder)."""


# ---- buckets -------------------------------------------------------------------------------------
def make_bucket_resolutions(resolution: tuple[int, int], min_size: int = 256, max_size: int = 1024,
                            step: int = 64) -> list[tuple[int, int]]:
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
    """Chooses each image's bucket and the size it is resized to before the centre crop."""

    def __init__(self, spec: TrainSpec):
        self.enabled = spec.enable_bucket
        self.resolution = tuple(spec.resolution)
        self.step = spec.bucket_reso_steps
        self.no_upscale = spec.bucket_no_upscale
        self.max_area = self.resolution[0] * self.resolution[1]
        self.resos = make_bucket_resolutions(self.resolution, spec.min_bucket_reso, spec.max_bucket_reso, self.step)
        self.ratios = [w / h for w, h in self.resos]

    def _round(self, x: float) -> int:
        x = int(x + 0.5)
        return x - x % self.step

    def select(self, width: int, height: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """(bucket (w, h), resized (w, h)); resized covers the bucket, which is then centre-cropped."""
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


# ---- items ---------------------------------------------------------------------------------------
@dataclass
class ImageItem:
    index: int
    path: str
    """Absolute image path."""
    subset: int
    tags: list[str]
    """Caption tags (class tokens for images without a caption)."""
    size: tuple[int, int]
    bucket: tuple[int, int] = (0, 0)
    resized: tuple[int, int] = (0, 0)


@dataclass
class TrainData:
    spec: TrainSpec
    items: list[ImageItem]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) of images that cannot be used."""
    notes: list[tuple[str, str]] = field(default_factory=list)
    """(path, message) warnings found while reading captions."""

    @property
    def subsets(self) -> list[SubsetSpec]:
        return self.spec.subsets

    def buckets(self) -> dict[tuple[int, int], list[int]]:
        out: dict[tuple[int, int], list[int]] = {}
        for it in self.items:
            out.setdefault(it.bucket, []).append(it.index)
        return dict(sorted(out.items()))

    def num_train_images(self) -> int:
        """Images counted with their repeats (kohya ``ss_num_train_images``)."""
        return sum(self.subsets[it.subset].repeats for it in self.items)

    def batches_per_epoch(self) -> int:
        bs = self.spec.batch_size
        return sum(math.ceil(sum(self.subsets[self.items[i].subset].repeats for i in ids) / bs)
                   for ids in self.buckets().values())

    def steps_per_epoch(self, world: int = 1) -> int:
        """Optimizer updates per epoch with ``world`` processes each taking its own batches (a partial
        accumulation is flushed at each epoch end)."""
        return math.ceil(math.ceil(self.batches_per_epoch() / world) / self.spec.grad_accumulation)

    def total_steps(self, world: int = 1) -> int:
        total = self.steps_per_epoch(world) * self.spec.epochs
        return min(total, self.spec.max_train_steps) if self.spec.max_train_steps else total

    def tag_frequency(self) -> dict[str, dict[str, int]]:
        """{subset folder name: {tag: count}} (kohya ``ss_tag_frequency``)."""
        out: dict[str, dict[str, int]] = {}
        for it in self.items:
            d = out.setdefault(os.path.basename(self.subsets[it.subset].path), {})
            for t in it.tags:
                d[t] = d.get(t, 0) + 1
        return out

    def dataset_dirs(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for si, s in enumerate(self.subsets):
            out[os.path.basename(s.path)] = {"n_repeats": s.repeats,
                                             "img_count": sum(1 for it in self.items if it.subset == si)}
        return out

    def drop(self, indices: set[int]) -> None:
        """Forget unusable items (renumbering the rest)."""
        self.items = [it for it in self.items if it.index not in indices]
        for i, it in enumerate(self.items):
            it.index = i

    # ---- per-epoch plan
    def epoch_batches(self, epoch: int) -> list[list[tuple[int, bool]]]:
        """The batches of ``epoch`` (0-based): lists of (item index, flipped), one bucket per batch."""
        rng = random.Random(f"{self.spec.seed}/epoch/{epoch}")
        bs = self.spec.batch_size
        batches: list[list[tuple[int, bool]]] = []
        for ids in self.buckets().values():
            entries: list[tuple[int, bool]] = []
            for i in ids:
                s = self.subsets[self.items[i].subset]
                for _ in range(s.repeats):
                    entries.append((i, s.flip_aug and rng.random() < 0.5))
            rng.shuffle(entries)
            batches.extend(entries[k:k + bs] for k in range(0, len(entries), bs))
        rng.shuffle(batches)
        return batches

    def captions(self, batch: list[tuple[int, bool]], epoch: int, batch_index: int) -> list[str]:
        rng = random.Random(f"{self.spec.seed}/caption/{epoch}/{batch_index}")
        return [process_caption(self.items[i].tags, self.subsets[self.items[i].subset], rng) for i, _ in batch]


def process_caption(tags: list[str], subset: SubsetSpec, rng: random.Random) -> str:
    """kohya caption handling: whole-caption dropout, then shuffle and tag dropout past keep_tokens."""
    if subset.caption_dropout_rate > 0 and rng.random() < subset.caption_dropout_rate:
        return ""
    keep = tags[:subset.keep_tokens]
    rest = list(tags[subset.keep_tokens:])
    if subset.shuffle_caption:
        rng.shuffle(rest)
    if subset.caption_tag_dropout_rate > 0:
        rest = [t for t in rest if rng.random() >= subset.caption_tag_dropout_rate]
    return ", ".join(keep + rest)


# ---- building ------------------------------------------------------------------------------------
def _check_image(path: str) -> tuple[tuple[int, int] | None, str]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            size = im.size
            im.verify()  # catches truncated / corrupt PNGs without decoding everything
        if size[0] < 1 or size[1] < 1:
            return None, "image has no pixels"
        return size, ""
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        return None, f"unreadable image ({type(e).__name__}: {e})"


def build_train_data(spec: TrainSpec) -> TrainData:
    """Read subsets, captions and image sizes; assign buckets. Raises DataError if nothing is usable."""
    from loratui.dataset import Dataset, DatasetError

    if not spec.subsets:
        raise DataError("no dataset subsets configured")
    buckets = BucketManager(spec)
    items: list[ImageItem] = []
    skipped: list[tuple[str, str]] = []
    notes: list[tuple[str, str]] = []
    for si, sub in enumerate(spec.subsets):
        try:
            ds = Dataset.open(sub.path, sub.caption_ext)
        except DatasetError as e:
            raise DataError(str(e)) from None
        for e in ds.images:
            path = ds.abspath(e.path)
            if e.state in ("unreadable", "encoding"):
                notes.append((path, f"caption of {e.path} unreadable; class tokens used"))
            tags = list(e.tags) if e.tags else [t.strip() for t in sub.class_tokens.split(",") if t.strip()]
            size, why = _check_image(path)
            if size is None:
                skipped.append((path, why))
                continue
            bucket, resized = buckets.select(*size)
            items.append(ImageItem(len(items), path, si, tags, size, bucket, resized))
    data = TrainData(spec, items, skipped, notes)
    if not items:
        where = ", ".join(s.path for s in spec.subsets)
        extra = f" ({len(skipped)} unreadable)" if skipped else ""
        raise DataError(f"no usable training images in {where}{extra}")
    return data


def load_pixels(item: ImageItem, flip: bool = False):
    """The image resized to cover its bucket, centre-cropped, as float32 CHW numpy in [-1, 1]."""
    import numpy as np
    from PIL import Image

    with Image.open(item.path) as im:
        im = im.convert("RGB")
        if im.size != item.resized:
            im = im.resize(item.resized, Image.Resampling.LANCZOS)
        bw, bh = item.bucket
        left = (im.size[0] - bw) // 2
        top = (im.size[1] - bh) // 2
        im = im.crop((left, top, left + bw, top + bh))
        if flip:
            im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        a = np.asarray(im, dtype=np.float32)
    return (a.transpose(2, 0, 1) / 127.5) - 1.0
