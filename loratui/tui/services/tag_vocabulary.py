"""Autocomplete for tag inputs: the dataset's tags, most frequent first."""

from __future__ import annotations

from textual.suggester import Suggester

from loratui.dataset import normalize_tag
from loratui.dataset.tag_style import rank_matches, resolve_style, to_style


def tagger_vocabulary() -> list[str]:
    """General and character tags of the installed WD14 tagger (empty when none is installed).

    Slow-ish (finds the model, reads a ~10k-line CSV): call it from a worker.
    """
    import csv

    try:
        from loratui.tagging.models import resolve_model

        path = resolve_model().labels_path
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except Exception:  # optional: no model, another layout, a tagging package still in flux
        return []
    out = []
    for row in rows:
        if str(row.get("category", "")).strip() not in ("0", "4"):
            continue
        name = (row.get("name") or "").strip()
        if name:
            out.append(name.replace("_", " ") if len(name) > 3 else name)
    return out


class TagVocabulary:
    """Tags ranked by how many images carry them; rebuilt only when the dataset changed.

    Tagger tags (``extra``) follow the dataset's own tags, in the tagger's order.
    """

    def __init__(self) -> None:
        self.extra: list[str] = []
        self._ranked: list[tuple[str, str, int]] = []
        self._generation = -1
        self._dataset = None
        self.style_setting = "auto"
        """``auto``, ``spaces``, ``underscores`` or ``off`` (the ``tag_style`` setting)."""
        self._style: tuple[tuple[int, str], str | None] | None = None

    @classmethod
    def of_images(cls, dataset, ids) -> "TagVocabulary":
        """A fixed vocabulary: the tags of these images, most frequent first (what can be removed)."""
        from collections import Counter

        counts: Counter = Counter()
        for i in ids:
            counts.update(dict.fromkeys(dataset.images[i].tags, 1))
        v = cls()
        v._ranked = [(t, normalize_tag(t), n) for t, n in counts.most_common()]
        v._generation = dataset.generation
        v._dataset = None
        return v

    def attach(self, dataset) -> None:
        self._dataset = dataset
        self._generation = -1

    def ranked(self) -> list[tuple[str, str, int]]:
        ds = self._dataset
        if ds is None and self._ranked:
            return self._ranked  # a fixed vocabulary (``of_images``)
        generation = ds.generation if ds is not None else 0
        if generation != self._generation:
            if ds is not None and not ds.lock.acquire(blocking=False):
                return self._ranked  # the writer is busy: stale suggestions beat a frozen UI
            try:
                ranked = [(t, normalize_tag(t), n) for t, n in ds.index.most_common()] if ds is not None else []
            finally:
                if ds is not None:
                    ds.lock.release()
            self._generation = generation
            known = {norm for _, norm, _ in ranked}
            ranked += [(t, normalize_tag(t), 0) for t in self.extra if normalize_tag(t) not in known]
            self._ranked = ranked
        return self._ranked

    def add_extra(self, tags: list[str]) -> None:
        self.extra = tags
        self._generation = -1

    def complete(self, prefix: str, limit: int = 6) -> list[tuple[str, int]]:
        """Tags starting with ``prefix`` (underscores = spaces, any case), then tags containing it,
        then tags holding its letters in order (``rdhr`` -> ``red hair``); most frequent first."""
        return rank_matches(prefix, self.ranked(), limit)

    def style(self) -> str | None:
        """The style typed tags are written in here (None: as typed)."""
        ranked = self.ranked()
        key = (self._generation, self.style_setting)
        if self._style is None or self._style[0] != key:
            counts = ((t, n) for t, _, n in ranked if n)
            self._style = (key, resolve_style(self.style_setting, counts))
        return self._style[1]

    def normalize(self, tag: str) -> str:
        """``tag`` as this dataset writes it (``red_hair`` -> ``red hair`` in a spaces dataset)."""
        return to_style(tag, self.style())


class TagSuggester(Suggester):
    """Inline completion of the last comma-separated entry in an input."""

    def __init__(self, vocabulary: TagVocabulary) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.vocabulary = vocabulary

    async def get_suggestion(self, value: str) -> str | None:
        head, sep, last = value.rpartition(",")
        stripped = last.lstrip()
        if not stripped:
            return None
        for tag, _ in self.vocabulary.complete(stripped, limit=1):
            if normalize_tag(tag).startswith(normalize_tag(stripped)):
                lead = last[: len(last) - len(stripped)]
                return head + sep + lead + tag
        return None
