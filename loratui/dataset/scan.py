"""Finding images, captions and kohya subsets in a folder, from directory listings only.

Scanning never decodes pixels: it lists folders and reads caption files. Image sizes come later,
lazily, from file headers (see ``ImageEntry.pixel_size``).
"""

from __future__ import annotations

import errno
import os
import re
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

from .caption import Caption, parse_caption
from .caption_file import TMP_MARKER, CaptionError, Fingerprint, caption_text, read_caption
from .report import ERROR, NOTE, WARNING, Problem
from .snapshot import DirKey, Listing, Snapshot, dir_key, settled_dir
from .snapshot import _plain_names as plain_names

IMAGE_EXTS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp"})
UNSUPPORTED_IMAGE_EXTS = frozenset({".gif", ".tif", ".tiff", ".avif", ".heic", ".heif", ".jxl", ".jfif"})
SUBSET_RE = re.compile(r"^(\d+)_(.+)$")
STATE_DIR = ".loratui"
MASK_SUFFIX = ".mask.png"
"""A loss mask (``dataset.alpha_mask``): ``NAME.mask.png`` beside the image ``NAME.<ext>``."""


def mask_stem(name: str) -> str | None:
    """The image stem a loss mask file name belongs to (``a.mask.png`` -> ``a``), None for any
    other name. The one rule for what a mask is: such a file is never a training image, whether
    or not its image is there (a mask left behind is reported, see ``ScanResult.masks``)."""
    if len(name) > len(MASK_SUFFIX) and name[-len(MASK_SUFFIX):].lower() == MASK_SUFFIX:
        return name[:-len(MASK_SUFFIX)]
    return None


@dataclass(slots=True)
class Subset:
    index: int
    path: str
    """Folder relative to the dataset root ("." for the root itself)."""
    name: str
    repeats: int
    class_tokens: str
    """What follows ``<repeats>_`` in a kohya folder name (identifier and class, e.g. ``sks dog``)."""
    note: str = ""
    image_ids: list[int] = field(default_factory=list)

    @property
    def image_count(self) -> int:
        return len(self.image_ids)


class ImageEntry:
    """One image and its caption, as last read from disk."""

    __slots__ = ("id", "path", "subset", "caption_path", "caption", "encoding", "fp",
                 "state", "duplicate_name", "changed_outside", "_pixel_size", "_stat")

    def __init__(self, id: int, path: str, subset: int, caption_path: str):
        self.id = id
        self.path = path
        """Image path relative to the dataset root, with ``/`` separators."""
        self.subset = subset
        self.caption_path = caption_path
        """Caption path relative to the root (whether or not the file exists)."""
        self.caption: Caption | None = None
        """The parsed caption (None: no caption file, or unreadable). The file's text itself is
        not kept in memory: the journal reads it from disk when an edit needs it."""
        self.encoding = "utf-8"
        self.fp: Fingerprint | None = None
        self.state = "missing"
        """ok | empty | missing | unreadable | encoding"""
        self.duplicate_name = False
        self.changed_outside = False
        self._pixel_size: tuple[int, int] | None = None
        self._stat: os.stat_result | None = None

    @property
    def tags(self) -> list[str]:
        return self.caption.tags if self.caption is not None else []

    @property
    def has_caption(self) -> bool:
        return self.state in ("ok", "empty")

    def stat(self, root: str) -> os.stat_result | None:
        """The image file's stat (``root``: the dataset folder), taken once; None when it fails."""
        if self._stat is None:
            try:
                self._stat = os.stat(os.path.join(root, self.path))
            except OSError:
                return None
        return self._stat

    @property
    def editable(self) -> bool:
        """True when loratui may write this image's caption file (creating it if missing)."""
        return self.state in ("ok", "empty", "missing")

    def set_caption_text(self, text: str | None, encoding: str, fp: Fingerprint | None,
                         parsed: Caption | None = None) -> None:
        self.encoding = encoding
        self.fp = fp
        if text is None:
            self.caption = None
            self.state = "missing"
        else:
            cap = self.caption = parsed if parsed is not None else parse_caption(text)
            self.state = "ok" if cap.tags else "empty"

    def __repr__(self) -> str:
        return f"ImageEntry({self.id}, {self.path!r}, tags={self.tags!r})"


