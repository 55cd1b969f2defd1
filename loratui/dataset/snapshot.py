"""The scan index kept in ``.loratui/cache/scan-index.bin``: reopening a dataset without re-reading
every caption.

For every image it stores the caption path, the caption file's stat key (mtime_ns, size, inode,
ctime_ns), its encoding, its tags as ids into one tag table, and the caption's layout when it is
not the plain one-line form. On open, the folder is still listed (added and removed images are
found that way) and every caption file is ``stat``-ed: a file whose key matches is rebuilt from the
snapshot, any other is read from disk. A caption written within two seconds of the snapshot is
stored with no key (its mtime may not yet tell a later change apart), so it is read again next time.

The file comes from a folder strangers may share, so it is a cache and nothing more: it is
validated as a whole (magic, checksum, sizes, ids in range, every path a clean relative path per
``safe_paths.clean_relative``, the root it was taken from) and any doubt discards it; its paths
are only compared with paths the scan itself found, never opened or written.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import time
from array import array
from typing import TYPE_CHECKING

from .caption import Caption
from .safe_paths import UnsafePath, clean_relative, is_inside

if TYPE_CHECKING:
    import numpy as np

MAGIC = b"loratui-scan-index\x00v3\n"
SNAPSHOT = os.path.join(".loratui", "cache", "scan-index.bin")
MAX_BYTES = 1 << 30
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16")
_ENC_CODE = {e: i for i, e in enumerate(ENCODINGS)}
RACY_MTIME_NS = 2_000_000_000
"""Captions modified this close to the snapshot are stored without a key (FAT-like mtime steps)."""
RACY_CTIME_NS = 100_000_000
_SECTIONS = ("tags", "paths", "keys", "enc", "lengths", "flat", "styles", "dirs")
_DEFAULT_STYLE = (", ", "\n", "", "", False)

StatKey = tuple[int, int, int, int]
"""(mtime_ns, size, inode, ctime_ns) of a caption file."""
DirKey = tuple[int, int, int]
"""(mtime_ns, ctime_ns, inode) of a folder, taken before it was listed."""
Listing = tuple[list[str], list[str], bool]
"""A folder's listing as the scan uses it: (image and caption file names, subfolder names, simple).
Simple: one image per stem, each with its caption `<stem><caption_ext>` and no other caption file;
then only the image names are kept, in stem order."""


def dir_key(st: os.stat_result) -> DirKey:
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def settled_dir(key: DirKey, now_ns: int) -> bool:
    """True when a listing taken at ``now_ns`` of a folder with ``key`` may be reused while the
    folder's key is unchanged: its mtime is at least two seconds older than the listing (a coarse
    mtime, e.g. FAT's 2 s or a second, cannot hide a later change behind an equal value)."""
    return key[0] < now_ns - RACY_MTIME_NS and key[1] < now_ns - RACY_CTIME_NS


def stat_key(st: os.stat_result) -> StatKey:
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


