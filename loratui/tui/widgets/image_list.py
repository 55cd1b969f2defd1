"""The image list: one line per image (markers, file name, size, tag count), virtualised."""

from __future__ import annotations

import os

from rich.segment import Segment
from rich.style import Style

from loratui.dataset import Dataset
from loratui.tui.widgets.virtual_list import VirtualList

MARKERS = {"pending": ("…", "dim"), "missing": ("∅", "warn"), "empty": ("·", "warn"), "unreadable": ("!", "warn"), "encoding": ("!", "warn")}
LEGEND = "∅ no caption  · empty caption  ! unreadable  ~ changed outside  = duplicate name  ✓ selected"


def human_size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "K", "M", "G"):
        if n < 1024 or unit == "G":
            return f"{n:.0f}{unit}" if unit == "B" or n >= 10 else f"{n:.1f}{unit}"
        n /= 1024
    return "?"


def fit_left(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells, dropping the start (the file name matters more than folders)."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text.ljust(width)
    return "…" + text[len(text) - width + 1:]


def display_name(ds: Dataset, e) -> str:
    """The path inside its subset folder (the subset shows in the subset pane and the preview title)."""
    folder = ds.subsets[e.subset].path if 0 <= e.subset < len(ds.subsets) else "."
    if folder != "." and e.path.startswith(folder + "/"):
        return e.path[len(folder) + 1:]
    return e.path


class ScanView:
    """The rows of a scan still running (``ScanPartial``), shown in place of the dataset until it
    is loaded: read only, the same ``images``/``subsets``/``image_stat`` the rows are drawn from."""

    def __init__(self, root: str, subsets, images) -> None:
        self.root = os.path.abspath(root)
        self.subsets = subsets
        self.images = images

    def image_stat(self, entry):
        return entry.stat(self.root)


class ImageList(VirtualList):
    """Rows are image ids of ``dataset``."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.dataset: Dataset | None = None
        self.border_title = "Images"

    def row_signature(self, key):
        ds = self.dataset
        if ds is None or key >= len(ds.images):
            return None
        e = ds.images[key]
        st = ds.image_stat(e)
        # what render_row draws (bar the selection mark, which the cache key holds)
        return (id(ds), e.path, e.subset, e.state, e.changed_outside, e.duplicate_name, len(e.tags),
                st.st_size if st else None)

    def render_row(self, key, width: int, base: Style) -> list[Segment]:
        ds = self.dataset
        if ds is None or key >= len(ds.images):
            return []
        e = ds.images[key]
        sel = "✓" if key in self.selected else " "
        mark, mark_style = MARKERS.get(e.state, (" ", "dim"))
        if e.changed_outside:
            mark, mark_style = "~", "warn"
        dup = "=" if e.duplicate_name else " "
        st = ds.image_stat(e)
        size = human_size(st.st_size if st else None).rjust(6)
        count = str(len(e.tags)).rjust(4)
        name_w = width - 16
        return [
            Segment(sel, self.style("mark", base)),
            Segment(mark, self.style(mark_style, base)),
            Segment(dup, self.style("warn", base)),
            Segment(" "),
            Segment(fit_left(display_name(ds, e), name_w)),
            Segment(" "),
            Segment(size, self.style("dim", base)),
            Segment(" "),
            Segment(count),
        ]
