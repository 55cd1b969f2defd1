"""Loss masks (``dataset.alpha_mask``): which images have a ``NAME.mask.png``, and masks whose size
differs from their image (training would stop on them). Cheap: the scan lists mask files apart
from images (``Dataset.masks``); only the headers of images that have one are read. A mask left
without its image is a scan problem (``orphan-mask``, see ``files.scan_findings``)."""

from __future__ import annotations

from .findings import NOTE, WARNING, Finding


def mask_findings(ds) -> list[Finding]:
    from loratui.dataset.training_images import probe_image

    out: list[Finding] = []
    with_mask, wrong = [], []
    masks = ds.masks
    for e in ds.images:
        m = masks.get(e.path)
        if m is None:
            continue
        with_mask.append(e)
        a, b = probe_image(ds.abspath(e.path)).size, probe_image(ds.abspath(m)).size
        if a and b and a != b:
            wrong.append((e, m, a, b))
    if with_mask:
        out.append(Finding(NOTE, "masks", "files", f"{len(with_mask)} image(s) have a loss mask (NAME.mask.png)",
                           "used when dataset.alpha_mask is on: white trains, black is ignored",
                           paths=[e.path for e in with_mask[:50]], image_ids=[e.id for e in with_mask]))
    for img, m, a, b in wrong:
        out.append(Finding(WARNING, "mask-wrong-size", "files",
                           f"{m} is {b[0]}x{b[1]} but {img.path} is {a[0]}x{a[1]}",
                           "make the mask the size of its image (training with alpha_mask stops on it)",
                           paths=[m, img.path], image_ids=[img.id]))
    return out
