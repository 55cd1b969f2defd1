"""The key map, built from the live bindings so it cannot drift from what the keys do."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

TIPS = """\
[b]Filter queries[/b]  red_hair   1girl -solo   hat | cap   (hat | cap) -solo   "long hair"   *hair
                tags<5   no-caption   empty-caption   changed   duplicate-name   subset:10_name
[b]Markers[/b]         ∅ no caption  · empty caption  ! unreadable  ~ changed outside  = duplicate name  ★ trigger word
Every action is also in the command palette (Ctrl+P). Edits are journaled: undo works after a restart too."""


KEY_NAMES = {"slash": "/", "question_mark": "?", "escape": "Esc", "enter": "Enter", "space": "Space",
             "delete": "Del", "insert": "Ins", "pageup": "PgUp", "pagedown": "PgDn", "up": "↑", "down": "↓"}


def format_key(key: str) -> str:
    def one(k: str) -> str:
        k = k.strip()
        mods, _, base = k.rpartition("+")
        base = KEY_NAMES.get(base, base.upper() if base.startswith("f") and base[1:].isdigit() else base)
        return (mods.replace("ctrl", "Ctrl").replace("shift", "Shift") + "+" if mods else "") + base

    return ", ".join(one(k) for k in key.split(","))


def binding_rows(classes) -> list[tuple[str, str]]:
    rows = []
    for cls in classes:
        for b in getattr(cls, "BINDINGS", []):
            if isinstance(b, Binding) and b.description:
                rows.append((format_key(b.key), b.description))
            elif isinstance(b, tuple) and len(b) >= 3:
                rows.append((format_key(b[0]), b[2]))
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 95%; max-width: 120; height: 90%; border: thick $primary; background: $surface; padding: 0 1; }
    """

    def __init__(self, sections: list[tuple[str, list]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        parts = []
        for title, classes in self.sections:
            rows = binding_rows(classes)
            if not rows:
                continue
            parts.append(f"[b $accent]{escape(title)}[/]")
            parts += [f"  [b]{escape(k):<22}[/b] {escape(d)}" for k, d in rows]
        with VerticalScroll():
            yield Static("\n".join(parts) + "\n\n" + TIPS)

    def action_close(self) -> None:
        self.dismiss(None)
