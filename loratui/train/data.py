"""The data pipeline, torch-free: images and captions of the subsets, kohya aspect-ratio buckets,
the per-epoch batch plan, and per-step caption processing.

Everything random here is a pure function of ``(seed, epoch, batch index)`` so that a run resumed
at step N draws exactly the batches, flips and captions an uninterrupted run would have drawn.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

from loratui.dataset.buckets import (
    BucketManager,
    batches_per_epoch,
    effective_repeats,
    epochs_and_total,
    make_bucket_resolutions,
    steps_per_epoch,
)

from .spec import SubsetSpec, TrainSpec


class DataError(Exception):
    """The dataset cannot be trained on (no usable image, missing folder)."""


# ---- buckets: one implementation in the core (loratui.dataset.buckets), shared with the health
# check and the config's step math, so what they announce is what trains
__all__ = ["BucketManager", "DataError", "ImageItem", "TrainData", "build_train_data", "load_pixels",
           "make_bucket_resolutions", "process_caption"]


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
    mask: str | None = None
    """Absolute path of its loss mask file (``NAME.mask.png``, from the scan's ``Dataset.masks``)."""


@dataclass
class TrainData:
    spec: TrainSpec
    items: list[ImageItem]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) of images that cannot be used."""
    notes: list[tuple[str, str]] = field(default_factory=list)
    """(path, message) warnings found while reading captions."""
    _repeats: list[int] | None = field(default=None, repr=False)

    @property
    def subsets(self) -> list[SubsetSpec]:
        return self.spec.subsets

    def buckets(self) -> dict[tuple[int, int], list[int]]:
        out: dict[tuple[int, int], list[int]] = {}
        for it in self.items:
            out.setdefault(it.bucket, []).append(it.index)
        return dict(sorted(out.items()))

    def repeats(self) -> list[int]:
        """Per item, the repeats training uses: its subset's, except regularisation images, which
        sd-scripts cycles until they match the training views (``loratui.dataset.buckets``)."""
        key = [(s.repeats, s.is_reg) for s in self.subsets]
        if self._repeats is None or len(self._repeats) != len(self.items):
            self._repeats = effective_repeats([key[it.subset] for it in self.items])
        return self._repeats

    def num_train_images(self) -> int:
        """Training images counted with their repeats (kohya ``ss_num_train_images``; not regularisation)."""
        return sum(self.subsets[it.subset].repeats for it in self.items if not self.subsets[it.subset].is_reg)

    def num_reg_images(self) -> int:
        """Regularisation images counted with their own repeats (kohya ``ss_num_reg_images``)."""
        return sum(self.subsets[it.subset].repeats for it in self.items if self.subsets[it.subset].is_reg)

    def batches_per_epoch(self) -> int:
        reps = self.repeats()
        return batches_per_epoch((sum(reps[i] for i in ids) for ids in self.buckets().values()), self.spec.batch_size)

    def steps_per_epoch(self, world: int = 1) -> int:
        """Optimizer updates per epoch with ``world`` processes each taking its own batches (a partial
        accumulation is flushed at each epoch end)."""
        return steps_per_epoch(self.batches_per_epoch(), world, self.spec.grad_accumulation)

    def num_epochs(self, world: int = 1) -> int:
        """Epochs trained: ``epochs``, or as many as ``max_train_steps`` needs when it is set."""
        return epochs_and_total(self.steps_per_epoch(world), self.spec.epochs, self.spec.max_train_steps)[0]

    def total_steps(self, world: int = 1) -> int:
        return epochs_and_total(self.steps_per_epoch(world), self.spec.epochs, self.spec.max_train_steps)[1]

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
        self._repeats = None

    # ---- per-epoch plan
    def epoch_batches(self, epoch: int) -> list[list[tuple[int, bool]]]:
        """The batches of ``epoch`` (0-based): lists of (item index, flipped), one bucket per batch."""
        rng = random.Random(f"{self.spec.seed}/epoch/{epoch}")
        bs = self.spec.batch_size
        reps = self.repeats()
        batches: list[list[tuple[int, bool]]] = []
        for ids in self.buckets().values():
            entries: list[tuple[int, bool]] = []
            for i in ids:
                s = self.subsets[self.items[i].subset]
                for _ in range(reps[i]):
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
    if subset.caption_prefix:  # sd-scripts prepends it before splitting: its tags count in keep_tokens
        tags = [t.strip() for t in subset.caption_prefix.split(",") if t.strip()] + list(tags)
    keep = tags[:subset.keep_tokens]
    rest = list(tags[subset.keep_tokens:])
    if subset.shuffle_caption:
        rng.shuffle(rest)
    if subset.caption_tag_dropout_rate > 0:
        rest = [t for t in rest if rng.random() >= subset.caption_tag_dropout_rate]
    return ", ".join(keep + rest)


# ---- building ------------------------------------------------------------------------------------
def build_train_data(spec: TrainSpec) -> TrainData:
    """Read subsets, captions and image sizes; assign buckets. Raises DataError if nothing is usable."""
    from loratui.dataset import Dataset, DatasetError
    from loratui.dataset.training_images import probe_image

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
            path = ds.abspath(e.path)  # never a NAME.mask.png: the scan lists masks apart (ds.masks)
            if e.state in ("unreadable", "encoding"):
                notes.append((path, f"caption of {e.path} unreadable; class tokens used"))
            tags = list(e.tags) if e.tags else [t.strip() for t in sub.class_tokens.split(",") if t.strip()]
            probe = probe_image(path)  # the one definition of a training image (loratui.dataset)
            if probe.size is None:
                skipped.append((path, probe.error))
                continue
            size = probe.size
            bucket, resized = buckets.select(*size)
            mask = ds.masks.get(e.path)
            items.append(ImageItem(len(items), path, si, tags, size, bucket, resized,
                                   ds.abspath(mask) if mask is not None else None))
    data = TrainData(spec, items, skipped, notes)
    if not items:
        where = ", ".join(s.path for s in spec.subsets)
        extra = f" ({len(skipped)} unreadable)" if skipped else ""
        raise DataError(f"no usable training images in {where}{extra}")
    return data


def load_pixels(item: ImageItem, flip: bool = False):
    """The image resized to cover its bucket, centre-cropped, as float32 CHW numpy in [-1, 1]."""
    import numpy as np
    from PIL import Image, ImageOps

    with Image.open(item.path) as im:
        # as kohya: the EXIF orientation is applied (buckets come from the oriented header size)
        im = ImageOps.exif_transpose(im).convert("RGB")
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
