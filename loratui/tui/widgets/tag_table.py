"""The tag-frequency table: every tag with its count overall and per subset (virtualised)."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style

from loratui.tui.widgets.image_list import fit_left
from loratui.tui.widgets.virtual_list import VirtualList

COUNT_W = 7
SUBSET_W = 7


class TagTable(VirtualList):
    """Rows are tag names; counts come from the dataset's ``TagIndex``."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.dataset = None
        self.trigger: set[str] = set()
        self.scoped: dict[str, int] | None = None
        """Counts within a scope (a subset, a query, a selection); None: the whole dataset's."""

    def subset_columns(self, width: int) -> int:
        """How many per-subset columns fit beside a 20-cell tag name."""
        if self.dataset is None:
            return 0
        room = max(0, width - 2 - COUNT_W - 20)
        return min(len(self.dataset.subsets), room // SUBSET_W)

    def header(self, width: int) -> str:
        n = self.subset_columns(width)
        cols = "".join(fit_left(s.name[:SUBSET_W - 1], SUBSET_W - 1).rjust(SUBSET_W)
                       for s in self.dataset.subsets[:n]) if self.dataset else ""
        return "  " + "images".rjust(COUNT_W) + cols + "  tag"

    def render_row(self, key, width: int, base: Style) -> list[Segment]:
        ds = self.dataset
        if ds is None:
            return []
        sel = "✓ " if key in self.selected else "  "
        n = self.subset_columns(width)
        count = self.scoped.get(key, 0) if self.scoped is not None else ds.index.count(key)
        segs = [Segment(sel, self.style("mark", base)), Segment(f"{count:>{COUNT_W},}")]
        if n:
            per = ds.index.per_subset(key)
            segs.append(Segment("".join(f"{c:>{SUBSET_W},}" for c in per[:n]), self.style("dim", base)))
        segs.append(Segment("  "))
        segs.append(Segment(key, self.style("mark", base) if key in self.trigger else base))
        return segs
