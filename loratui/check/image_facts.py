"""What the check needs to know about each image file, computed once and cached on disk.

Per image: byte size, pixel size, a 64-bit dHash (near-duplicates) and, only for files that share
their byte size (and dHash) with another file, a content hash (identical files). Decoding is the expensive
part, so the results live in ``DIR/.loratui/cache/image_facts.json`` keyed by path, byte size and
mtime: a second check decodes nothing that did not change. A file that cannot be decoded is
remembered as such (with the reason), never raised.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from loratui.fileio import write_atomic

CACHE_DIR = os.path.join(".loratui", "cache")
CACHE_FILE = "image_facts.json"
CACHE_VERSION = 2  # 2: header sizes kept for images whose pixels fail to decode
MAX_CACHE_BYTES = 1 << 30


@dataclass(slots=True)
class ImageFacts:
    bytes: int
    mtime_ns: int
    width: int = 0
    height: int = 0
    dhash: int | None = None
    error: str = ""
    """Why the image is unusable ("" when it decoded)."""
    content: str | None = None
    """blake2b of the file, only computed for files whose byte size (and dHash) is shared."""

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def training(self) -> bool:
        """A training image (``loratui.dataset.training_images``): its header gave a size. It may
        still fail to decode (``ok`` False): then it is counted, and reported as an error."""
        return self.width > 0 and self.height > 0

    def to_row(self) -> list:
        return [self.bytes, self.mtime_ns, self.width, self.height,
                None if self.dhash is None else f"{self.dhash:016x}", self.error, self.content]

    @classmethod
    def from_row(cls, row: list) -> "ImageFacts":
        b, m, w, h, d, err, content = row
        return cls(int(b), int(m), int(w), int(h), None if d is None else int(d, 16), str(err or ""), content)


def dhash_of(im) -> int:
    """64-bit difference hash of a Pillow image: 9x8 greyscale, one bit per horizontal gradient."""
    import numpy as np
    from PIL import Image

    if im.mode not in ("L", "RGB"):
        im = im.convert("L" if im.mode.startswith(("I", "F")) else "RGB")
    # shrink first, then grey: far cheaper than converting every pixel of the full image
    small = im.resize((9, 8), Image.Resampling.BOX, reducing_gap=2.0)
    if small.mode != "L":
        small = small.convert("L")
    px = np.frombuffer(small.tobytes(), np.uint8).reshape(8, 9)
    # row by row, left to right, the first pixel pair the highest bit
    return int.from_bytes(np.packbits(px[:, :8] > px[:, 1:]).tobytes(), "big")


def decode_facts(path: str, st: os.stat_result | None = None) -> tuple[int, int, int | None, str]:
    """(width, height, dhash, error) for one image file (``st``: its stat, when the caller has
    it); never raises.

    Whether it is a training image at all is ``loratui.dataset.training_images.probe_image`` (the
    one definition): then width and height are its header size, kept even when the pixels fail to
    decode (a training image the worker would choke on: an error finding)."""
    from PIL import Image

    from loratui.dataset.training_images import open_probed, remember

    # one open per file: the header probe (the one definition of a training image) hands its
    # opened image on to the decode, instead of the decode opening and parsing the file again
    if st is None:
        try:
            st = os.stat(path)
        except OSError as e:
            return 0, 0, None, f"cannot be read ({e.strerror or e})"
    if st.st_size == 0:
        return 0, 0, None, "zero-byte file (empty)"
    probe, opened = open_probed(path)
    remember(path, st, probe)
    if opened is None:
        return 0, 0, None, probe.error
    w, h = probe.size
    try:
        with opened as im:
            # JPEGs decode at 1/8 scale: the hash needs 9x8 pixels, and a truncated stream still fails
            im.draft("L", (64, 64))
            from PIL import ImageOps

            from loratui.dataset.training_images import ORIENTATION

            # as shown (EXIF orientation); exif_transpose copies the whole image even when it has
            # nothing to turn, so it runs only for an orientation that turns or flips
            turned = im.getexif().get(ORIENTATION, 1) not in (None, 1)
            return w, h, dhash_of(ImageOps.exif_transpose(im) if turned else im), ""
    except Image.DecompressionBombError as e:
        return w, h, None, f"too large to open safely ({e})"
    except (PermissionError, FileNotFoundError, IsADirectoryError) as e:
        return w, h, None, f"cannot be read ({e.strerror or e})"
    except Exception as e:  # a corrupt file is a finding, never a crash (PIL raises many kinds)
        msg = str(e) or type(e).__name__
        return w, h, None, f"cannot be decoded ({msg})"


def content_hash(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "blake2b").hexdigest()[:32]
    except OSError:
        return None


class FactsCache:
    """The on-disk cache of one dataset (``DIR/.loratui/cache/image_facts.json``)."""

    def __init__(self, root: str):
        self.root = root
        self.dir = os.path.join(root, CACHE_DIR)
        self.path = os.path.join(self.dir, CACHE_FILE)
        self.problem = ""
        """Why the cache could not be read or written ("" when fine); reported as a note."""

    def load(self) -> dict[str, ImageFacts]:
        from loratui.fileio import read_json_untrusted

        try:
            data = read_json_untrusted(self.path, MAX_CACHE_BYTES)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            self.problem = f"{self.path}: unreadable cache ignored ({e})"
            return {}
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            return {}
        images = data.get("images")
        if not isinstance(images, dict):
            return {}
        out = {}
        for rel, row in images.items():
            try:
                out[rel] = ImageFacts.from_row(row)
            except (TypeError, ValueError):
                continue
        return out

    def save(self, facts: dict[str, ImageFacts]) -> None:
        from loratui.dataset.safe_paths import UnsafePath, owned_path

        data = {"version": CACHE_VERSION, "images": {rel: f.to_row() for rel, f in facts.items()}}
        try:
            owned_path(self.root, f"{CACHE_DIR}/{CACHE_FILE}")
            write_atomic(self.path, json.dumps(data, separators=(",", ":")))
        except UnsafePath as e:
            self.problem = f"cache not saved: {e}"
        except OSError as e:
            self.problem = f"{self.path}: cache not saved ({e.strerror or e}); the next check decodes again"


Progress = Callable[[str, int, int], object]
"""progress(phase, done, total)"""


def _threads() -> int:
    return max(1, min(8, os.cpu_count() or 1))


PROCESS_MIN = 2_000
"""Images to decode from which worker processes decode them (``decode_workers``): each decode
runs Python around Pillow's C code, which threads share under the GIL, while processes do not;
below this many, starting the processes costs more than it saves."""


def _decode_all(paths: list[str], stats: list[os.stat_result], n: int,
                progress: Progress | None) -> list[tuple[int, int, int | None, str]]:
    """``decode_facts`` of every path, in order, on ``n`` workers: processes for many images,
    threads for a few, and for whatever a worker process did not answer."""
    from concurrent.futures import ThreadPoolExecutor

    total = len(paths)
    results: list[tuple[int, int, int | None, str] | None] = [None] * total
    if n > 1 and total >= PROCESS_MIN:
        from .decode_workers import decode_in_workers

        results = decode_in_workers(paths, n, None if progress is None else
                                    lambda done: progress("decoding", done, total))
    left = [i for i, r in enumerate(results) if r is None]
    if left:
        with warnings.catch_warnings(), ThreadPoolExecutor(max_workers=n, thread_name_prefix="loratui-check") as ex:
            warnings.simplefilter("ignore")  # Pillow warns about odd but readable files: noise here
            for k, (i, r) in enumerate(zip(left, ex.map(decode_facts, [paths[i] for i in left],
                                                          [stats[i] for i in left], chunksize=64)), 1):
                results[i] = r
                if progress is not None and k % 256 == 0:
                    progress("decoding", total - len(left) + k, total)
    return results  # type: ignore[return-value]  # every slot filled above


def collect_facts(ds, use_cache: bool = True, progress: Progress | None = None,
                  threads: int | None = None, entries=None) -> tuple[dict[int, ImageFacts], dict]:
    """Facts for every image of ``ds`` (by image id) and counters (decoded, cached, hashed).

    ``entries``: a snapshot of ``ds.images`` taken under ``ds.lock``, so the slow decoding can run
    without holding the lock (the TUI's writer thread keeps applying edits meanwhile)."""
    from concurrent.futures import ThreadPoolExecutor

    images = list(ds.images) if entries is None else entries
    by_id = {e.id: e for e in images}
    cache = FactsCache(ds.root)
    cached = cache.load() if use_cache else {}
    facts: dict[int, ImageFacts] = {}
    to_decode: list[int] = []
    stats: list[os.stat_result] = []
    hits = 0
    changed = False
    for e in images:
        st = ds.image_stat(e)
        if st is None:
            facts[e.id] = ImageFacts(0, 0, error="cannot be read (missing or permission denied)")
            continue
        old = cached.get(e.path)
        if old is not None and old.bytes == st.st_size and old.mtime_ns == st.st_mtime_ns:
            facts[e.id] = old
            hits += 1
            continue
        changed = True
        f = facts[e.id] = ImageFacts(st.st_size, st.st_mtime_ns)
        if st.st_size == 0:
            f.error = "zero-byte file (empty)"
        else:
            to_decode.append(e.id)
            stats.append(st)
    n = threads or _threads()
    if to_decode:
        paths = [ds.abspath(by_id[i].path) for i in to_decode]
        results = _decode_all(paths, stats, n, progress)
        from loratui.dataset.training_images import Probe, remember

        for i, path, st, (w, h, dh, err) in zip(to_decode, paths, stats, results):
            f = facts[i]
            f.width, f.height, f.dhash, f.error = w, h, dh, err
            # what decode_facts' header probe found, for this process's step math (the decode may
            # have run in a worker process)
            remember(path, st, Probe((w, h)) if w > 0 and h > 0 else Probe(None, err))
    # identical files: only files sharing a byte size (and so a dHash) can be identical, so only
    # those are read
    by_size: dict[tuple, list[int]] = {}
    for i, f in facts.items():
        if f.bytes > 0:
            by_size.setdefault((f.bytes, f.dhash), []).append(i)
    need = [i for ids in by_size.values() if len(ids) > 1 for i in ids if facts[i].content is None]
    if need:
        changed = True
        with ThreadPoolExecutor(max_workers=n, thread_name_prefix="loratui-check") as ex:
            for i, digest in zip(need, ex.map(content_hash, [ds.abspath(by_id[i].path) for i in need])):
                facts[i].content = digest
    if use_cache and (changed or len(cached) != len(facts)):
        cache.save({by_id[i].path: f for i, f in facts.items() if f.mtime_ns})
    return facts, {"images": len(images), "decoded": len(to_decode), "from_cache": hits, "content_hashed": len(need),
                   "threads": n, "cache_problem": cache.problem}