class Snapshot:
    """A validated snapshot, ready for lookups by caption path."""

    def __init__(self, names: list[str], paths: list[str], keys: np.ndarray, enc: np.ndarray,
                 lengths: np.ndarray, flat: np.ndarray, styles: dict[int, tuple],
                 dirs: dict[str, tuple[DirKey, list[str], list[str], bool]] | None = None):
        import numpy as np
        self.dirs = dirs or {}
        """Folder (relative, "." the root) -> its key and listing when the snapshot was taken."""
        self.names = names
        self.paths = paths
        # array.array rather than lists of Python ints: 4-8 bytes per value instead of ~36, and
        # slicing/indexing stays in C (a warm open of 100k captions holds ~2M tag ids here)
        self.keys = array("q", keys.astype(np.int64).tobytes())
        self.enc = enc.tobytes()
        self.lengths = lengths
        self.flat_arr = flat
        self._offsets = array("q", np.concatenate(([0], np.cumsum(lengths, dtype=np.int64))).tobytes())
        self._flat = array("i", flat.astype(np.int32).tobytes())
        self.styles = styles
        self._name_at = names.__getitem__
        # images sharing one caption file (same stem): the first row is the one with the key
        self.row_of = dict(zip(reversed(paths), range(len(paths) - 1, -1, -1)))
        self.valid_rows = int(np.count_nonzero(keys.reshape(-1, 4)[:, 0] >= 0))
        # rows stored without a key but with tags (racy captions): their ids cannot be reused as is
        self._keyless_tags = bool(np.any(lengths[keys.reshape(-1, 4)[:, 0] < 0])) if len(lengths) else False
        self.hits = 0
        self.in_place = True
        """Every hit so far was at the row equal to its image id (an unchanged dataset)."""

    def lookup(self, entry, path: str, found: dict) -> bool:
        """Fill ``entry``'s caption from the snapshot if ``path``'s stat key matches (and record
        that key in ``found``, by caption path); else False."""
        cap_path = entry.caption_path
        r = self.row_of.get(cap_path)
        if r is None:
            return False
        keys = self.keys
        b = 4 * r
        m = keys[b]
        if m < 0:
            return False
        try:
            st = os.stat(path)
        except OSError:
            return False
        k = (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)
        if k[0] != m or k[1] != keys[b + 1] or k[2] != keys[b + 2] or k[3] != keys[b + 3]:
            return False
        offsets = self._offsets
        tags = list(map(self._name_at, self._flat[offsets[r]:offsets[r + 1]]))
        style = self.styles.get(r)
        entry.caption = Caption(tags) if style is None else Caption(tags, *style)
        entry.encoding = ENCODINGS[self.enc[r]]
        entry.fp = (k[0], k[1])
        found[cap_path] = k
        entry.state = "ok" if tags else "empty"
        self.hits += 1
        if r != entry.id:
            self.in_place = False
        return True

    def listing(self, rel_dir: str, abs_dir: str) -> tuple[DirKey, Listing] | None:
        """The stored listing of folder ``rel_dir`` if the folder's key is unchanged, else None.

        A folder's mtime and ctime change whenever an entry is added, removed or renamed in it;
        caption edits in place do not change it, and are caught by each caption's own key."""
        d = self.dirs.get(rel_dir)
        if d is None:
            return None
        try:
            st = os.stat(abs_dir)
        except OSError:
            return None
        key = (st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        if key != d[0]:
            return None
        return key, (d[1], d[2], d[3])

    def key(self, r: int) -> StatKey:
        k = self.keys
        return (k[4 * r], k[4 * r + 1], k[4 * r + 2], k[4 * r + 3])

    def unchanged(self, n_images: int, misses: int) -> bool:
        """True when the scan found exactly the snapshot's rows, all from the snapshot."""
        return (misses == 0 and self.in_place and self.hits == self.valid_rows
                and len(self.paths) == n_images and not self._keyless_tags)


def path_of(root: str) -> str:
    return os.path.join(root, SNAPSHOT)


def load(root: str, caption_ext: str) -> Snapshot | None:
    """The snapshot of ``root``, or None when absent, unreadable, corrupt or not this folder's."""
    try:
        return _load(root, caption_ext)
    except (OSError, ValueError, KeyError, TypeError, IndexError, UnicodeError, struct.error,
            UnsafePath, OverflowError, MemoryError):
        return None


def _load(root: str, caption_ext: str) -> Snapshot | None:
    import numpy as np
    path = path_of(root)
    if not is_inside(root, path):
        return None
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
        if not (st.st_mode & 0o170000 == 0o100000) or st.st_size > MAX_BYTES:
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_BYTES + 1)
    finally:
        os.close(fd)
    if not data.startswith(MAGIC):
        return None
    pos = len(MAGIC)
    (hlen,) = struct.unpack_from("<I", data, pos)
    pos += 4
    head = json.loads(data[pos:pos + hlen].decode("utf-8"))
    pos += hlen
    if not isinstance(head, dict) or head.get("root") != os.path.realpath(root) \
            or head.get("caption_ext") != caption_ext:
        return None
    n, n_tags, n_flat = head["rows"], head["tags"], head["flat"]
    sizes = head["sizes"]
    if not all(isinstance(v, int) and v >= 0 for v in (n, n_tags, n_flat)):
        return None
    if head.get("blake2b") != hashlib.blake2b(memoryview(data)[pos:], digest_size=16).hexdigest():
        return None  # damaged: a flipped byte could otherwise turn into a wrong tag with a valid id
    if not isinstance(sizes, list) or len(sizes) != len(_SECTIONS) or \
            not all(isinstance(s, int) and s >= 0 for s in sizes) or pos + sum(sizes) != len(data):
        return None
    parts = {}
    for name, size in zip(_SECTIONS, sizes):
        parts[name] = data[pos:pos + size]
        pos += size
    if (len(parts["keys"]) != 32 * n or len(parts["enc"]) != n or len(parts["lengths"]) != 4 * n
            or len(parts["flat"]) != 4 * n_flat):
        return None
    names = parts["tags"].decode("utf-8", "surrogatepass").split("\x00") if n_tags else []
    paths = parts["paths"].decode("utf-8", "surrogateescape").split("\x00") if n else []
    if len(names) != n_tags or len(paths) != n:
        return None
    if not _all_clean(paths, parts["paths"]):
        return None
    keys = np.frombuffer(parts["keys"], "<i8")
    enc = np.frombuffer(parts["enc"], np.uint8)
    lengths = np.frombuffer(parts["lengths"], "<u4").astype(np.int64)
    flat = np.frombuffer(parts["flat"], "<u4").astype(np.int32)
    if int(lengths.sum()) != n_flat or (n and int(enc.max()) >= len(ENCODINGS)) \
            or (n_flat and int(flat.max()) >= n_tags) or (n_flat and n_tags >= 2**31):
        return None
    raw = json.loads(parts["styles"].decode("utf-8", "surrogatepass")) if parts["styles"] else {}
    if not isinstance(raw, dict):
        return None
    styles: dict[int, tuple] = {}
    for k, v in raw.items():
        r = int(k)
        if not (0 <= r < n) or not isinstance(v, list) or len(v) != 5 \
                or not all(isinstance(x, str) for x in v[:4]) or not isinstance(v[4], bool):
            return None
        styles[r] = tuple(v)
    dirs = _load_dirs(parts["dirs"])
    if dirs is None:
        return None
    return Snapshot(names, paths, keys, enc, lengths, flat, styles, dirs)