@dataclass(slots=True)
class ScanResult:
    subsets: list[Subset]
    images: list[ImageEntry]
    problems: list[Problem]
    stray_temp_files: list[str]
    keys: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    """Caption path -> its stat key when read (mtime_ns, size, inode, ctime_ns): for the snapshot."""
    misses: int = 0
    """Captions read from disk rather than rebuilt from the snapshot."""
    unchanged: bool = False
    """Every row came from the snapshot, in the snapshot's order (its tag ids can be reused)."""
    folders: dict[str, tuple[DirKey, Listing]] = field(default_factory=dict)
    """Listings of the settled folders, for the snapshot (see ``snapshot.settled_dir``)."""
    relisted: bool = False
    """A settled folder was listed again (changed, or missing from the snapshot used)."""
    masks: dict[str, str] = field(default_factory=dict)
    """Image path -> its loss mask's path (``NAME.mask.png``), for the images that have one.
    Mask files are not images: a mask without an image is an ``orphan-mask`` problem."""


def subset_for_folder(index: int, rel: str, name: str) -> Subset:
    m = SUBSET_RE.match(name)
    if m:
        return Subset(index, rel, name, int(m.group(1)), m.group(2).strip())
    shown = "the dataset folder" if rel == "." else f"folder `{rel}`"
    return Subset(index, rel, name, 1, "",
                  note=f"{shown} has no `<repeats>_<name>` prefix: repeats 1 assumed "
                       "(rename it like `10_{0}` to set repeats)".format(name if rel != "." else "mychar"))


Progress = Callable[[int, int], object]
"""progress(captions done, captions in all), called every few thousand captions and at the end."""
PROGRESS_EVERY = 4096


@dataclass(slots=True)
class ScanPartial:
    """A scan in progress, as handed to ``scan(partial=...)``.

    During the walk, after each folder with images (``walking``), then after the walk, when the
    structure is final: ``subsets`` and ``images`` (ids, paths, subset indices) are the lists the
    finished ``ScanResult`` will hold. ``images[:ready]`` are final
    (captions loaded); later entries with a caption file are in state ``"pending"`` and are
    filled in place, in id order, by the scanning thread. Readers on other threads may show
    ``images[:ready]`` but must not modify anything.
    """

    subsets: list[Subset]
    images: list[ImageEntry]
    ready: int
    captions_done: int
    captions_total: int
    walking: bool = False
    """True while folders are still being listed: ``images`` grows (appended to in place) and
    subset indices may still be renumbered (folders without images are dropped at the end)."""


Partial = Callable[[ScanPartial], object]
"""partial(state): called after each folder with images, once after the walk, then every ``PROGRESS_EVERY`` captions and at the end."""


