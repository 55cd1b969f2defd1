"""One line of text drawn straight to a Strip: for labels that change on every cursor move.

A ``Static`` re-parses and lays out its content on each update (markup, wrapping, alignment),
which costs more per frame than the rows of the image list beside it; a line that only ever holds
one line of plain text, some of it in the warning colour, needs none of that.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual.strip import Strip
from textual.widget import Widget

Part = tuple[str, bool]
"""(text, shown in the warning colour)"""


class TextLine(Widget):
    COMPONENT_CLASSES = {"text-line--warning"}
    DEFAULT_CSS = """
    TextLine { height: 1; }
    TextLine > .text-line--warning { color: $warning; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._parts: list[Part] = []

    @property
    def text(self) -> str:
        """The line as plain text."""
        return "".join(t for t, _ in self._parts)

    def update(self, *parts: str | Part) -> None:
        """Show ``parts`` one after the other: plain strings, or ``(text, warning)`` pairs."""
        new = [(p, False) if isinstance(p, str) else p for p in parts]
        if new != self._parts:
            self._parts = new
            self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y or not self._parts:
            return Strip.blank(width, base)
        warning = None
        segments = []
        used = 0
        for text, warn in self._parts:
            if used >= width:
                break
            if used + cell_len(text) > width:
                text = set_cell_size(text, max(0, width - used - 1)) + "…"
            if warn and warning is None:
                warning = base + self.get_component_rich_style("text-line--warning", partial=True)
            segments.append(Segment(text, warning if warn else base))
            used += cell_len(text)
        return Strip(segments).adjust_cell_length(width, base)
