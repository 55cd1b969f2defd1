"""A keyboard-first list that renders only the rows on screen (Textual's Line API).

Rows are keys (image ids, tag names); the list holds only the key sequence, so 100,000 rows cost
a Python list, not 100,000 widgets. Subclasses draw one row in ``render_row``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.actions import SkipAction
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

NAVIGATION = [
    Binding("up", "cursor(-1)", "Up", show=False),
    Binding("down", "cursor(1)", "Down", show=False),
    Binding("pageup", "page(-1)", show=False),
    Binding("pagedown", "page(1)", show=False),
    Binding("home", "jump(0)", show=False),
    Binding("end", "jump(-1)", show=False),
]
"""Cursor keys without letters (lists where typing narrows take only these)."""


class VirtualList(ScrollView, can_focus=True):
    """Cursor, multi-selection and scrolling over a sequence of row keys."""

    BINDINGS = [
        *NAVIGATION,
        Binding("k", "cursor(-1)", show=False),
        Binding("j", "cursor(1)", show=False),
        Binding("space", "toggle_select", "Select"),
        Binding("shift+down", "extend(1)", "Extend", show=False),
        Binding("shift+up", "extend(-1)", show=False),
        Binding("ctrl+a", "select_all", "Select all", show=False),
        Binding("escape", "clear_selection", "Clear selection", show=False),
    ]

    COMPONENT_CLASSES = {"virtual-list--cursor", "virtual-list--selected", "virtual-list--dim",
                         "virtual-list--mark", "virtual-list--warn"}

    DEFAULT_CSS = """
    VirtualList { overflow-x: hidden; }
    VirtualList > .virtual-list--cursor { background: $block-cursor-blurred-background; }
    VirtualList:focus > .virtual-list--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground; text-style: $block-cursor-text-style;
    }
    VirtualList > .virtual-list--selected { background: $accent 30%; }
    VirtualList > .virtual-list--dim { color: $text-muted; }
    VirtualList > .virtual-list--mark { color: $accent; text-style: bold; }
    VirtualList > .virtual-list--warn { color: $warning; }
    """

    class CursorMoved(Message):
        def __init__(self, sender: "VirtualList", key: Hashable | None) -> None:
            super().__init__()
            self.list = sender
            self.key = key

        @property
        def control(self) -> "VirtualList":
            return self.list

    class SelectionChanged(Message):
        def __init__(self, sender: "VirtualList") -> None:
            super().__init__()
            self.list = sender

        @property
        def control(self) -> "VirtualList":
            return self.list

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.rows: Sequence[Hashable] = []
        self.cursor = 0
        self.selected: set[Hashable] = set()
        self._anchor: int | None = None
        self._drawing_cursor = False
        self._frame: dict | None = None
        """Styles worked out once per ``render_lines`` call (one frame's rows), not once per row."""
        self._lines: dict[tuple, Strip] = {}
        """Drawn rows by (key, width, cursor, selected, row_signature, style): a scroll by one row
        draws one new row, not every row on screen. Only for subclasses giving a signature."""
        self.on_cursor: Callable[[Hashable | None], None] | None = None
        """Called at once when the cursor moves, instead of posting ``CursorMoved``: what it
        repaints lands in the same frame as the cursor row (a message reaches the screen only after
        a frame has been drawn, so each move would paint twice)."""

    # --- data ----------------------------------------------------------------------------------
    def set_rows(self, rows: Sequence[Hashable], keep: Hashable | None = None) -> None:
        """Show ``rows``; the cursor stays on ``keep`` (or the current key) when it is still there."""
        current = keep if keep is not None else self.cursor_key
        self.rows = rows
        self._update_virtual_size()
        pos = 0
        if current is not None and rows:
            try:
                pos = rows.index(current)
            except ValueError:
                pos = min(self.cursor, len(rows) - 1)
        self._move_to(pos, force=True)
        self.refresh()

    @property
    def cursor_key(self) -> Hashable | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def selection_or_cursor(self) -> list[Hashable]:
        """The selected keys in row order, or just the cursor's key when nothing is selected."""
        if self.selected:
            return [k for k in self.rows if k in self.selected]
        key = self.cursor_key
        return [] if key is None else [key]

    # --- drawing -------------------------------------------------------------------------------
    def render_row(self, key: Hashable, width: int, base: Style) -> list[Segment]:
        raise NotImplementedError

    def row_signature(self, key: Hashable) -> Hashable | None:
        """Everything ``render_row`` draws for ``key`` besides the cursor, the selection and the
        width, as a hashable value: rows whose signature did not change are not drawn again.
        None (the default): drawn every time."""
        return None

    def render_lines(self, crop):
        self._frame = {}
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines.clear()

    def render_line(self, y: int) -> Strip:
        _, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        frame = self._frame
        if frame is None:
            frame = {}
        base = frame.get("base")
        if base is None:
            base = frame["base"] = self.rich_style
        if index >= len(self.rows):
            return Strip.blank(width, base)
        key = self.rows[index]
        at_cursor = index == self.cursor
        selected = not at_cursor and key in self.selected
        signature = self.row_signature(key)
        if signature is not None:
            cache_key = (key, width, at_cursor, selected, signature, base)
            strip = self._lines.get(cache_key)
            if strip is not None:
                return strip
        self._drawing_cursor = at_cursor
        if at_cursor:
            base = base + self.get_component_rich_style("virtual-list--cursor")
        elif selected:
            base = base + self.get_component_rich_style("virtual-list--selected")
        segments = self.render_row(key, width, base)
        strip = Strip(segments).apply_style(base).adjust_cell_length(width, base)
        if signature is not None:
            if len(self._lines) >= 4 * max(32, self.size.height):
                self._lines.clear()  # a few screens' worth: older rows are drawn again if they come back
            self._lines[cache_key] = strip
        return strip

    def style(self, name: str, base: Style) -> Style:
        """``base`` plus a component style's foreground (keeps the cursor/selection background).

        The cursor row keeps the cursor's own colours: dim or accent text on a bright cursor
        background is illegible (high-contrast theme, 256 colours).
        """
        if self._drawing_cursor:
            return base
        frame = self._frame
        if frame is not None:
            got = frame.get((name, base))
            if got is not None:
                return got
        s = self.get_component_rich_style(f"virtual-list--{name}")
        styled = base + Style(color=s.color, bold=s.bold)
        if frame is not None:
            frame[(name, base)] = styled
        return styled

    # --- movement ------------------------------------------------------------------------------
    def _move_to(self, pos: int, force: bool = False) -> None:
        if not self.rows:
            old_key = self.cursor_key
            self.cursor = 0
            if force or old_key is not None:
                self._cursor_moved(None)
            return
        pos = max(0, min(pos, len(self.rows) - 1))
        if pos == self.cursor and not force:
            return
        old = self.cursor
        self.cursor = pos
        self._refresh_row(old)
        self._refresh_row(pos)
        self._scroll_to_cursor()
        self._cursor_moved(self.cursor_key)

    def _cursor_moved(self, key: Hashable | None) -> None:
        if self.on_cursor is not None:
            self.on_cursor(key)
        else:
            self.post_message(self.CursorMoved(self, key))

    def _refresh_row(self, index: int) -> None:
        if 0 <= index - self.scroll_offset.y < self.size.height:
            self.refresh_line(index)  # ScrollView's refresh_line takes the row's index, not its screen line

    def _scroll_to_cursor(self) -> None:
        height = max(1, self.scrollable_content_region.height)
        top = self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        self._anchor = None
        self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_jump(self, pos: int) -> None:
        self._move_to(len(self.rows) - 1 if pos < 0 else pos)

    def action_toggle_select(self) -> None:
        key = self.cursor_key
        if key is None:
            return
        if key in self.selected:
            self.selected.discard(key)
        else:
            self.selected.add(key)
        self._refresh_row(self.cursor)
        self.post_message(self.SelectionChanged(self))
        self._move_to(self.cursor + 1)

    def action_extend(self, delta: int) -> None:
        if self.cursor_key is None:
            return
        if self._anchor is None:
            self._anchor = self.cursor
        self.selected.add(self.cursor_key)
        self._move_to(self.cursor + delta)
        key = self.cursor_key
        if key is not None:
            self.selected.add(key)
        self.refresh()
        self.post_message(self.SelectionChanged(self))

    def action_select_all(self) -> None:
        self.selected = set(self.rows)
        self.refresh()
        self.post_message(self.SelectionChanged(self))

    def action_clear_selection(self) -> None:
        if not self.selected:
            raise SkipAction()  # let Escape mean "back" to the screen
        if self.selected:
            self.selected.clear()
            self.refresh()
            self.post_message(self.SelectionChanged(self))

    # --- mouse ---------------------------------------------------------------------------------
    def on_click(self, event: events.Click) -> None:
        index = self.scroll_offset.y + event.y
        if 0 <= index < len(self.rows):
            if event.shift or event.ctrl:
                key = self.rows[index]
                self.selected ^= {key}
                self.post_message(self.SelectionChanged(self))
                self.refresh()
            self._move_to(index)

    def _update_virtual_size(self) -> None:
        # Never smaller than the view: a list that fits keeps the same virtual size from one
        # content to the next, so showing another short caption needs no layout pass.
        self.virtual_size = Size(self.size.width, max(len(self.rows), self.scrollable_content_region.height))

    def on_resize(self, event: events.Resize) -> None:
        self._update_virtual_size()
        self._scroll_to_cursor()