def scan(root: str, caption_ext: str = ".txt", snapshot: Snapshot | None = None,
         progress: Progress | None = None, partial: Partial | None = None) -> ScanResult:
    """Scan ``root`` recursively. Caption files are ``<image stem><caption_ext>``.

    With a ``snapshot`` (see ``loratui.dataset.snapshot``), captions whose stat key is unchanged
    are rebuilt from it instead of read; the result is the same either way.
    ``partial``: see ``ScanPartial`` (rows can be shown while captions load).
    """
    root = os.path.abspath(root)
    if not caption_ext.startswith("."):
        caption_ext = "." + caption_ext
    cap_ext_l = caption_ext.lower()
    subsets: list[Subset] = []
    images: list[ImageEntry] = []
    problems: list[Problem] = []
    stray: list[str] = []
    seen_real: set[str] = set()
    to_read: list[tuple[ImageEntry, str]] = []
    followers: dict[int, list[ImageEntry]] = {}
    """First image id of a shared caption -> the other images of its stem."""

    root_name = os.path.basename(root.rstrip(os.sep)) or root

    masks: dict[str, str] = {}
    folders: dict[str, tuple[DirKey, Listing]] = {}
    """Folders whose listing may be stored in the next snapshot (settled, nothing unusual in them)."""
    listing = snapshot.listing if snapshot is not None else None
    relisted = [False]

    def walk(abs_dir: str, rel_dir: str, subset: Subset | None) -> None:
        try:
            real = os.path.realpath(abs_dir)
            if real in seen_real:
                problems.append(Problem("symlink-loop", rel_dir, "folder reached twice through symlinks; scanned once", NOTE))
                return
            seen_real.add(real)
            stored = listing(rel_dir, abs_dir) if listing is not None else None
            if stored is None:
                # the folder's key is taken before listing it: a change during the listing shows
                key = dir_key(os.stat(abs_dir))
                listed_at = time.time_ns()
                with os.scandir(abs_dir) as it:
                    entries = list(it)
        except PermissionError:
            problems.append(Problem("unreadable", rel_dir, "folder cannot be listed (permission denied)", ERROR))
            return
        except OSError as err:
            problems.append(Problem("unreadable", rel_dir, f"folder cannot be listed ({err.strerror})", ERROR))
            return
        img_files: dict[str, list[str]] = {}
        cap_files: dict[str, str] = {}
        mask_files: dict[str, str] = {}
        """image stem -> its mask file name (``NAME.mask.png``)"""
        simple_names: list[str] = []
        if stored is not None:
            # unchanged since the snapshot listed it: its names, classified again here
            folders[rel_dir] = stored
            files, subdir_names, simple = stored[1]
            if simple:
                # the usual folder: one image per stem, each with its caption `<stem><caption_ext>`,
                # no other caption file; names stored in stem order
                simple_names = files
                files = []
            _sort_names(files, caption_ext, img_files, cap_files, mask_files)
        else:
            files = []
            subdir_names = []
            odd_cap = False
            # stored only when settled and plain: no symlink, stray temp file, unreadable entry
            # or other problem of the listing itself (those are looked at again every time)
            keep = settled_dir(key, listed_at)
            # the usual entries, regular files, are sorted by name in bulk; the loop below only
            # sees the rest (folders, symlinks, dot files, anything odd)
            regular = [e.name for e in entries if e.name[0] != "." and e.is_file(follow_symlinks=False)]
            if regular:
                odd_cap, others = _sort_names(regular, caption_ext, img_files, cap_files, mask_files)
                if others:
                    skip = set(others)
                    files = [name for name in regular if name not in skip]
                    for name in others:
                        stem, dot, ext = name.rpartition(".")
                        if dot and stem and "." + ext.lower() in UNSUPPORTED_IMAGE_EXTS:
                            keep = False
                            problems.append(_unsupported(rel_dir, name, ext))
                else:
                    files = regular
                if len(regular) < len(entries):
                    plain = set(regular)
                    entries = [e for e in entries if e.name not in plain]
                else:
                    entries = []
            linked: list[str] = []
            for e in entries:
                name = e.name
                if name[0] == ".":
                    if TMP_MARKER in name:
                        stray.append(e.path)
                        keep = False
                    continue
                stem, dot, ext = name.rpartition(".")
                ext_l = "." + ext.lower() if dot and stem else ""
                try:
                    if ext_l in IMAGE_EXTS or ext_l == cap_ext_l:
                        if e.is_file():
                            linked.append(name)  # a symlink to a file (regular files were sorted above)
                            keep = False
                            continue
                        if ext_l == cap_ext_l and e.is_dir():
                            # a folder where a caption should be: read as a caption, it says so (and is
                            # never edited); not scanned as a subset
                            cap_files[stem] = name
                            keep = False
                            continue
                    if e.is_dir():
                        subdir_names.append(name)
                        if keep and e.is_symlink():
                            keep = False
                        continue
                    if not e.is_file() and e.is_symlink():
                        keep = False
                        problems.append(Problem("broken-symlink", _join(rel_dir, name),
                                                "broken symlink (its target does not exist); fix or remove it", WARNING))
                        continue
                except OSError as err:
                    keep = False
                    if err.errno == errno.ELOOP:
                        problems.append(Problem("broken-symlink", _join(rel_dir, name),
                                                "symlink loop (the link leads back to itself); fix or remove it", WARNING))
                    else:
                        problems.append(Problem("unreadable", _join(rel_dir, name),
                                                f"cannot be read ({err.strerror or err})", WARNING))
                    continue
                if ext_l in UNSUPPORTED_IMAGE_EXTS:
                    keep = False
                    problems.append(_unsupported(rel_dir, name, ext))
            if linked:
                odd_cap = _sort_names(linked, caption_ext, img_files, cap_files, mask_files)[0] or odd_cap
        first_id = len(images)
        stems: list[str] = []
        if img_files or simple_names:
            if subset is None:
                subset = subset_for_folder(len(subsets), rel_dir, root_name if rel_dir == "." else os.path.basename(rel_dir))
                subsets.append(subset)
            prefix = "" if rel_dir == "." else rel_dir + "/"
            abs_prefix = abs_dir + os.sep
            subset_index = subset.index
            subset_ids = subset.image_ids
            for name in simple_names:
                stem = name.rpartition(".")[0]
                if not stem:
                    continue
                cap_rel = stem + caption_ext
                entry = ImageEntry(len(images), prefix + name, subset_index, prefix + cap_rel)
                entry.state = "pending"
                to_read.append((entry, abs_prefix + cap_rel))
                subset_ids.append(entry.id)
                images.append(entry)
            stems = sorted(img_files)
            for stem in stems:
                names = img_files[stem]
                cap_name = cap_files.get(stem)
                cap_rel = prefix + (cap_name if cap_name is not None else stem + caption_ext)
                if len(names) == 1:
                    entry = ImageEntry(len(images), prefix + names[0], subset_index, cap_rel)
                    if cap_name is not None:
                        entry.state = "pending"
                        to_read.append((entry, abs_prefix + cap_name))
                    else:
                        problems.append(Problem("no-caption", entry.path,
                                                f"no caption file ({stem}{caption_ext}); tag it or add one", WARNING))
                    subset_ids.append(entry.id)
                    images.append(entry)
                    continue
                names.sort()
                first: ImageEntry | None = None
                for name in names:
                    entry = ImageEntry(len(images), prefix + name, subset_index, cap_rel)
                    entry.duplicate_name = True
                    if first is not None:
                        # the same caption file serves every image of this stem: read it once
                        if cap_name is not None:
                            entry.state = "pending"
                            followers.setdefault(first.id, []).append(entry)
                    elif cap_name is not None:
                        entry.state = "pending"
                        to_read.append((entry, abs_prefix + cap_name))
                    else:
                        problems.append(Problem("no-caption", entry.path,
                                                f"no caption file ({stem}{caption_ext}); tag it or add one", WARNING))
                    images.append(entry)
                    subset_ids.append(entry.id)
                    first = first or entry
                problems.append(Problem("duplicate-name", prefix + stem,
                                        f"{len(names)} images share the name `{stem}` ({', '.join(names)}) and so "
                                        f"one caption file; rename all but one", WARNING))
        if mask_files:
            for owner, mask_name in sorted(mask_files.items()):
                mask_rel = _join(rel_dir, mask_name)
                if owner in img_files:
                    for name in img_files[owner]:
                        masks[_join(rel_dir, name)] = mask_rel
                else:
                    problems.append(Problem("orphan-mask", mask_rel,
                                            f"loss mask without an image ({owner}.png, .jpg…): not trained on; "
                                            "remove it or restore the image", NOTE))
        if stored is None and keep and plain_names(files) and plain_names(subdir_names):
            if (not odd_cap and not mask_files and len(cap_files) == len(img_files) == len(images) - first_id
                    and img_files.keys() <= cap_files.keys()):
                folders[rel_dir] = (key, ([names[0] for names in map(img_files.__getitem__, stems)],
                                          subdir_names, True))
            else:
                folders[rel_dir] = (key, (files, subdir_names, False))
            if listing is not None:
                relisted[0] = True
        if (img_files or simple_names) and partial is not None:
            # the rows of this folder, before the rest of the walk (captions still pending)
            partial(ScanPartial(subsets, images, to_read[0][0].id if to_read else len(images), 0, 0, True))
        for stem in sorted(cap_files.keys() - img_files.keys()):  # set arithmetic: no loop over every caption
            problems.append(Problem("orphan-caption", _join(rel_dir, cap_files[stem]),
                                    "caption file without an image; remove it or add the image", NOTE))
        for d in sorted(subdir_names):
            if d == STATE_DIR:
                continue
            rel = _join(rel_dir, d)
            child_subset = subset
            if child_subset is None and SUBSET_RE.match(d):
                child_subset = subset_for_folder(len(subsets), rel, d)
                subsets.append(child_subset)
            walk(os.path.join(abs_dir, d), rel, child_subset)

    top_subset = None
    if SUBSET_RE.match(root_name):
        # the user opened a `10_name` folder itself: it is the one subset
        top_subset = subset_for_folder(0, ".", root_name)
        subsets.append(top_subset)
    walk(root, ".", top_subset)
    # `walk` refers to itself through its closure cell: break that cycle, or it keeps every list
    # of this scan (and so all its entries) alive until a full garbage collection
    walk = None  # type: ignore[assignment]
    subsets = [s for s in subsets if s.image_ids]
    for i, s in enumerate(subsets):
        if s.index != i:
            for img_id in s.image_ids:
                images[img_id].subset = i
            s.index = i
    keys: dict[str, tuple[int, int, int, int]] = {}
    reporters = [r for r in (progress, _partial_reporter(partial, subsets, images, to_read)) if r is not None]

    def report(done: int, total: int) -> None:
        for r in reporters:
            r(done, total)

    misses = _load_captions(to_read, problems, snapshot, keys, report if reporters else None, followers)
    for s in subsets:
        if s.note:
            problems.append(Problem("no-repeats", s.path, s.note, NOTE))
    unchanged = snapshot is not None and snapshot.unchanged(len(images), misses)
    return ScanResult(subsets, images, problems, stray, keys, misses, unchanged, folders, relisted[0], masks)


