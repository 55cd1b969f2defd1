"""Downscaled previews, decoded off the UI thread and kept in a small LRU cache. No Textual.

Only the thumbnail crosses the SSH link, never the full image: a 4000x6000 photo becomes a
few kilobytes of cells or a small Kitty/Sixel payload.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

MAX_SIDE = 384
"""Longest side of a thumbnail in pixels: enough for a preview pane, small over SSH."""


@dataclass
class ImageFacts:
    """What the preview shows beside the picture."""

    width: int | None
    height: int | None
    file_size: int | None
    error: str | None = None
    mask_source: str | None = None
    """Set on a mask thumbnail: where the mask came from (the mask file's name, or "alpha channel")."""

    @property
    def aspect(self) -> str:
        if not self.width or not self.height:
            return "?"
        return f"{self.width / self.height:.2f}"


@dataclass
class Thumbnail:
    facts: ImageFacts
    image: object | None
    """A small ``PIL.Image`` or None when the file could not be decoded."""


class ThumbnailCache:
    """Thread-safe LRU of thumbnails keyed by (path, mtime, size)."""

    def __init__(self, capacity: int = 64):
        self.capacity = capacity
        self._items: OrderedDict[tuple, Thumbnail] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, path: str, mask: bool = False) -> Thumbnail:
        """The cached thumbnail for ``path`` (``mask``: its loss mask instead), decoding it (slow:
        call from a worker) when needed."""
        try:
            st = os.stat(path)
        except OSError as e:
            return Thumbnail(ImageFacts(None, None, None, f"cannot read file ({e.strerror})"), None)
        key = (path, st.st_mtime_ns, st.st_size, mask)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return hit
        self.misses += 1
        thumb = decode_mask_thumbnail(path, st.st_size) if mask else decode_thumbnail(path, st.st_size)
        with self._lock:
            self._items[key] = thumb
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return thumb

    def __len__(self) -> int:
        return len(self._items)


def decode_thumbnail(path: str, file_size: int | None = None, max_side: int = MAX_SIDE) -> Thumbnail:
    """Decode and downscale one image; never raises (errors become ``facts.error``)."""
    from PIL import Image, UnidentifiedImageError

    try:
        from PIL import ImageOps

        from loratui.dataset.training_images import oriented_size

        with Image.open(path) as im:
            w, h = oriented_size(im)  # as shown and trained: EXIF orientation applied
            im.draft("RGB", (max_side, max_side))  # JPEG: decode at reduced scale, much faster
            im = ImageOps.exif_transpose(im)
            im = im.convert("RGBA") if im.mode in ("P", "LA", "PA") else im
            small = im.convert("RGB") if im.mode not in ("RGB", "RGBA", "L") else im.copy()
            small.thumbnail((max_side, max_side))
            return Thumbnail(ImageFacts(w, h, file_size), small)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as e:
        msg = "empty file" if file_size == 0 else f"cannot decode ({type(e).__name__})"
        return Thumbnail(ImageFacts(None, None, file_size, msg), None)


def decode_mask_thumbnail(path: str, file_size: int | None = None, max_side: int = MAX_SIDE) -> Thumbnail:
    """The image's loss mask as a grey thumbnail (white = trained, black = ignored), as the trainer
    reads it with ``dataset.alpha_mask``: ``NAME.mask.png`` beside the image, else its alpha channel.
    Never raises; an image without a mask gets ``facts.error`` saying so."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    from loratui.dataset.training_images import mask_file_for, oriented_size

    mask_path = mask_file_for(path)
    try:
        with Image.open(path) as im:
            w, h = oriented_size(im)
            if os.path.exists(mask_path):
                with Image.open(mask_path) as m:
                    if m.size != im.size:
                        return Thumbnail(ImageFacts(w, h, file_size, f"mask {os.path.basename(mask_path)} is "
                                                    f"{m.size[0]}x{m.size[1]}, its image {im.size[0]}x{im.size[1]}"), None)
                    small = ImageOps.exif_transpose(m.convert("L")) if "exif" in im.info else m.convert("L")
                source = os.path.basename(mask_path)
            elif im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
                small = ImageOps.exif_transpose(im).convert("RGBA").getchannel("A")
                source = "alpha channel"
            else:
                return Thumbnail(ImageFacts(w, h, file_size, f"no mask: no alpha channel and no {os.path.basename(mask_path)}"),
                                 None)
            small.thumbnail((max_side, max_side))
            return Thumbnail(ImageFacts(w, h, file_size, None, mask_source=source), small)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as e:
        return Thumbnail(ImageFacts(None, None, file_size, f"cannot decode the mask ({type(e).__name__})"), None)
