"""``RunHeader``: name, state, epoch, step, speed, ETA, elapsed and a progress bar (two lines)."""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static

from loratui.runs.progress import RunProgress, fmt_duration

STATE_STYLE = {"running": "bold $success", "starting": "$success", "queued": "$secondary", "finished": "bold $accent",
               "stopped": "$warning", "failed": "bold $error", "crashed": "bold $error", "created": "$text-muted",
               "stalled": "bold $warning"}


def header_text(name: str, state: str, detail: str, p: RunProgress, elapsed: float, width: int = 80) -> str:
    """The header line, fitted to ``width`` cells: step/total, loss, ETA and the state always stay; the
    rest (it/s first kept) gives way in order of importance, then long forms become short ones."""
    style = STATE_STYLE.get(state, "")
    st = f"[{style}]{escape(state)}[/]" if style else escape(state)
    # (priority: lower is dropped last, markup, plain text, short markup, short plain)
    parts: list[tuple[int, str, str, str, str]] = []
    short_name = name if len(name) <= 16 else name[:15] + "…"
    parts.append((3, f"[b]{escape(name)}[/b]", name, f"[b]{escape(short_name)}[/b]", short_name))
    if detail:
        d = detail[:40]
        parts.append((0, f"{st} [dim]({escape(d)})[/dim]", f"{state} ({d})", st, state))
    else:
        parts.append((0, st, state, st, state))
    if p.epochs:
        e = f"epoch {p.epoch}/{p.epochs}"
        parts.append((4, e, e, f"ep {p.epoch}/{p.epochs}", f"ep {p.epoch}/{p.epochs}"))
    total = p.total_steps or "?"
    s_long = f"step {p.step}/{total} ({100 * p.fraction:.0f}%)"
    s_short = f"step {p.step}/{total}"
    parts.append((0, s_long, s_long, s_short, s_short))
    if p.it_s:
        sp = f"{p.it_s:.2f} it/s"
        parts.append((2, sp, sp, sp, sp))
    if state in ("running", "starting") and p.eta_s is not None:
        eta, eta_s = f"ETA {fmt_duration(p.eta_s)}", f"ETA {fmt_short(p.eta_s)}"
        parts.append((0, eta, eta, eta_s, eta_s))
    el, el_s = f"elapsed {fmt_duration(elapsed)}", f"elapsed {fmt_short(elapsed)}"
    parts.append((5, el, el, el_s, el_s))
    if p.losses:
        lo = f"loss {p.losses[-1]:.4f}"
        parts.append((0, lo, lo, lo, lo))
    if p.phase not in ("training", "finished", ""):
        ph = p.phase if len(p.phase) <= 24 else p.phase[:23] + "…"
        parts.append((6, f"[dim]{escape(p.phase)}[/dim]", p.phase, f"[dim]{escape(ph)}[/dim]", ph))

    room = max(20, width - 2)  # the header's padding

    def fits(items, short: bool, sep: int) -> bool:
        return sum(len(it[4] if short else it[2]) for it in items) + sep * (len(items) - 1) <= room

    def join(items, short: bool, sep: int) -> str:
        return (" " * sep).join(it[3] if short else it[1] for it in items)

    kept = list(parts)
    while True:
        for short, sep in ((False, 3), (False, 2), (True, 2)):
            if fits(kept, short, sep):
                return join(kept, short, sep)
        droppable = [it for it in kept if it[0] > 0]
        if not droppable:
            return join(kept, True, 1)
        kept.remove(max(droppable, key=lambda it: it[0]))


def fmt_short(s: float | None) -> str:
    """3m12s, 1h05m, 45s: the header's short form of a duration."""
    if s is None:
        return "-"
    s = int(max(0, s))
    if s >= 3600:
        return f"{s // 3600}h{s // 60 % 60:02d}m"
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


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