def _unsupported(rel_dir: str, name: str, ext: str) -> Problem:
    return Problem("unsupported", _join(rel_dir, name),
                   f".{ext} images are not used for training; convert to PNG or JPEG", NOTE)


def _sort_names(names: list[str], caption_ext: str, img_files: dict[str, list[str]], cap_files: dict[str, str],
                mask_files: dict[str, str]) -> tuple[bool, list[str]]:
    """Sort a folder's file names into images (by stem), captions (by stem) and loss masks (by
    the image stem they belong to). Returns whether a caption's extension differs in case from
    ``caption_ext``, and the names that are none of the three."""
    cap_ext_l = caption_ext.lower()
    odd = False
    others: list[str] = []
    for name in names:
        stem, dot, ext = name.rpartition(".")
        if dot and stem:
            ext_l = "." + ext.lower()
            if ext_l == ".png" and stem[-5:].lower() == ".mask" and cap_ext_l != ".png" \
                    and (owner := mask_stem(name)) is not None:
                mask_files[owner] = name
                continue
            if ext_l == cap_ext_l:
                cap_files[stem] = name
                if "." + ext != caption_ext:
                    odd = True
                continue
            if ext_l in IMAGE_EXTS:
                if stem in img_files:
                    img_files[stem].append(name)
                else:
                    img_files[stem] = [name]
                continue
        others.append(name)
    return odd, others


