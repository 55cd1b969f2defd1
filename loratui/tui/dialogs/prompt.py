"""A one-line question in a modal (a tag to add, a rename target, a file or folder path).

Dismisses with the stripped text, or None on Escape or an empty answer. One dialog for every
one-line question: tag prompts pass a suggester (autocomplete), path prompts do not.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Label


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
            yield Input(self.value, suggester=self.suggester, id="answer")
            keys = "Enter: continue  →: accept suggestion  Esc: cancel" if self.suggester else "Enter: OK  Esc: cancel"
            yield Label(f"[dim]{keys}[/]")

    @on(Input.Submitted, "#answer")
    def _answered(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
