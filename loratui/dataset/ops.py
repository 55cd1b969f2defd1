"""Tag edit operations. Each maps one caption's tag list to a new one and explains itself.

Operations are pure: ``Dataset.plan`` runs one over a selection to build a preview, and
``Dataset.apply`` writes it (journaled, so it can be undone).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .caption import bare_tag, normalize_tag, reweigh


def dedupe_tags(tags: Sequence[str]) -> list[str]:
    """Drop exact repeats, keeping the first occurrence."""
    seen: set[str] = set()
    out = []
    for t in tags:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


def _may_be_weighted(tags: Sequence[str]) -> bool:
    """False when no tag can be a weighted one (``bare_tag`` of each is the tag itself): one scan
    of the joined text instead of a call per tag."""
    text = "\x00".join(tags)
    return "(" in text or "[" in text


def dedupe_weighted(tags: Sequence[str]) -> list[str]:
    """Drop repeats where a weighted tag and its bare tag count as one (``(smile:1.2)``, ``smile``):
    the first occurrence is kept, with its weight."""
    seen: set[str] = set()
    out = []
    for t in tags:
        k = bare_tag(t)
        if k not in seen:
            seen.add(k)
            out.append(t)
    return out


class Operation:
    """Base class: subclasses set ``name`` and implement ``run`` and ``describe``."""

    name = "edit"
    creates_captions = False
    """True when the operation may give an image without a caption file its first tags."""

    def run(self, tags: list[str], notes: Counter) -> list[str]:
        raise NotImplementedError

    def run_for(self, entry, tags: list[str], notes: Counter) -> list[str]:
        """``run`` for one image's caption; operations whose result depends on which image it is
        (auto-tagging) override this instead. ``entry`` is the ``ImageEntry`` being edited."""
        return self.run(tags, notes)

    def describe(self) -> str:
        raise NotImplementedError

    def summarize(self, files: int, notes: Counter) -> str:
        """One line for the preview, e.g. "rename `a` -> `b` in 1,243 files; 12 already had `b`"."""
        s = f"{self.describe()} in {files:,} file{'s' if files != 1 else ''}"
        extra = [f"{n:,} {what}" for what, n in sorted(notes.items()) if n]
        return s + ("; " + "; ".join(extra) if extra else "")

    def to_json(self) -> dict:
        return {"op": self.name, "description": self.describe()}


@dataclass
class AddTags(Operation):
    tags: list[str]
    position: str | int = "end"
    """``front``, ``end``, or a 0-based index (clamped to the caption's length)."""
    name = "add"
    creates_captions = True

    def __post_init__(self):
        self.tags = [t.strip() for t in self.tags if t.strip()]
        if not self.tags:
            raise ValueError("add: no tag given")
        if isinstance(self.position, str) and self.position not in ("front", "end"):
            raise ValueError(f"add: position must be front, end or a number, not {self.position!r}")

    def run(self, tags, notes):
        have = set(tags) | {bare_tag(t) for t in tags}  # `smile` is there when `(smile:1.2)` is
        new = [t for t in self.tags if t not in have]
        if len(new) < len(self.tags):
            notes["files already had it"] += 1
        if not new:
            return tags
        if self.position == "front":
            at = 0
        elif self.position == "end":
            at = len(tags)
        else:
            at = max(0, min(int(self.position), len(tags)))
        return tags[:at] + new + tags[at:]

    def describe(self):
        where = {"front": " at the front", "end": ""}.get(self.position, f" at position {self.position}") \
            if isinstance(self.position, str) else f" at position {self.position}"
        return f"add {_list(self.tags)}{where}"


@dataclass
class RemoveTags(Operation):
    tags: list[str]
    name = "remove"

    def run(self, tags, notes):
        drop = set(self.tags)  # removing `smile` removes `(smile:1.2)` too
        return [t for t in tags if t not in drop and bare_tag(t) not in drop]

    def describe(self):
        return f"remove {_list(self.tags)}"


@dataclass
class RenameTag(Operation):
    old: str
    new: str
    name = "rename"

    def __post_init__(self):
        self.new = self.new.strip()
        if not self.new:
            raise ValueError(f"rename: the new name for `{self.old}` is empty (use remove to delete a tag)")
        if "," in self.new:
            raise ValueError(f"rename: `{self.new}` contains a comma; a tag cannot (rename to one tag at a time)")

    def run(self, tags, notes):
        if not _may_be_weighted(tags):
            # the usual caption, no `(`/`[` anywhere: every tag is its own bare tag
            if self.old not in tags:
                return tags
            if self.new != self.old and self.new in tags:
                notes[f"already had `{self.new}` (merged)"] += 1
            return list(dict.fromkeys([self.new if t == self.old else t for t in tags]))
        # `(smile:1.2)` is the tag `smile`: renaming it keeps the weight, `(grin:1.2)`
        if not any(t == self.old or bare_tag(t) == self.old for t in tags):
            return tags
        if self.new != self.old and any(t == self.new or bare_tag(t) == self.new for t in tags):
            notes[f"already had `{self.new}` (merged)"] += 1
        out = [self.new if t == self.old else reweigh(t, self.new) if bare_tag(t) == self.old else t for t in tags]
        return dedupe_weighted(out)

    def describe(self):
        return f"rename `{self.old}` -> `{self.new}`"


@dataclass
class ReplaceRegex(Operation):
    pattern: str
    replacement: str
    name = "replace"
    _rx: re.Pattern = field(init=False, repr=False)

    def __post_init__(self):
        try:
            self._rx = re.compile(self.pattern)
        except re.error as e:
            raise ValueError(f"replace: invalid regular expression {self.pattern!r}: {e}") from None

    def run(self, tags, notes):
        out = []
        for t in tags:
            try:
                n = self._rx.sub(self.replacement, t).strip()
            except (re.error, IndexError) as e:
                raise ValueError(f"replace: bad replacement {self.replacement!r}: {e}") from None
            if "," in n:
                out.extend(p.strip() for p in n.split(",") if p.strip())
            elif n:
                out.append(n)
            elif t:
                notes["tags emptied and dropped"] += 1
        return dedupe_tags(out)

    def describe(self):
        return f"replace /{self.pattern}/ with `{self.replacement}`"


@dataclass
class MoveToFront(Operation):
    tags: list[str]
    name = "front"

    def run(self, tags, notes):
        front = [t for t in self.tags if t in tags]
        if not front:
            return tags
        keep = set(front)
        return front + [t for t in tags if t not in keep]

    def describe(self):
        return f"move {_list(self.tags)} to the front"


@dataclass
class SortTags(Operation):
    mode: str = "alpha"
    """``alpha`` or ``frequency`` (most common in the dataset first)."""
    keep_first: int = 0
    """Leave this many leading tags where they are (the trigger word, keep_tokens)."""
    frequency: Callable[[str], int] | None = field(default=None, repr=False)
    name = "sort"

    def __post_init__(self):
        if self.mode not in ("alpha", "frequency"):
            raise ValueError(f"sort: mode must be alpha or frequency, not {self.mode!r}")
        if self.keep_first < 0:
            raise ValueError("sort: keep_first must be 0 or more")

    def run(self, tags, notes):
        head, tail = tags[: self.keep_first], tags[self.keep_first:]
        if self.mode == "alpha":
            tail = sorted(tail, key=lambda t: (normalize_tag(t), t))
        else:
            freq = self.frequency or (lambda t: 0)
            tail = sorted(tail, key=lambda t: (-freq(t), normalize_tag(t), t))
        return head + tail

    def describe(self):
        how = "alphabetically" if self.mode == "alpha" else "by frequency"
        keep = f", keeping the first {self.keep_first}" if self.keep_first else ""
        return f"sort tags {how}{keep}"


@dataclass
class Dedupe(Operation):
    """Drop repeated tags; ``red_hair`` and ``red hair`` count as the same, and so do ``(smile:1.2)``
    and ``smile`` (the first is kept, with its weight)."""
    name = "dedupe"

    def run(self, tags, notes):
        seen: set[str] = set()
        out = []
        for t in tags:
            k = normalize_tag(bare_tag(t))  # `(smile:1.2)` and `smile` are one tag
            if k not in seen:
                seen.add(k)
                out.append(t)
        return out

    def describe(self):
        return "remove duplicate tags"


@dataclass
class SetTags(Operation):
    """Replace one caption's tags outright (the caption editor's edits)."""
    tags: list[str]
    label: str = "edit caption"
    name = "set"
    creates_captions = True

    def run(self, tags, notes):
        return dedupe_tags([t.strip() for t in self.tags if t.strip()])

    def describe(self):
        return self.label


@dataclass
class MergeTags(Operation):
    """Rename several tags to one (a merge): one journal entry, one preview."""

    sources: list[str]
    target: str
    name = "merge"

    def __post_init__(self):
        self._renames = [RenameTag(s, self.target) for s in self.sources if s != self.target]
        self.target = self._renames[0].new if self._renames else self.target.strip()

    def run(self, tags, notes):
        out = list(tags)
        had_target = self.target in tags
        hit = any(s in tags for s in self.sources if s != self.target)
        for r in self._renames:
            out = r.run(out, Counter())
        if hit and had_target:
            notes[f"already had `{self.target}` (merged)"] += 1
        return dedupe_tags(out)

    def describe(self):
        return f"merge {', '.join(f'`{s}`' for s in self.sources)} -> `{self.target}`"


def _list(tags: Sequence[str]) -> str:
    return ", ".join(f"`{t}`" for t in tags)