def _partial_reporter(partial: Partial | None, subsets: list[Subset], images: list[ImageEntry],
                      to_read: list[tuple[ImageEntry, str]]) -> Progress | None:
    """A ``progress``-shaped callback that hands ``partial`` the scan so far (None without one)."""
    if partial is None:
        return None
    report = partial

    def at(done: int, total: int) -> None:
        # captions load in image id order, and images without a caption file are final after
        # the walk: every image before the next caption to load is final
        ready = to_read[done][0].id if done < total else len(images)
        report(ScanPartial(subsets, images, ready, done, total))
    return at


def _load_captions(to_read: list[tuple[ImageEntry, str]], problems: list[Problem],
                   snapshot: Snapshot | None, keys: dict[str, tuple[int, int, int, int]],
                   progress: Progress | None = None,
                   followers: dict[int, list[ImageEntry]] | None = None) -> int:
    """Read caption files (or take them from the snapshot) and parse them into their entries.

    Reader threads were tried, and handing the GIL back and forth between them and the parser
    cost more than the overlap of system calls gained; a cold open (no snapshot: every caption to
    read) of many captions reads them in a helper process instead (``bulk_read``), parsing here
    as they arrive. Returns how many captions were read from disk.
    """
    lookup = snapshot.lookup if snapshot is not None else None
    total = len(to_read)
    follow = followers or {}
    if progress is not None:
        progress(0, total)
    bulk = None
    if lookup is None:
        from .bulk_read import read_many

        bulk = read_many([p for _, p in to_read])
    try:
        misses = _read_in_order(to_read, problems, lookup, keys, progress, follow, bulk)
    finally:
        if bulk is not None:
            bulk.close()
    if follow and to_read:
        _follow(to_read[-1][0], follow)
    if progress is not None:
        progress(total, total)
    return misses