def _plain_name(name: object) -> bool:
    """A single path component the scan could have listed (never '', '.', '..', a dotfile, a
    separator or a NUL): names read back are joined to folders the scan itself reached."""
    return (isinstance(name, str) and name != "" and name[0] != "." and "/" not in name
            and "\x00" not in name and os.sep not in name and (os.altsep or "/") not in name)


def _plain_names(names: list) -> bool:
    """``_plain_name`` for every name, tested on the joined list (a few substring searches)."""
    if not names:
        return True
    try:
        joined = "\x00" + "\x00".join(names) + "\x00"
    except TypeError:
        return False  # not all strings
    if joined.count("\x00") != len(names) + 1:
        return False  # a NUL inside a name
    if "\x00\x00" in joined or "\x00." in joined or "/" in joined or os.sep in joined:
        return False
    return os.altsep is None or os.altsep not in joined


def _load_dirs(blob: bytes) -> dict[str, tuple[DirKey, list[str], list[str], bool]] | None:
    if not blob:
        return {}
    raw = json.loads(blob.decode("ascii"))
    if not isinstance(raw, dict):
        return None
    dirs: dict[str, tuple[DirKey, list[str], list[str], bool]] = {}
    for rel, v in raw.items():
        try:
            if rel != "." and clean_relative(rel) != rel:
                return None
        except UnsafePath:
            return None
        if not isinstance(v, list) or len(v) != 6:
            return None
        m, c, ino, files, subdirs, simple = v
        if not all(type(x) is int for x in (m, c, ino)) or not isinstance(files, list) \
                or not isinstance(subdirs, list) or not isinstance(simple, bool):
            return None
        if not _plain_names(files) or not _plain_names(subdirs):
            return None
        dirs[rel] = ((m, c, ino), files, subdirs, simple)
    return dirs


_SUSPECT = (b"\x00/", b"//", b"/./", b"/../", b"\x00./", b"\x00../", b"/.\x00", b"/..\x00",
            b"\x00.\x00", b"\x00..\x00", b"\x00\x00", b"/\x00", b"\\")


