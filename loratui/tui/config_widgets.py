"""Small widgets for the config and inspector screens: a path prompt and a field row builder."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, TextArea

from loratui.config.fields import FormField, format_value


def field_id(path: str) -> str:
    return "fld-" + path.replace(".", "-")


def msg_id(path: str) -> str:
    return "msg-" + path.replace(".", "-")


def row_id(path: str) -> str:
    return "row-" + path.replace(".", "-")


def field_widget(field: FormField, value) -> Widget:
    """The editing widget for one field, holding ``value``."""
    wid = field_id(field.path)
    shown = format_value(field, value)
    if field.kind == "bool":
        return Checkbox("", bool(shown), id=wid, compact=True)
    if field.kind == "choice":
        opts = [(c, c) for c in field.choices]
        if shown not in field.choices:
            opts.append((f"{shown} (unknown)", shown))
        return Select(opts, allow_blank=False, value=shown, id=wid, compact=True)
    if field.kind in ("lines", "subsets"):
        ta = TextArea(str(shown), id=wid, compact=True, soft_wrap=True, show_line_numbers=False)
        ta.add_class("cfg-lines")
        return ta
    return Input(str(shown), id=wid, compact=True)


class PathPrompt(ModalScreen[str | None]):
    """Ask for a file or folder path. Dismisses with the stripped text, or None on Escape."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    PathPrompt { align: center middle; }
    PathPrompt > Vertical { width: 90; max-width: 100%; height: auto; border: thick $primary;
                            background: $surface; padding: 0 1; }
    PathPrompt Label { width: 100%; }
    """

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self.question = question
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question)
            yield Input(self.value, id="path-answer")
            yield Label("[dim]Enter: OK  Esc: cancel[/]")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
