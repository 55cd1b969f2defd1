"""What a *training image* is, defined once for stats, the health check, the config's step math,
the config form and the training worker.

A training image is an image file the scan lists (a supported extension, a regular file or a
symlink to one, not hidden; broken symlinks and ``.gif``/``.tif``... are not listed) that is not
empty and whose header Pillow can read, giving a size of at least 1x1. Whether it has a caption
does not matter (images without one train on their folder's class tokens). Only headers are read,
which is cheap, and sizes come with them: the bucket each image falls in, and so the batch count,
is known before any pixel is decoded. A file whose header reads but whose pixels do not decode (a
truncated download) is still counted here; the health check decodes every image and reports such
files as errors, which block a launch.

A loss mask ``NAME.mask.png`` (``dataset.alpha_mask``) is never a training image: the scan does not
list it as an image at all (``scan.mask_stem``), so stats, the dataset screen, the step math and
the trainer count the same images.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from .scan import MASK_SUFFIX

Size = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Probe:
    size: Size | None
    """(width, height) from the header; None when the file is not a training image."""
    error: str = ""
    """Why it is not a training image ("" when it is)."""

    @property
    def ok(self) -> bool:
        return self.size is not None


_cache: dict[tuple[str, int, int], Probe] = {}
_cache_lock = threading.Lock()
_CACHE_MAX = 500_000


def probe_image(path: str) -> Probe:
    """Whether ``path`` is a training image, and its size. Never raises. Results are remembered
    in memory by (path, byte size, mtime), so a form recomputing its step math reads no header twice."""
    try:
        st = os.stat(path)
    except OSError as e:
        return Probe(None, f"cannot be read ({e.strerror or e})")
    if st.st_size == 0:
        return Probe(None, "zero-byte file (empty)")
    key = (path, st.st_size, st.st_mtime_ns)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    probe = _probe_uncached(path)
    with _cache_lock:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[key] = probe
    return probe


def _probe_uncached(path: str) -> Probe:
    probe, im = open_probed(path)
    if im is not None:
        im.close()
    return probe


def open_probed(path: str):
    """``(probe, image)``: the probe of ``path`` and, when it is a training image, the opened (not
    yet decoded) Pillow image, for a caller that decodes it next: the health check decodes each
    file once through this instead of opening it twice. The caller closes the image. Never raises."""
    import warnings

    from PIL import Image  # lazy: scanning and the CLI's help never need Pillow

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # odd but readable files (palette transparency) are fine
            im = Image.open(path)
            w, h = oriented_size(im)
    except Image.DecompressionBombError as e:
        return Probe(None, f"too large to open safely ({e})"), None
    except (PermissionError, FileNotFoundError, IsADirectoryError) as e:
        return Probe(None, f"cannot be read ({e.strerror or e})"), None
    except Exception as e:  # Pillow raises many kinds for a corrupt header: a finding, never a crash
        return Probe(None, f"cannot be decoded ({str(e) or type(e).__name__})"), None
    if w < 1 or h < 1:
        im.close()
        return Probe(None, "image has no pixels"), None
    return Probe((int(w), int(h))), im


ORIENTATION = 0x0112
SWAPS_SIDES = frozenset({5, 6, 7, 8})
"""EXIF orientations that rotate by 90 degrees: the image as shown (and as kohya trains it, after
``ImageOps.exif_transpose``) has width and height swapped."""


def oriented_size(im) -> Size:
    """(width, height) of an opened Pillow image as displayed, honouring the EXIF orientation tag
    from the header (no pixels decoded): a 600x300 JPEG with orientation 6 is 300x600."""
    w, h = im.size
    try:
        if im.getexif().get(ORIENTATION) in SWAPS_SIDES:
            return h, w
    except Exception:  # a damaged EXIF block: the stored size stands
        pass
    return w, h


def remember(path: str, st: os.stat_result, probe: Probe) -> None:
    """Put a probe made elsewhere (``open_probed``) into the in-memory cache."""
    with _cache_lock:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[(path, st.st_size, st.st_mtime_ns)] = probe


def probe_many(paths: Iterable[str]) -> list[Probe]:
    paths = list(paths)
    if len(paths) < 64:
        return [probe_image(p) for p in paths]
    from concurrent.futures import ThreadPoolExecutor

    # header reads are I/O bound: a few threads hide the latency of cold disks and network mounts
    with ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1)),
                            thread_name_prefix="loratui-probe") as ex:
        return list(ex.map(probe_image, paths, chunksize=32))


@dataclass
class FolderImages:
    """The training images of one folder (a subset), as the worker will read them."""

    folder: str
    """Absolute folder."""
    images: list[tuple[str, Size]]
    """(image path relative to ``folder``, size) of every training image, in scan order."""
    skipped: list[tuple[str, str]]
    """(relative path, reason) of listed images that are not training images."""
    error: str = ""
    """Why the folder could not be listed ("" when it was)."""

    @property
    def count(self) -> int:
        return len(self.images)


def folder_images(folder: str, caption_ext: str = ".txt") -> FolderImages:
    """Scan ``folder`` exactly as the training worker does (``loratui.dataset.scan``: recursive,
    kohya subset rules) and probe every image. Read-only: writes nothing, not even a journal."""
    from .scan import scan

    folder = os.path.abspath(folder)
    if not os.path.isdir(folder):
        return FolderImages(folder, [], [], "folder not found" if not os.path.exists(folder) else "not a folder")
    try:
        res = scan(folder, caption_ext)
    except OSError as e:
        return FolderImages(folder, [], [], f"cannot be listed ({e.strerror or e})")
    unreadable = [p for p in res.problems if p.kind == "unreadable" and p.path == "."]
    if unreadable and not res.images:
        return FolderImages(folder, [], [], unreadable[0].message)
    rels = [e.path for e in res.images]  # loss masks (NAME.mask.png) are not listed as images
    probes = probe_many(os.path.join(folder, r) for r in rels)
    ok = [(r, p.size) for r, p in zip(rels, probes) if p.size is not None]
    bad = [(r, p.error) for r, p in zip(rels, probes) if p.size is None]
    return FolderImages(folder, ok, bad)


def mask_file_for(image_path: str) -> str:
    """Where the loss mask of an image lives: ``NAME.mask.png`` beside ``NAME.<ext>``."""
    return os.path.splitext(image_path)[0] + MASK_SUFFIX


def find_mask(image_path: str) -> str | None:
    """The loss mask file of the image at ``image_path`` (``NAME.mask.png``, any case of the
    suffix, as the scan's ``mask_stem`` reads it), or None. Lists the folder only when the usual
    name is not there; code holding an open ``Dataset`` reads ``Dataset.masks`` instead."""
    from .scan import mask_stem

    exact = mask_file_for(image_path)
    if os.path.isfile(exact):
        return exact
    folder, name = os.path.split(image_path)
    stem = os.path.splitext(name)[0]
    try:
        with os.scandir(folder or ".") as it:
            for e in it:
                if mask_stem(e.name) == stem and e.is_file():
                    return os.path.join(folder, e.name)
    except OSError:
        pass
    return None


def training_image_ids(ds, entries=None) -> dict[int, Size]:
    """{image id: size} of the training images of an open ``Dataset`` (``entries``: a snapshot of
    ``ds.images``)."""
    images = ds.images if entries is None else entries  # the scan never lists a mask as an image
    probes = probe_many(ds.abspath(e.path) for e in images)
    return {e.id: p.size for e, p in zip(images, probes) if p.size is not None}
