"""A bulk edit's preview: what would change, in how many files. Applies only on confirmation."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

SAMPLE = 12


def describe_changes(plan, limit: int = SAMPLE) -> str:
    lines = []
    refused = getattr(plan, "refused", [])
    for p in refused[:limit]:  # first: these files will not change, whatever is confirmed
        lines.append(f"[$error]refused {escape(p.path)}: {escape(p.message)}[/]")
    if len(refused) > limit:
        lines.append(f"[$error]… and {len(refused) - limit:,} more refused[/]")
    for ch in plan.changes[:limit]:
        bits = [f"[$error]-{escape(t)}[/]" for t in ch.removed] + [f"[$success]+{escape(t)}[/]" for t in ch.added]
        if not bits:
            bits = ["[dim](order changed)[/]"]
        lines.append(f"{escape(ch.caption_path)}: " + " ".join(bits))
    if len(plan.changes) > limit:
        lines.append(f"[dim]… and {len(plan.changes) - limit:,} more files[/]")
    for p in plan.skipped[:5]:
        lines.append(f"[$warning]skipped {escape(p.path)}: {escape(p.message)}[/]")
    return "\n".join(lines) or "[dim]nothing would change[/]"


class ConfirmPlanScreen(ModalScreen[bool]):
    BINDINGS = [Binding("y,enter", "confirm", "Apply"), Binding("n,escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    ConfirmPlanScreen { align: center middle; }
    ConfirmPlanScreen > Vertical { width: 90%; max-width: 110; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 0 1; }
    ConfirmPlanScreen #summary { text-style: bold; margin-bottom: 1; }
    ConfirmPlanScreen VerticalScroll { height: auto; max-height: 16; }
    ConfirmPlanScreen Horizontal { height: auto; align-horizontal: right; }
    ConfirmPlanScreen Button { margin-left: 1; }
    """

    def __init__(self, plan) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(escape(self.plan.summary()), id="summary")
            with VerticalScroll():
                yield Static(describe_changes(self.plan), id="changes")
            with Horizontal():
                yield Button("Apply (y)", variant="primary", id="apply", compact=True)
                yield Button("Cancel (n)", id="cancel", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "apply")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
