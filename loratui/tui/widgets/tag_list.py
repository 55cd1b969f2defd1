"""The selected image's tags as an ordered, editable list (rows are positions)."""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding

from loratui.dataset import normalize_tag
from loratui.tui.services.tag_confidence import confidence_text
from loratui.tui.widgets.virtual_list import VirtualList


class TagList(VirtualList):
    BINDINGS = [
        Binding("a,insert", "add", "Add tag"),
        Binding("e,enter", "edit", "Edit"),
        Binding("d,delete", "remove", "Delete"),
        Binding("shift+up,K", "move(-1)", "Move up"),
        Binding("shift+down,J", "move(1)", "Move down"),
        Binding("f", "front", "To front"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tags: list[str] = []
        self.trigger: set[str] = set()
        self.confidence: dict[str, float] = {}
        """Tagger confidence per normalised tag, shown right-aligned when known."""

    def render_row(self, key, width: int, base: Style) -> list[Segment]:
        tag = self.tags[key]
        is_trigger = tag in self.trigger
        num = f"{key + 1:>3} "
        mark = "★ " if is_trigger else "  "
        segs = [Segment(num, self.style("dim", base)), Segment(mark, self.style("mark", base)),
                Segment(tag, self.style("mark", base) if is_trigger else base)]
        p = self.confidence.get(normalize_tag(tag)) if self.confidence else None
        if p is not None:
            text = confidence_text(p)
            used = sum(cell_len(s.text) for s in segs)
            if width - used >= len(text) + 1:
                segs += [Segment(" " * (width - used - len(text))), Segment(text, self.style("dim", base))]
        return segs

    def show_tags(self, tags: list[str], trigger: set[str], cursor: int | None = None) -> None:
        self.tags = list(tags)
        self.trigger = trigger
        self.selected.clear()
        keep = cursor if cursor is not None else self.cursor
        self.set_rows(list(range(len(self.tags))), keep=min(keep, len(self.tags) - 1) if self.tags else None)

    # the caption editor implements these; the list only owns the keys
    def action_add(self) -> None:
        self.parent_editor().start_add()

    def action_edit(self) -> None:
        self.parent_editor().start_edit()

    def action_remove(self) -> None:
        self.parent_editor().remove_current()

    def action_move(self, delta: int) -> None:
        self.parent_editor().move_current(delta)

    def action_front(self) -> None:
        self.parent_editor().move_current_to_front()

    def action_toggle_select(self) -> None:
        pass  # one tag at a time here; space does nothing rather than something surprising

    def parent_editor(self):
        from loratui.tui.widgets.caption_editor import CaptionEditor

        return self.query_ancestor(CaptionEditor)
