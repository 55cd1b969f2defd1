"""The config form's field widgets: one editing widget per ``FormField``, and their ids."""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Select

from loratui.config.fields import FormField, format_value
from loratui.tui.widgets.ordered_keys import OrderedInput, OrderedTextArea
from loratui.tui.widgets.toggles import Checkbox


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
        ta = OrderedTextArea(str(shown), id=wid, compact=True, soft_wrap=True, show_line_numbers=False)
        ta.add_class("cfg-lines")
        return ta
    return OrderedInput(str(shown), id=wid, compact=True)
