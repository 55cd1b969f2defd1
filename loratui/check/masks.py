"""Loss masks (``dataset.alpha_mask``): which images have a ``NAME.mask.png``, and masks whose size
differs from their image (training would stop on them). Cheap: mask files are found in the scan's
own listing; only the headers of images that have one are read."""

from __future__ import annotations

import os

from loratui.dataset.training_images import MASK_SUFFIX

from .findings import NOTE, WARNING, Finding


def mask_findings(ds) -> list[Finding]:
    from loratui.dataset.training_images import probe_image

    by_stem: dict = {}
    masks = []
    for e in ds.images:
        if e.path.lower().endswith(MASK_SUFFIX):
            masks.append(e)
        else:
            by_stem.setdefault(os.path.splitext(e.path)[0], e)
    out: list[Finding] = []
    with_mask, wrong = [], []
    for m in masks:
        img = by_stem.get(m.path[: -len(MASK_SUFFIX)])
        if img is None:
            continue  # no image of that name: it is an ordinary image
        with_mask.append(img)
        a, b = probe_image(ds.abspath(img.path)).size, probe_image(ds.abspath(m.path)).size
        if a and b and a != b:
            wrong.append((img, m, a, b))
    if with_mask:
        out.append(Finding(NOTE, "masks", "files", f"{len(with_mask)} image(s) have a loss mask (NAME.mask.png)",
                           "used when dataset.alpha_mask is on: white trains, black is ignored",
                           paths=[e.path for e in with_mask[:50]], image_ids=[e.id for e in with_mask]))
    for img, m, a, b in wrong:
        out.append(Finding(WARNING, "mask-wrong-size", "files",
                           f"{m.path} is {b[0]}x{b[1]} but {img.path} is {a[0]}x{a[1]}",
                           "make the mask the size of its image (training with alpha_mask stops on it)",
                           paths=[m.path, img.path], image_ids=[img.id]))
    return out
