"""Messages from the monitor's follower thread to its widgets (coalesced: a few per second at most)."""

from __future__ import annotations

from textual.message import Message


class RunUpdate(Message):
    """New events were folded in: ``progress`` is an immutable snapshot (``RunProgress.snapshot``) the
    follower thread never touches again, so widgets read it without locks."""

    def __init__(self, progress, log: list, reset: bool, events: int, newest_t: float | None) -> None:
        super().__init__()
        self.progress = progress
        self.log = log
        self.reset = reset
        self.events = events
        self.newest_t = newest_t


class StatusChanged(Message):
    def __init__(self, status) -> None:
        super().__init__()
        self.status = status


class ShowImageFiles(Message):
    """Show these image files in the dataset screen (the app that holds one handles it)."""

    def __init__(self, paths: list[str], title: str) -> None:
        super().__init__()
        self.paths = paths
        self.title = title
