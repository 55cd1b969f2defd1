"""Masked loss (sd-scripts' ``alpha_mask``): an image's alpha channel, or a ``NAME.mask.png`` beside it
(white = train, black = ignore), weights the loss per latent pixel.

The mask goes through the same resize, centre crop and flip as the image, then is averaged down to
the latent grid (8x8 pixel areas). Images without a mask train on every pixel. A mask file whose
size differs from its image is an error naming both (the health check reports it before training).
"""

from __future__ import annotations

import os


class MaskError(Exception):
    def __init__(self, message: str, path: str):
        super().__init__(message)
        self.path = path


def load_mask(item, flip: bool = False, scale: int = 8):
    """The item's mask on the latent grid, float32 (H/scale, W/scale) in [0, 1]; None: no mask."""
    import numpy as np
    from PIL import Image

    path = item.mask  # found by the scan (Dataset.masks): the one rule for what a mask file is
    if path is not None:
        with Image.open(item.path) as im:
            size = im.size
        with Image.open(path) as m:
            if m.size != size:
                raise MaskError(f"the mask {os.path.basename(path)} is {m.size[0]}x{m.size[1]} but its image is "
                                f"{size[0]}x{size[1]}: make them the same size", path)
            m = m.convert("L")
    else:
        with Image.open(item.path) as im:
            if im.mode not in ("RGBA", "LA") and not (im.mode == "P" and "transparency" in im.info):
                return None
            m = im.convert("RGBA").getchannel("A")
    if m.size != item.resized:
        m = m.resize(item.resized, Image.Resampling.BILINEAR)
    bw, bh = item.bucket
    left, top = (m.size[0] - bw) // 2, (m.size[1] - bh) // 2
    m = m.crop((left, top, left + bw, top + bh))
    if flip:
        m = m.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    m = m.resize((bw // scale, bh // scale), Image.Resampling.BOX)  # the area each latent pixel covers
    return np.asarray(m, dtype=np.float32) / 255.0
