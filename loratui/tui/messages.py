"""Messages that cross from worker threads to the UI. Workers compute; widgets render what they are told."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message


@dataclass
class EditOutcome:
    """What a queued edit did, computed on the writer thread."""

    label: str
    result: object = None
    """An ``ApplyResult``, a refresh count dict, or None (nothing to undo/redo)."""
    error: str | None = None
    journal: tuple[int, int] = (0, 0)
    """(applied, total) journal entries after the edit."""
    refilter: bool = True
    """Re-run the image filter (bulk edits); caption-editor edits keep the list still."""
    quiet: bool = False
    """No notification on success (single caption edits happen at key speed)."""
    extra: dict = field(default_factory=dict)


class EditDone(Message):
    def __init__(self, outcome: EditOutcome) -> None:
        super().__init__()
        self.outcome = outcome


class DatasetLoaded(Message, bubble=False):
    """Posted to the app by the opening worker; the app passes it on to its screens (no bubbling back)."""


    def __init__(self, dataset, journal: tuple[int, int], seconds: float) -> None:
        super().__init__()
        self.dataset = dataset
        self.journal = journal
        self.seconds = seconds


class ScanProgress(Message, bubble=False):
    """Posted from the opening thread: ``done`` of ``total`` captions loaded."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done = done
        self.total = total


class ScanRows(Message, bubble=False):
    """Posted from the opening thread: the rows found so far (a ``ScanPartial``), for showing only."""

    def __init__(self, partial) -> None:
        super().__init__()
        self.partial = partial


class DatasetFailed(Message, bubble=False):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class ShowImages(Message, bubble=False):
    """Show just these images in the dataset screen (a health finding's), until the filter changes."""


    def __init__(self, image_ids: list[int], title: str) -> None:
        super().__init__()
        self.image_ids = image_ids
        self.title = title
