"""One line at the bottom: dataset path, images shown / total, selection, pending edits, journal."""

from __future__ import annotations

from dataclasses import dataclass, replace

from textual.widgets import Static


@dataclass(frozen=True)
class StatusInfo:
    root: str = ""
    shown: int = 0
    total: int = 0
    selected: int = 0
    pending: int = 0
    journal: tuple[int, int] = (0, 0)
    sort: str = "name"
    filters: str = ""
    """What narrows the list (subset, query, pinned images): never filtering without a visible sign."""
    message: str = ""
    read_only: bool = False
    """The dataset cannot be edited here: shown on every repaint, not only in a notification."""


class StatusBar(Static):
    DEFAULT_CSS = "StatusBar { height: 1; background: $panel; color: $foreground; padding: 0 1; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=True)
        self.info = StatusInfo()

    def set(self, **changes) -> None:
        info = replace(self.info, **changes)
        if info != self.info:
            self.info = info
            self.update(self.render_info(info), layout=False)  # one fixed line: repaint only

    @staticmethod
    def render_info(i: StatusInfo) -> str:
        from rich.markup import escape

        if i.message:
            return escape(i.message)
        parts = [f"[b]{i.shown:,}[/b]/{i.total:,} shown"]
        if i.read_only:
            parts.insert(0, "[$error]read-only here[/]")
        if i.filters:
            parts.append(f"[$accent]{escape(i.filters)}[/]")
        if i.selected:
            parts.append(f"[b]{i.selected:,}[/b] selected")
        if i.pending:
            parts.append(f"[$warning]{i.pending} pending[/]")
        applied, total = i.journal
        parts.append(f"undo {applied}/{total}")
        parts.append(f"sort: {i.sort}")
        parts.append(escape(i.root))
        return "  │  ".join(parts)
