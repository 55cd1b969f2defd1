"""Typing tags: an input with a dropdown of suggestions and a line saying how a tag will be written.

The dropdown (an ``OptionList`` that never takes focus) lists the dataset's tags matching the last
comma-separated entry: prefix matches, then substring, then subsequence, most frequent first, with
counts. Up/Down move in it; Tab (or → at the end) accepts the highlighted tag, the first when none
is; Enter accepts the tag picked with Up/Down, else adds what is typed; Esc closes it (a second Esc
leaves the input). The note line shows the tag as it will be written in the dataset's style
(``red_hair`` -> ``red hair``) when that differs from what was typed.
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text
from textual.actions import SkipAction
from textual.binding import Binding
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from loratui.tui.services.tag_vocabulary import TagVocabulary
from loratui.tui.widgets.ordered_keys import OrderedInput


def split_entries(value: str) -> list[str]:
    return [t.strip() for t in value.split(",") if t.strip()]


class TagDropdown(OptionList):
    """The suggestion list under a tag input (shown while there are suggestions)."""

    can_focus = False
    DEFAULT_CSS = """
    TagDropdown { display: none; height: auto; max-height: 8; border: none; padding: 0;
                  background: $panel; }
    TagDropdown.-shown { display: block; }
    """


class TagEntryInput(OrderedInput):
    """An ``Input`` for comma-separated tags that drives a ``TagDropdown`` and a note line."""

    BINDINGS = [
        Binding("down", "dropdown(1)", "Next suggestion", show=False),
        Binding("up", "dropdown(-1)", "Previous suggestion", show=False),
        Binding("tab", "accept", "Accept suggestion", show=False),
        Binding("right", "accept_or_right", "Accept suggestion", show=False),
        Binding("escape", "close_dropdown", "Close suggestions", show=False),
    ]

    def __init__(self, vocabulary: TagVocabulary, dropdown: TagDropdown, note: Static | None = None,
                 *, limit: int = 8, **kw) -> None:
        super().__init__(**kw)
        self.vocabulary = vocabulary
        self.dropdown = dropdown
        self.note = note
        self.limit = limit
        self._found: list[tuple[str, int]] = []

    # --- the dropdown ---------------------------------------------------------------------------
    @property
    def dropdown_shown(self) -> bool:
        return self.dropdown.has_class("-shown")

    def _last(self) -> str:
        return self.value.rpartition(",")[2].strip()

    def refresh_suggestions(self) -> None:
        last = self._last()
        found = self.vocabulary.complete(last, self.limit) if last else []
        if len(found) == 1 and found[0][0] == last:
            found = []  # the only match is what is typed: nothing to offer
        self._found = found
        self.dropdown.clear_options()
        self.dropdown.add_options(
            Option(Text.from_markup(f"{escape(t)}  [dim]{n:,}[/]" if n else f"{escape(t)}  [dim]tagger[/]"))
            for t, n in found)
        self.dropdown.set_class(bool(found), "-shown")
        self.dropdown.highlighted = None  # Enter adds what is typed until a suggestion is picked
        self._update_note()

    def close_dropdown(self) -> None:
        self._found = []
        self.dropdown.set_class(False, "-shown")

    def _update_note(self) -> None:
        if self.note is None:
            return
        typed = split_entries(self.value)
        written = [self.vocabulary.normalize(t) for t in typed]
        changed = [f"{escape(a)} → {escape(b)}" for a, b in zip(typed, written, strict=True) if a != b]
        self.note.update(f"[dim]written as the dataset does:[/] {', '.join(changed)}" if changed else "")

    def _on_input_changed(self, event: Input.Changed) -> None:
        if event.input is self:
            self.refresh_suggestions()

    def action_dropdown(self, delta: int) -> None:
        if not self.dropdown_shown:
            raise SkipAction()
        n = self.dropdown.option_count
        cur = self.dropdown.highlighted
        if n:
            self.dropdown.highlighted = (0 if delta > 0 else n - 1) if cur is None else (cur + delta) % n

    def action_accept(self) -> None:
        """Put the highlighted suggestion (else the first) in place of the entry being typed."""
        i = self.dropdown.highlighted if self.dropdown.highlighted is not None else 0
        if not self.dropdown_shown or i is None or not 0 <= i < len(self._found):
            raise SkipAction()
        head, sep, last = self.value.rpartition(",")
        lead = " " if sep else ""
        new = head + sep + lead + self._found[i][0]
        with self.prevent(Input.Changed):
            self.value = new
        self.cursor_position = len(new)
        self.close_dropdown()
        self._update_note()

    def action_accept_or_right(self) -> None:
        """→ at the end of the text accepts the suggestion (as Textual's inline completion did)."""
        if self.dropdown_shown and self.cursor_position >= len(self.value):
            self.action_accept()
        else:
            self.action_cursor_right()

    def action_close_dropdown(self) -> None:
        if not self.dropdown_shown:
            raise SkipAction()  # the owner's Esc (cancel) runs
        self.close_dropdown()

    async def action_submit(self) -> None:
        # Enter accepts a highlighted suggestion first; Enter again (or with nothing offered) submits
        i = self.dropdown.highlighted
        if self.dropdown_shown and i is not None and 0 <= i < len(self._found) and self._found[i][0] != self._last():
            self.action_accept()
            return
        self.close_dropdown()
        await super().action_submit()

    def normalized(self) -> list[str]:
        """The typed tags, each written in the dataset's style."""
        return [self.vocabulary.normalize(t) for t in split_entries(self.value)]
