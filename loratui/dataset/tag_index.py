"""Tag -> images, with counts overall and per subset, kept up to date edit by edit."""

from __future__ import annotations

from collections.abc import Iterable


class TagIndex:
    """Which images carry each tag. An image counts once per tag, however often it repeats it.

    Per-subset counts are derived on first use (one pass) and then kept up to date edit by edit,
    so opening a large dataset does not pay for them until a view asks.
    """

    def __init__(self, subset_of: list[int] | None = None, subset_count: int = 0):
        self._images: dict[str, set[int]] = {}
        self._subset_of = subset_of if subset_of is not None else []
        """Subset index of each image id (shared with the dataset's list of images)."""
        self._subset_count = subset_count
        self._per_subset: dict[str, list[int]] | None = None

    def bulk_load(self, items) -> None:
        """Fast initial fill from ``(image_id, tags)`` pairs (no per-subset bookkeeping yet)."""
        d = self._images
        get = d.get
        for image_id, tags in items:
            for tag in tags:
                ids = get(tag)
                if ids is None:
                    d[tag] = {image_id}
                else:
                    ids.add(image_id)
        self._per_subset = None

    def _subset_table(self) -> dict[str, list[int]]:
        if self._per_subset is None:
            n = self._subset_count
            sub = self._subset_of
            table = {}
            for tag, ids in self._images.items():
                row = [0] * n
                for i in ids:
                    row[sub[i]] += 1
                table[tag] = row
            self._per_subset = table
        return self._per_subset

    def add(self, image_id: int, subset: int, tags: Iterable[str]) -> None:
        table = self._per_subset
        for tag in set(tags):
            ids = self._images.get(tag)
            if ids is None:
                ids = self._images[tag] = set()
                if table is not None:
                    table[tag] = [0] * self._subset_count
            if image_id not in ids:
                ids.add(image_id)
                if table is not None:
                    table[tag][subset] += 1

    def remove(self, image_id: int, subset: int, tags: Iterable[str]) -> None:
        table = self._per_subset
        for tag in set(tags):
            ids = self._images.get(tag)
            if ids is None or image_id not in ids:
                continue
            ids.discard(image_id)
            if ids:
                if table is not None:
                    table[tag][subset] -= 1
            else:
                del self._images[tag]
                if table is not None:
                    del table[tag]

    def update(self, image_id: int, subset: int, old: Iterable[str], new: Iterable[str]) -> None:
        old_s, new_s = set(old), set(new)
        if old_s != new_s:
            self.remove(image_id, subset, old_s - new_s)
            self.add(image_id, subset, new_s - old_s)

    def images(self, tag: str) -> frozenset[int] | set[int]:
        """Ids of the images carrying ``tag`` (do not modify the result)."""
        return self._images.get(tag, _EMPTY)

    def count(self, tag: str, subset: int | None = None) -> int:
        if subset is None:
            return len(self._images.get(tag, ()))
        per = self._subset_table().get(tag)
        return per[subset] if per else 0

    def counts(self, subset: int | None = None) -> dict[str, int]:
        """Every tag with its image count (overall, or within one subset), unsorted."""
        if subset is None:
            return {t: len(ids) for t, ids in self._images.items()}
        return {t: per[subset] for t, per in self._subset_table().items() if per[subset]}

    def per_subset(self, tag: str) -> list[int]:
        return list(self._subset_table().get(tag, [0] * self._subset_count))

    def most_common(self, n: int | None = None, subset: int | None = None) -> list[tuple[str, int]]:
        items = sorted(self.counts(subset).items(), key=lambda kv: (-kv[1], kv[0]))
        return items if n is None else items[:n]

    def __contains__(self, tag: str) -> bool:
        return tag in self._images

    def __len__(self) -> int:
        return len(self._images)

    def tags(self) -> Iterable[str]:
        return self._images.keys()


_EMPTY: frozenset[int] = frozenset()
