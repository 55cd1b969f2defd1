"""The tag list of a WD14 model (``selected_tags.csv``): names and categories, one row per output."""

from __future__ import annotations

import csv
from dataclasses import dataclass

import numpy as np

RATING, GENERAL, CHARACTER = 9, 0, 4
CATEGORY_NAMES = {RATING: "rating", GENERAL: "general", CHARACTER: "character"}


class LabelsError(Exception):
    """The CSV is missing, unreadable or not a WD14 tag list."""


@dataclass
class Labels:
    names: list[str]
    categories: np.ndarray
    """int array, one category per output column (9 rating, 0 general, 4 character, others ignored)."""

    def __len__(self) -> int:
        return len(self.names)

    def indices(self, category: int) -> np.ndarray:
        return np.flatnonzero(self.categories == category)

    @property
    def rating(self) -> np.ndarray:
        return self.indices(RATING)

    @property
    def general(self) -> np.ndarray:
        return self.indices(GENERAL)

    @property
    def character(self) -> np.ndarray:
        return self.indices(CHARACTER)


def load_labels(path: str) -> Labels:
    """Read ``selected_tags.csv`` (header ``tag_id,name,category,count``)."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        raise LabelsError(f"{path}: not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise LabelsError(f"{path}: unreadable ({e})") from None
    if not rows or "name" not in rows[0] or "category" not in rows[0]:
        raise LabelsError(f"{path}: not a WD14 tag list (expected columns tag_id,name,category,count)")
    names: list[str] = []
    cats: list[int] = []
    for n, r in enumerate(rows, start=2):
        try:
            cats.append(int(r["category"]))
        except (TypeError, ValueError):
            raise LabelsError(f"{path}:{n}: category {r['category']!r} is not a number") from None
        names.append(r["name"] or "")
    labels = Labels(names, np.asarray(cats, dtype=np.int32))
    if not len(labels.general):
        raise LabelsError(f"{path}: no general tags (category 0); not a WD14 tag list")
    return labels
