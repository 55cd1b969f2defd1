"""Findings about a dataset: each one names the file and says what to do."""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"
NOTE = "note"


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str
    """Short key: no-caption, empty-caption, orphan-caption, orphan-mask, encoding, unreadable, read-only,
    broken-symlink, duplicate-name, unsupported, changed, write-failed, no-repeats, recovered, ..."""
    path: str
    """Path relative to the dataset root ("." for the dataset itself)."""
    message: str
    level: str = WARNING

    def __str__(self) -> str:
        return f"{self.level}: {self.path}: {self.message}"
