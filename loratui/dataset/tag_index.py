"""Tag -> images, with counts overall and per subset, kept up to date edit by edit.

Built in one vectorised pass when a dataset opens: every tag gets a sorted numpy array of the
image ids carrying it, and every image its number of tags, so that queries (``red_hair``,
``tags<8``, ``*hair``, OR, NOT) are mask operations over arrays instead of a Python loop over
100,000 images. A tag touched by an edit switches to a Python ``set`` (cheap single updates).

A prompt-weighted tag counts as its bare tag: ``(smile:1.2)`` is ``smile`` here (as the edit
operations treat it), so the tag view, queries and ``loratui stats`` show one number for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain
from typing import TYPE_CHECKING

from .caption import bare_tag, normalize_tag

if TYPE_CHECKING:
    import numpy as np

    IdArray = np.ndarray  # (functions bind a local `np` from _numpy(): annotations use this name)


def _numpy():
    """numpy, imported on first use: ``import loratui.dataset`` (and the CLI's help) stays light."""
    import numpy

    return numpy


class TagIndex:
    """Which images carry each tag. An image counts once per tag, however often it repeats it.

    Per-subset counts are derived on first use (one pass) and then kept up to date edit by edit,
    so opening a large dataset does not pay for them until a view asks.
    """

    def __init__(self, subset_of: list[int] | None = None, subset_count: int = 0):
        np = _numpy()
        self._ids: dict[str, IdArray | set[int]] = {}
        """Per tag: a sorted int32 array (as built) or a set (once an edit touched the tag)."""
        self._as_set: dict[str, set[int]] = {}
        """Sets handed out by ``images()`` for tags still held as arrays."""
        self._subset_of = subset_of if subset_of is not None else []
        """Subset index of each image id (shared with the dataset's list of images)."""
        self._subset_count = subset_count
        self._per_subset: dict[str, list[int]] | None = None
        self._lengths = np.zeros(len(self._subset_of), np.int32)
        """Number of tags of each image as written (repeats included): what ``tags<N`` counts."""
        self._groups: dict[str, list[str]] | None = None
        """normalize_tag(tag) -> the tags spelling it; rebuilt when a tag appears or disappears."""

    # --- building --------------------------------------------------------------------------------
    def build(self, tag_lists: Sequence[Sequence[str]]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Fill from every image's tag list (index = image id; empty list for no caption).

        Returns ``(names, flat_ids, lengths)``: the tag table, every tag occurrence as an index
        into it (image by image, repeats and order kept) and each image's tag count, which the scan
        snapshot stores as they are.
        """
        np = _numpy()
        n = len(tag_lists)
        lengths = np.fromiter(map(len, tag_lists), np.int64, n)
        flat = list(chain.from_iterable(tag_lists))
        table = dict.fromkeys(flat)
        names = list(table)
        table = dict(zip(names, range(len(names))))
        tid = np.fromiter(map(table.__getitem__, flat), np.int32, len(flat))
        self._fill(names, tid, lengths)
        return names, tid, lengths

    def build_from_ids(self, names: list[str], tid: np.ndarray, lengths: np.ndarray) -> None:
        """Fill from a tag table and flat tag ids (as ``build`` returns them)."""
        self._fill(names, tid, lengths)

    def _fill(self, names: list[str], tid: np.ndarray, lengths: np.ndarray) -> None:
        np = _numpy()
        n = len(lengths)
        bare = [bare_tag(t) for t in names]  # once per distinct tag, not per occurrence
        if bare != names:
            table = dict.fromkeys(bare)
            names = list(table)
            where = dict(zip(names, range(len(names))))
            remap = np.fromiter((where[b] for b in bare), np.int32, len(bare))
            tid = remap[tid] if len(tid) else tid
        img = np.repeat(np.arange(n, dtype=np.int32), lengths)
        # a stable sort by tag groups the images of each tag, ascending (they come in image order);
        # with fewer than 65,536 tags the ids fit 16 bits, which numpy sorts by radix, in linear time
        small = tid.astype(np.uint16) if len(names) <= 0xFFFF else tid
        order = np.argsort(small, kind="stable")
        ts, ims = tid[order], img[order]
        if len(ts):
            keep = np.empty(len(ts), bool)
            keep[0] = True
            # an image repeating a tag counts once (its copies are next to each other now)
            np.logical_or(ts[1:] != ts[:-1], ims[1:] != ims[:-1], out=keep[1:])
            if not keep.all():
                ts, ims = ts[keep], ims[keep]
        if len(ts):
            starts = np.flatnonzero(ts[1:] != ts[:-1]) + 1
            starts = np.concatenate(([0], starts))
        else:
            starts = np.zeros(0, np.int64)
        ends = np.append(starts[1:], len(ts))
        firsts = ts[starts].tolist()
        d: dict[str, IdArray | set[int]] = {}
        for t, s, e in zip(firsts, starts.tolist(), ends.tolist()):
            d[names[t]] = ims[s:e]
        self._ids = d
        self._as_set = {}
        self._lengths = lengths.astype(np.int32)
        self._per_subset = None
        self._groups = None

    def bulk_load(self, items: Iterable[tuple[int, list[str]]]) -> None:
        """Fill from ``(image_id, tags)`` pairs (ids not listed have no tags)."""
        lists: list[list[str]] = [[] for _ in range(len(self._subset_of))]
        for image_id, tags in items:
            while image_id >= len(lists):
                lists.append([])
            lists[image_id] = tags
        self.build(lists)

    # --- keeping it up to date -------------------------------------------------------------------
    def _mutable(self, tag: str) -> set[int] | None:
        v = self._ids.get(tag)
        if v is None or isinstance(v, set):
            return v
        s = self._as_set.pop(tag, None)
        if s is None:
            s = set(v.tolist())
        self._ids[tag] = s
        return s

    def _subset_table(self) -> dict[str, list[int]]:
        np = _numpy()
        if self._per_subset is None:
            n = self._subset_count
            sub = np.asarray(self._subset_of, dtype=np.int64)
            table = {}
            for tag, ids in self._ids.items():
                arr = ids if not isinstance(ids, set) else np.fromiter(ids, np.int64, len(ids))
                table[tag] = np.bincount(sub[arr], minlength=n).tolist() if len(arr) else [0] * n
            self._per_subset = table
        return self._per_subset

    def add(self, image_id: int, subset: int, tags: Iterable[str]) -> None:
        """Record that the image carries ``tags`` (membership only; see ``update`` for counts)."""
        table = self._per_subset
        for tag in {bare_tag(t) for t in tags}:
            ids = self._mutable(tag)
            if ids is None:
                ids = self._ids[tag] = set()
                self._groups = None
                if table is not None:
                    table[tag] = [0] * self._subset_count
            if image_id not in ids:
                ids.add(image_id)
                if table is not None:
                    table[tag][subset] += 1

    def _drop(self, image_id: int, subset: int, tags: Iterable[str]) -> None:
        table = self._per_subset
        for tag in {bare_tag(t) for t in tags}:
            ids = self._mutable(tag)
            if ids is None or image_id not in ids:
                continue
            ids.discard(image_id)
            if ids:
                if table is not None:
                    table[tag][subset] -= 1
            else:
                del self._ids[tag]
                self._groups = None
                if table is not None:
                    del table[tag]

    def remove(self, image_id: int, subset: int, tags: Iterable[str]) -> None:
        """The image lost all its tags (``tags``): its caption went away or became unreadable."""
        self.update(image_id, subset, tags, [])

    def update(self, image_id: int, subset: int, old: Iterable[str], new: Sequence[str]) -> None:
        """The image's tags went from ``old`` to ``new`` (``new`` as written, repeats included)."""
        self.set_length(image_id, len(new))
        old_s, new_s = {bare_tag(t) for t in old}, {bare_tag(t) for t in new}
        if old_s != new_s:
            self._drop(image_id, subset, old_s - new_s)
            self.add(image_id, subset, new_s - old_s)

    def set_length(self, image_id: int, n: int) -> None:
        np = _numpy()
        if image_id >= len(self._lengths):
            grown = np.zeros(max(image_id + 1, 2 * len(self._lengths)), np.int32)
            grown[:len(self._lengths)] = self._lengths
            self._lengths = grown
        self._lengths[image_id] = n

    # --- reading ---------------------------------------------------------------------------------
    def images(self, tag: str) -> frozenset[int] | set[int]:
        """Ids of the images carrying ``tag`` (do not modify the result)."""
        tag = bare_tag(tag)
        v = self._ids.get(tag)
        if v is None:
            return _EMPTY
        if isinstance(v, set):
            return v
        s = self._as_set.get(tag)
        if s is None:
            s = self._as_set[tag] = set(v.tolist())
        return s

    def ids_array(self, tag: str) -> np.ndarray:
        """Ids of the images carrying ``tag`` as an integer array (queries scatter it into masks)."""
        np = _numpy()
        v = self._ids.get(bare_tag(tag))
        if v is None:
            return np.zeros(0, np.int32)
        if isinstance(v, set):
            return np.fromiter(v, np.int64, len(v))
        return v

    def lengths(self, n: int) -> np.ndarray:
        """Number of tags of images ``0..n-1`` (repeats included)."""
        if len(self._lengths) < n:
            self.set_length(n - 1, 0)
        return self._lengths[:n]

    def groups(self) -> dict[str, list[str]]:
        """normalize_tag(t) -> every tag spelled that way (``red_hair`` and ``red hair``...)."""
        if self._groups is None:
            g: dict[str, list[str]] = {}
            for t in self._ids:
                g.setdefault(normalize_tag(t), []).append(t)
            self._groups = g
        return self._groups

    def count(self, tag: str, subset: int | None = None) -> int:
        tag = bare_tag(tag)
        if subset is None:
            return len(self._ids.get(tag, ()))
        per = self._subset_table().get(tag)
        return per[subset] if per else 0

    def counts(self, subset: int | None = None) -> dict[str, int]:
        """Every tag with its image count (overall, or within one subset), unsorted."""
        if subset is None:
            return {t: len(ids) for t, ids in self._ids.items()}
        return {t: per[subset] for t, per in self._subset_table().items() if per[subset]}

    def per_subset(self, tag: str) -> list[int]:
        return list(self._subset_table().get(bare_tag(tag), [0] * self._subset_count))

    def most_common(self, n: int | None = None, subset: int | None = None) -> list[tuple[str, int]]:
        items = sorted(self.counts(subset).items(), key=lambda kv: (-kv[1], kv[0]))
        return items if n is None else items[:n]

    def __contains__(self, tag: str) -> bool:
        return bare_tag(tag) in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def tags(self) -> Iterable[str]:
        return self._ids.keys()


_EMPTY: frozenset[int] = frozenset()
