"""Tag -> images, with counts overall and per subset, kept up to date edit by edit."""

from __future__ import annotations

from collections.abc import Iterable


class TagIndex:
    """Which images carry each tag. An image counts once per tag, however often it repeats it."""

    def __init__(self, subset_count: int = 0):
        self._images: dict[str, set[int]] = {}
        self._per_subset: dict[str, list[int]] = {}
        self._subset_count = subset_count

    def add(self, image_id: int, subset: int, tags: Iterable[str]) -> None:
        for tag in set(tags):
            ids = self._images.get(tag)
            if ids is None:
                ids = self._images[tag] = set()
                self._per_subset[tag] = [0] * self._subset_count
            if image_id not in ids:
                ids.add(image_id)
                self._per_subset[tag][subset] += 1

    def remove(self, image_id: int, subset: int, tags: Iterable[str]) -> None:
        for tag in set(tags):
            ids = self._images.get(tag)
            if ids is None or image_id not in ids:
                continue
            ids.discard(image_id)
            if ids:
                self._per_subset[tag][subset] -= 1
            else:
                del self._images[tag]
                del self._per_subset[tag]

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
        per = self._per_subset.get(tag)
        return per[subset] if per else 0

    def counts(self, subset: int | None = None) -> dict[str, int]:
        """Every tag with its image count (overall, or within one subset), unsorted."""
        if subset is None:
            return {t: len(ids) for t, ids in self._images.items()}
        return {t: per[subset] for t, per in self._per_subset.items() if per[subset]}

    def per_subset(self, tag: str) -> list[int]:
        return list(self._per_subset.get(tag, [0] * self._subset_count))

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
