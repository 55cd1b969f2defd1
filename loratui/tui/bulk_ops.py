"""Operations the tag-frequency view builds from several selected tags. No Textual."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from loratui.dataset import Operation, RenameTag
from loratui.dataset.ops import dedupe_tags


@dataclass
class MergeTags(Operation):
    """Rename several tags to one (a merge): one journal entry, one preview."""

    sources: list[str]
    target: str
    name = "merge"

    def __post_init__(self):
        self._renames = [RenameTag(s, self.target) for s in self.sources if s != self.target]
        self.target = self._renames[0].new if self._renames else self.target.strip()

    def run(self, tags, notes: Counter):
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


def quote_tag(tag: str) -> str:
    """A tag as a query term (quoted when it has spaces or query characters)."""
    if any(c in tag for c in ' ()|"*?') or tag.startswith(("-", "tags", "subset:")) or tag in ("no-caption", "empty-caption",
                                                                             "unreadable", "changed", "duplicate-name"):
        return '"' + tag.replace('"', '\\"') + '"'
    return tag


def tags_query(tags: list[str]) -> str:
    return " | ".join(quote_tag(t) for t in tags)
