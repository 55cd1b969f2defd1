"""A one-line question in a modal (a tag to add, a rename target, a file or folder path).

Dismisses with the stripped text, or None on Escape or an empty answer. One dialog for every
one-line question: tag prompts pass a ``TagSuggester`` (a dropdown of the dataset's tags, and the
answer written in the dataset's tag style: ``red_hair`` -> ``red hair``), path prompts do not.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Label, Static

from loratui.tui.services.tag_vocabulary import TagSuggester
from loratui.tui.widgets.ordered_keys import OrderedInput
from loratui.tui.widgets.tag_entry import TagDropdown, TagEntryInput


class PromptScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical { width: 90; max-width: 100%; height: auto; border: thick $primary;
                              background: $surface; padding: 0 1; }
    PromptScreen Label { width: 100%; }
    """

    def __init__(self, question: str, value: str = "", suggester: Suggester | None = None) -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.suggester = suggester

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question)
            if isinstance(self.suggester, TagSuggester):
                dropdown = TagDropdown(id="answer-dropdown")
                note = Static("", id="answer-note")
                yield TagEntryInput(self.suggester.vocabulary, dropdown, note, value=self.value, id="answer")
                yield dropdown
                yield note
                keys = "Enter: continue  ↑↓: suggestions  Tab/Enter: accept suggestion  Esc: close / cancel"
            else:
                yield OrderedInput(self.value, suggester=self.suggester, id="answer")
                keys = "Enter: continue  →: accept suggestion  Esc: cancel" if self.suggester else "Enter: OK  Esc: cancel"
            yield Label(f"[dim]{keys}[/]")

    @on(Input.Submitted, "#answer")
    def _answered(self, event: Input.Submitted) -> None:
        event.stop()
        if isinstance(event.input, TagEntryInput):
            self.dismiss(", ".join(event.input.normalized()) or None)
            return
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