def _read_in_order(to_read: list[tuple[ImageEntry, str]], problems: list[Problem],
                   lookup: Callable[[ImageEntry, str, dict], bool] | None, keys: dict[str, tuple[int, int, int, int]],
                   progress: Progress | None, follow: dict[int, list[ImageEntry]],
                   bulk: Generator[tuple[bytes, tuple[int, int, int, int]] | None, None, None] | None) -> int:
    """The loop of ``_load_captions``: each caption in order, from the snapshot, the helper
    process's bytes or read here."""
    misses = 0
    total = len(to_read)
    for n, (entry, path) in enumerate(to_read):
        if n:
            if follow:
                # the images sharing the last caption take it now (before anything reports it ready)
                _follow(to_read[n - 1][0], follow)
            if progress is not None and not n % PROGRESS_EVERY:
                progress(n, total)
        if lookup is not None and lookup(entry, path, keys):
            if entry.state == "empty":
                problems.append(Problem("empty-caption", entry.caption_path,
                                        "caption file is empty" if entry.fp[1] == 0  # type: ignore[index]
                                        else "caption has no tags", WARNING))
            continue
        misses += 1
        got = next(bulk) if bulk is not None else None
        try:
            ct = caption_text(path, *got) if got is not None else read_caption(path)
        except CaptionError as e:
            entry.state = "encoding" if e.kind == "encoding" else "unreadable"
            problems.append(Problem(e.kind, entry.caption_path, e.message, ERROR))
            continue
        entry.set_caption_text(ct.text, ct.encoding, ct.fingerprint)
        keys[entry.caption_path] = (*ct.fingerprint, *ct.ident)
        if entry.state == "empty":
            problems.append(Problem("empty-caption", entry.caption_path,
                                    "caption file is empty" if ct.fingerprint[1] == 0
                                    else "caption has no tags", WARNING))
    return misses


def _follow(first: ImageEntry, followers: dict[int, list[ImageEntry]]) -> None:
    for entry in followers.get(first.id, ()):
        entry.caption, entry.encoding, entry.fp, entry.state = first.caption, first.encoding, first.fp, first.state


def _join(rel_dir: str, name: str) -> str:
    return name if rel_dir == "." else f"{rel_dir}/{name}"
