"""``LossChart``: the loss (raw band + smoothed), LR, epoch markers and a compared run, in braille.

Redraws are throttled (``min_interval``) and only the rows that changed are refreshed, so a new
step usually rewrites a couple of terminal lines, not the whole chart.
"""

from __future__ import annotations

import time

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from loratui.tui.screens.monitor.canvas import AXIS, COMPARE, EPOCH, LR, RAW, SMOOTH, VAL, Series, chart_rows

ZOOMS = (0, 1000, 200, 50)
"""Last-N-steps zoom levels (0 = the whole run)."""


class LossChart(Widget):
    COMPONENT_CLASSES = {"chart--raw", "chart--smooth", "chart--lr", "chart--compare", "chart--epoch", "chart--axis",
                         "chart--val"}
    DEFAULT_CSS = """
    LossChart { height: 1fr; min-height: 8; }
    LossChart > .chart--raw { color: $primary 45%; }
    LossChart > .chart--smooth { color: $accent; text-style: bold; }
    LossChart > .chart--compare { color: $warning; }
    LossChart > .chart--lr { color: $success; }
    LossChart > .chart--epoch { color: $text-muted 40%; }
    LossChart > .chart--axis { color: $text-muted; }
    LossChart > .chart--val { color: $error; text-style: bold; }
    """

    def __init__(self, *, min_interval: float = 1.0, id: str | None = None) -> None:
        super().__init__(id=id)
        self.min_interval = min_interval
        self.progress = None
        self.compare: Series | None = None
        self.compare_name = ""
        self.zoom = 0
        self._rows: list[Strip] = []
        self._drawn_at = 0.0
        self._timer = None
        self._key = None
        self._key_view = None
        self._y_range = None
        self._cells: list[list[tuple[str, int]]] = []
        self.draws = 0
        """How many times the chart was recomputed (tests, benchmark)."""

    def show(self, progress) -> None:
        """New data: redraw now, or once ``min_interval`` has passed since the last redraw."""
        self.progress = progress
        wait = self.min_interval - (time.monotonic() - self._drawn_at)
        if wait <= 0:
            self._redraw()
        elif self._timer is None:
            self._timer = self.set_timer(wait, self._redraw)

    def set_compare(self, name: str, series: Series | None) -> None:
        self.compare_name, self.compare = name, series
        self.border_subtitle = f"compare: {name}" if series else ""
        self._redraw()

    def cycle_zoom(self) -> int:
        self.zoom = ZOOMS[(ZOOMS.index(self.zoom) + 1) % len(ZOOMS)] if self.zoom in ZOOMS else 0
        self._redraw()
        return self.zoom

    def on_resize(self) -> None:
        # the rows of the old size are dropped, so the redraw must not be skipped as "same key"
        # (a resize that ends at the size already drawn left the chart blank)
        self._rows = []
        self._key = None
        self._redraw()

    def _redraw(self) -> None:
        self._timer = None
        p = self.progress
        w, h = self.size
        if p is None or w < 12 or h < 4:
            return
        key = (p.version, w, h, self.zoom, id(self.compare))
        if key == self._key:
            return
        self._key = key
        self._drawn_at = time.monotonic()
        self.draws += 1
        n = min(len(p.steps), len(p.losses), len(p.lrs))
        steps = p.steps[:n]
        rows, self._y_range = chart_rows(
            w, h, Series(steps, p.losses[:n]), Series(steps, p.lrs[:n]) if any(p.lrs[:n]) else None,
            x_max=p.total_steps, last_n=self.zoom, epoch_marks=list(p.epoch_marks), compare=self.compare,
            y_range=self._y_range if self._key_view == (w, h, self.zoom, id(self.compare)) else None,
            val=Series(list(p.val_steps), list(p.val_losses)) if p.val_steps else None)
        self._key_view = (w, h, self.zoom, id(self.compare))
        styles = {RAW: "chart--raw", SMOOTH: "chart--smooth", LR: "chart--lr", COMPARE: "chart--compare",
                  EPOCH: "chart--epoch", AXIS: "chart--axis", VAL: "chart--val"}
        base = self.rich_style
        cache: dict[int, Style] = {}

        def style(layer: int) -> Style:
            if layer not in cache:
                cache[layer] = base + self.get_component_rich_style(styles[layer]) if layer in styles else base
            return cache[layer]

        self._rows = [Strip([Segment(text, style(layer)) for text, layer in r]).adjust_cell_length(w, base)
                      for r in rows]
        cells = [[(ch, layer) for text, layer in r for ch in text] for r in rows]
        old, self._cells = self._cells, cells
        if len(old) != len(cells) or self.draws == 1:
            self.refresh()
            return
        # refresh only the changed span of each changed row: usually a few cells at the right edge
        for y, (a, b) in enumerate(zip(old, cells)):
            if a == b:
                continue
            n = max(len(a), len(b))
            x0 = next(i for i in range(n) if i >= len(a) or i >= len(b) or a[i] != b[i])
            x1 = next(i for i in range(n - 1, -1, -1) if i >= len(a) or i >= len(b) or a[i] != b[i])
            self.refresh(Region(x0, y, x1 - x0 + 1, 1))

    def render_line(self, y: int) -> Strip:
        if y < len(self._rows):
            return self._rows[y]
        return Strip.blank(self.size.width, self.rich_style)
