"""Downscaled previews, decoded off the UI thread and kept in a small LRU cache. No Textual.

Only the thumbnail crosses the SSH link, never the full image: a 4000x6000 photo becomes a
few kilobytes of cells or a small Kitty/Sixel payload.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
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

    def __init__(self, capacity: int = 64, decode: Callable[[str, int, bool], Thumbnail] | None = None):
        self.capacity = capacity
        self._decode = decode or _decode
        """``decode(path, file_size, mask)``: the slow part (tests inject one)."""
        self._items: OrderedDict[tuple, Thumbnail] = OrderedDict()
        self._latest: dict[tuple[str, bool], tuple] = {}
        """(path, mask) -> the key of the thumbnail last decoded for it (for ``peek``)."""
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
        thumb = self._decode(path, st.st_size, mask)
        with self._lock:
            self._items[key] = thumb
            self._latest[(path, mask)] = key
            while len(self._items) > self.capacity:
                old, _ = self._items.popitem(last=False)
                if self._latest.get((old[0], old[3])) == old:
                    del self._latest[(old[0], old[3])]
        return thumb

    def peek(self, path: str, mask: bool = False) -> Thumbnail | None:
        """The thumbnail last decoded for ``path``, without touching the disk (None: none
        cached). Shown at once; ``get`` on the loader's thread then checks the file is unchanged."""
        with self._lock:
            key = self._latest.get((path, mask))
            return None if key is None else self._items.get(key)

    def __len__(self) -> int:
        return len(self._items)


class ThumbnailLoader:
    """Loads thumbnails on one background thread, latest request first and only.

    A cursor held down over 50 images asks for 50 thumbnails; each ``request`` replaces the one
    still waiting, so only the image the cursor stops on is decoded (plus the one already in flight
    when the requests began). A result whose request was superseded while it decoded is dropped,
    never delivered: ``deliver(key, thumbnail, mask)`` is called (on the loader's thread) for the
    latest request only. Cache hits cost no decode.
    """

    def __init__(self, cache: ThumbnailCache, deliver: Callable[[Hashable, Thumbnail, bool], None]):
        self.cache = cache
        self.deliver = deliver
        self._cond = threading.Condition()
        self._pending: tuple[int, Hashable, str, bool, tuple[str, ...]] | None = None
        self._generation = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self.discarded = 0
        """Results thrown away because a newer request came while they loaded."""

    def request(self, key: Hashable, path: str, mask: bool = False, prefetch: Sequence[str] = ()) -> None:
        """Ask for ``path``'s thumbnail; supersedes every earlier request. Never blocks.
        ``prefetch``: paths decoded into the cache afterwards, unless a newer request comes first
        (the rows next to the cursor: stepping through images then finds them decoded)."""
        with self._cond:
            if self._closed:
                return
            self._generation += 1
            self._pending = (self._generation, key, path, mask, tuple(prefetch))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="thumbnails", daemon=True)
                self._thread.start()
            self._cond.notify()

    def cancel(self) -> None:
        """Forget the waiting request and drop the result of the one in flight."""
        with self._cond:
            self._generation += 1
            self._pending = None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._pending = None
            self._generation += 1
            self._cond.notify()

    @property
    def idle(self) -> bool:
        """Nothing waiting and nothing in flight (tests poll this)."""
        with self._cond:
            return self._pending is None and not self._busy

    _busy = False

    def _superseded(self, gen: int) -> bool:
        with self._cond:
            return gen != self._generation or self._closed

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                gen, key, path, mask, prefetch = self._pending  # type: ignore[misc]
                self._pending = None
                self._busy = True
            try:
                thumb = self.cache.get(path, mask=mask)
                if self._superseded(gen):
                    with self._cond:
                        self.discarded += 1
                else:
                    self.deliver(key, thumb, mask)
                for other in prefetch:
                    if self._superseded(gen):
                        break
                    self.cache.get(other, mask=mask)
            finally:
                with self._cond:
                    self._busy = False


def _decode(path: str, file_size: int, mask: bool) -> Thumbnail:
    return decode_mask_thumbnail(path, file_size) if mask else decode_thumbnail(path, file_size)


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

    from loratui.dataset.training_images import find_mask, mask_file_for, oriented_size

    mask_path = find_mask(path) or mask_file_for(path)
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
