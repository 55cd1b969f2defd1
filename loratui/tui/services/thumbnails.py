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

    def get(self, path: str) -> Thumbnail:
        """The cached thumbnail for ``path``, decoding it (slow: call from a worker) when needed."""
        try:
            st = os.stat(path)
        except OSError as e:
            return Thumbnail(ImageFacts(None, None, None, f"cannot read file ({e.strerror})"), None)
        key = (path, st.st_mtime_ns, st.st_size)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return hit
        self.misses += 1
        thumb = decode_thumbnail(path, st.st_size)
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