def _all_clean(paths: list[str], blob: bytes) -> bool:
    """True when every path passes ``safe_paths.clean_relative`` unchanged.

    A few substring searches over the whole joined table prove it for the usual table (no empty,
    absolute, ``.``/``..`` or doubled-slash component anywhere); only a table where one of those
    patterns appears is checked path by path.
    """
    framed = b"\x00" + blob + b"\x00"
    if not any(p in framed for p in _SUSPECT):
        return True
    try:
        return all(clean_relative(p) == p for p in paths)
    except UnsafePath:
        return False


def save(root: str, caption_ext: str, images, keys: dict[str, StatKey],
         names: list[str], flat: np.ndarray, lengths: np.ndarray,
         dirs: dict[str, tuple[DirKey, Listing]] | None = None) -> bool:
    """Write the snapshot of a scan: ``images`` in id order, ``keys`` the stat key each caption had
    when read, ``names``/``flat``/``lengths`` the tag table, ids and counts of the tag index build,
    ``dirs`` the listings of the settled folders (see ``settled_dir``), each with its key.

    Returns False (and writes nothing) when the state folder is not the dataset's own or is not
    writable: it is a cache, its absence only costs time.
    """
    import numpy as np

    from ..fileio import write_atomic

    path = path_of(root)
    for folder in (os.path.dirname(os.path.dirname(path)), os.path.dirname(path)):
        if os.path.lexists(folder) and not is_inside(root, folder):
            return False  # .loratui or its cache is a symlink out of the dataset: refuse to write
    n = len(images)
    now = time.time_ns()
    racy_m, racy_c = now - RACY_MTIME_NS, now - RACY_CTIME_NS
    karr = np.full((n, 4), -1, np.int64)
    rows: list[int] = []
    vals: list[StatKey] = []
    styles: dict[str, list] = {}
    get = keys.get
    seen: set[str] = set()
    for e in images:
        cap = e.caption
        if cap is None:
            continue
        k = get(e.caption_path)
        if k is not None and k[0] < racy_m and k[3] < racy_c and e.caption_path not in seen:
            seen.add(e.caption_path)
            rows.append(e.id)
            vals.append(k)
        style = (cap.separator, cap.newline, cap.rest, cap.lead, cap.trailing_newline)
        if style != _DEFAULT_STYLE:
            styles[str(e.id)] = list(style)
    if rows:
        karr[np.asarray(rows)] = np.asarray(vals, np.int64)
    bad = [i for i, t in enumerate(names) if "\x00" in t]
    if bad:
        # a tag holding a NUL cannot be stored in the table: its images are read again next time
        names = [t.replace("\x00", "\ufffd") for t in names]
        offsets = np.concatenate(([0], np.cumsum(lengths)))
        has_bad = np.isin(flat, bad)
        for i in range(n):
            if has_bad[offsets[i]:offsets[i + 1]].any():
                karr[i] = -1
    enc = np.fromiter((_ENC_CODE.get(e.encoding, 0) for e in images), np.uint8, n)
    try:
        parts = [
            "\x00".join(names).encode("utf-8", "surrogatepass"),
            "\x00".join(e.caption_path for e in images).encode("utf-8", "surrogateescape"),
            karr.astype("<i8").tobytes(),
            enc.tobytes(),
            np.asarray(lengths).astype("<u4").tobytes(),
            np.asarray(flat).astype("<u4").tobytes(),
            json.dumps(styles, ensure_ascii=False).encode("utf-8", "surrogatepass") if styles else b"",
            # ASCII JSON: names that are not valid UTF-8 (surrogate escapes) travel as \uXXXX escapes
            json.dumps({rel: [*k, *listing] for rel, (k, listing) in (dirs or {}).items()},
                       separators=(",", ":")).encode("ascii") if dirs else b"",
        ]
    except UnicodeError:
        return False
    digest = hashlib.blake2b(digest_size=16)
    for p in parts:
        digest.update(p)
    head = json.dumps({"root": os.path.realpath(root), "caption_ext": caption_ext, "rows": n,
                       "tags": len(names), "flat": int(len(flat)), "sizes": [len(p) for p in parts],
                       "blake2b": digest.hexdigest()}).encode()
    try:
        write_atomic(path, b"".join([MAGIC, struct.pack("<I", len(head)), head, *parts]))
    except OSError:
        return False
    return True
