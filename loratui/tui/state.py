"""``AppState``: what the loratui app knows, owned by the app and read by its screens.

Screens never reach into each other: they read and write this object (through ``self.app.state``)
and post messages. Only the UI thread touches it; workers get values passed in and post results.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from loratui.dataset import normalize_tag
from loratui.runs.layout import runs_root
from loratui.tui.services.tag_confidence import TagConfidences
from loratui.tui.services.tag_vocabulary import TagVocabulary

if TYPE_CHECKING:
    from loratui.config import TrainConfig
    from loratui.dataset import Dataset
    from loratui.tagging import TaggingOptions


@dataclass
class AppState:
    root: str
    """The folder the user opened (the dataset's root once it is scanned)."""
    caption_ext: str = ".txt"
    images_mode: str = "none"
    dataset: Dataset | None = None
    journal: tuple[int, int] = (0, 0)
    read_only: str | None = None
    """Why the open dataset cannot be edited here (``Dataset.read_only``), or None: browsing works
    either way, every edit is refused up front with this reason."""
    """(applied, total) journal entries, as of the last edit."""
    training_config: TrainConfig | None = None
    """The config being edited in the config screen (kept, saved or not, while the app runs)."""
    training_config_path: str | None = None
    training_config_dirty: bool = False
    """The form has edits not saved to ``training_config_path`` (the config screen shows `*`)."""
    last_tagging: TaggingOptions | None = None
    """The last auto-tagging run's options: the dialog reopens with them."""
    vocabulary: TagVocabulary = field(default_factory=TagVocabulary)
    confidences: TagConfidences = field(default_factory=TagConfidences)
    _triggers: tuple[int, set[str]] | None = None

    def read_only_message(self) -> str:
        return f"this dataset is read-only here ({self.read_only}); browsing works, edits are refused"

    @property
    def dataset_root(self) -> str:
        return self.dataset.root if self.dataset is not None else self.root

    def runs_roots(self) -> list[str]:
        """Where this dataset's training runs live (``$LORATUI_RUNS_ROOT`` decides, as for the CLI)."""
        return [runs_root(self.dataset_root)]

    def own_config_path(self, name: str) -> str:
        return os.path.join(self.dataset_root, name)

    def trigger_tags(self) -> set[str]:
        """Trigger words: the subsets' class tokens (``10_mychar`` -> ``mychar``), as written in captions."""
        ds = self.dataset
        if ds is None:
            return set()
        if self._triggers is not None and self._triggers[0] == ds.generation:
            return self._triggers[1]
        wanted = {normalize_tag(s.class_tokens) for s in ds.subsets if s.class_tokens}
        wanted |= {w.split(" ")[0] for w in wanted if " " in w}
        found = {t for t in ds.index.tags() if normalize_tag(t) in wanted} | wanted
        self._triggers = (ds.generation, found)
        return found
