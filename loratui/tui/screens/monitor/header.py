"""``RunHeader``: name, state, epoch, step, speed, ETA, elapsed and a progress bar (two lines)."""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static

from loratui.runs.progress import RunProgress, fmt_duration

STATE_STYLE = {"running": "bold $success", "starting": "$success", "queued": "$secondary", "finished": "bold $accent",
               "stopped": "$warning", "failed": "bold $error", "crashed": "bold $error", "created": "$text-muted",
               "stalled": "bold $warning"}


def header_text(name: str, state: str, detail: str, p: RunProgress, elapsed: float, width: int = 80) -> str:
    style = STATE_STYLE.get(state, "")
    st = f"[{style}]{state}[/]" if style else state
    if detail:
        st += f" [dim]({escape(detail[:40])})[/dim]"
    parts = [f"[b]{escape(name)}[/b]", st]
    if p.epochs:
        parts.append(f"epoch {p.epoch}/{p.epochs}")
    parts.append(f"step {p.step}/{p.total_steps or '?'} ({100 * p.fraction:.0f}%)")
    if p.it_s:
        parts.append(f"{p.it_s:.2f} it/s")
    if state in ("running", "starting") and p.eta_s is not None:
        parts.append(f"ETA {fmt_duration(p.eta_s)}")
    parts.append(f"elapsed {fmt_duration(elapsed)}")
    if p.losses:
        parts.append(f"loss {p.losses[-1]:.4f}")
    if p.phase not in ("training", "finished", ""):
        parts.append(f"[dim]{escape(p.phase)}[/dim]")
    return "   ".join(parts)


def progress_bar(fraction: float, width: int) -> str:
    """Changes only when a cell fills (the bar is its own line: it rarely redraws)."""
    bar_w = max(10, width - 2)
    filled = int(fraction * bar_w)
    return f"[$accent]{'█' * filled}[/][$text-muted 30%]{'░' * (bar_w - filled)}[/]"


class RunHeader(Static):
    DEFAULT_CSS = "RunHeader { height: 1; padding: 0 1; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.text = ""
        self.updates = 0

    def show(self, text: str) -> None:
        if text != self.text:  # nothing changed: nothing is written to the terminal
            self.text = text
            self.updates += 1
            self.update(text)
