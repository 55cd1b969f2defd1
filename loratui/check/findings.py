"""What the health check reports: findings (each naming the files and saying what to do), the
one-key fixes attached to some of them, and the report that groups them.

Levels follow the dataset core: ``error`` blocks a launch (unless overridden), ``warning`` is
shown before launching, ``note`` is information.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from loratui.dataset.report import ERROR, NOTE, WARNING

GROUPS = ("counts", "files", "duplicates", "resolution", "captions", "variety")
"""Report order. counts: images and steps; files: corrupt, missing, stray; duplicates: identical and
near-identical images; resolution: small images, aspect ratios, buckets; captions: trigger word,
length, tags; variety: framing mix and trigger absorption (characters)."""

GROUP_TITLES = {
    "counts": "Counts and steps", "files": "Files", "duplicates": "Duplicates", "resolution": "Resolution and buckets",
    "captions": "Captions", "variety": "Variety and trigger absorption",
}
LEVEL_ORDER = {ERROR: 0, WARNING: 1, NOTE: 2}


@dataclass
class Fix:
    """A one-key fix. ``kind`` is one of:

    - ``remove-tags``: remove ``tags`` from the captions of ``image_ids``;
    - ``move-to-front``: move ``tags`` to the front of those captions;
    - ``add-to-front``: add ``tags`` at the front of those captions;
    - ``rename-tags``: apply each ``(old, new)`` of ``renames`` (merging near-identical tags);
    - ``dedupe-tags``: drop repeated tags from the captions of ``image_ids``;
    - ``exclude``: move the images ``image_ids`` (with their captions) to ``.loratui/excluded/``.

    Caption edits are journaled (``loratui undo``); exclusions are recorded and reversible
    (``loratui check DIR --restore-excluded``).
    """

    kind: str
    label: str
    """What pressing the key does, e.g. "exclude 2 duplicates (keep 10_a/x.png)"."""
    image_ids: list[int] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    renames: list[tuple[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    """The images' paths (filled in by the check): ``apply`` finds the images by path, so a fix
    stays right after another fix excluded files and the dataset was rescanned (ids shift)."""

    def current_ids(self, ds) -> list[int]:
        """The images of this fix in ``ds`` as it is now (gone ones skipped)."""
        if not self.paths:
            return list(self.image_ids)
        where = {e.path: e.id for e in ds.images}
        return [where[p] for p in self.paths if p in where]

    def apply(self, ds):
        """Run the fix on ``ds``. Caption fixes return the last ``ApplyResult``; ``exclude``
        returns the ``Dataset.refresh()`` counts (image ids change: re-run the check)."""
        from loratui.dataset import AddTags, Dedupe, MoveToFront, RemoveTags, RenameTag

        ids = self.current_ids(ds)
        if self.kind == "remove-tags":
            return ds.run(RemoveTags(list(self.tags)), ids)
        if self.kind == "move-to-front":
            return ds.run(MoveToFront(list(self.tags)), ids)
        if self.kind == "add-to-front":
            return ds.run(AddTags(list(self.tags), "front"), ids)
        if self.kind == "dedupe-tags":
            return ds.run(Dedupe(), ids)
        if self.kind == "rename-tags":
            result = None
            for old, new in self.renames:
                ids = sorted(ds.index.images(old))
                if ids:
                    result = ds.run(RenameTag(old, new), ids)
            return result
        if self.kind == "exclude":
            from .excluded import exclude_images

            exclude_images(ds, ids, reason=self.label)
            return ds.refresh()
        raise ValueError(f"unknown fix kind {self.kind!r}")

    def to_dict(self) -> dict:
        d: dict = {"kind": self.kind, "label": self.label, "image_ids": list(self.image_ids), "paths": list(self.paths)}
        if self.tags:
            d["tags"] = list(self.tags)
        if self.renames:
            d["renames"] = [list(r) for r in self.renames]
        return d


@dataclass
class Finding:
    level: str
    """error | warning | note"""
    code: str
    """Stable key, e.g. ``corrupt-image``, ``exact-duplicates``, ``trigger-missing`` (tests, JSON, filters)."""
    group: str
    """One of ``GROUPS``."""
    message: str
    """One line in the field's language; names the file when there is one file."""
    hint: str = ""
    """What to do about it."""
    paths: list[str] = field(default_factory=list)
    """Files concerned, relative to the dataset root."""
    image_ids: list[int] = field(default_factory=list)
    """Images concerned (``Dataset.images`` ids at check time): "show these images"."""
    detail: list[str] = field(default_factory=list)
    """Further lines: a duplicate group's members, a bucket table, typo suggestions."""
    fix: Fix | None = None

    @property
    def is_error(self) -> bool:
        return self.level == ERROR

    def to_dict(self) -> dict:
        return {"level": self.level, "code": self.code, "group": self.group, "message": self.message,
                "hint": self.hint, "paths": list(self.paths), "image_ids": list(self.image_ids),
                "detail": list(self.detail), "fix": self.fix.to_dict() if self.fix else None}

    def __str__(self) -> str:
        return f"{self.level}: {self.message}" + (f" ({self.hint})" if self.hint else "")


@dataclass
class Report:
    root: str
    findings: list[Finding] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    """Numbers behind the findings: images, subsets, buckets, framing mix, timings, token counter."""

    def sort(self) -> None:
        self.findings.sort(key=lambda f: (GROUPS.index(f.group) if f.group in GROUPS else len(GROUPS),
                                          LEVEL_ORDER.get(f.level, 3)))

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == WARNING]

    @property
    def blocks_launch(self) -> bool:
        """True when a run should not start without an explicit override."""
        return bool(self.errors)

    def by_group(self) -> list[tuple[str, list[Finding]]]:
        out: dict[str, list[Finding]] = {}
        for f in self.findings:
            out.setdefault(f.group, []).append(f)
        return [(g, out[g]) for g in sorted(out, key=lambda g: GROUPS.index(g) if g in GROUPS else len(GROUPS))]

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def find(self, code: str) -> list[Finding]:
        return [f for f in self.findings if f.code == code]

    def summary(self) -> str:
        e, w = len(self.errors), len(self.warnings)
        n = len(self.findings) - e - w
        return f"{e} error{'s' if e != 1 else ''}, {w} warning{'s' if w != 1 else ''}, {n} note{'s' if n != 1 else ''}"

    def to_dict(self) -> dict:
        return {"root": self.root, "summary": self.summary(), "errors": len(self.errors),
                "warnings": len(self.warnings), "blocks_launch": self.blocks_launch, "stats": self.stats,
                "findings": [f.to_dict() for f in self.findings]}


def files_phrase(paths: Sequence[str], limit: int = 3) -> str:
    """`a.png`, `b.png` and 3 more."""
    shown = ", ".join(f"`{p}`" for p in paths[:limit])
    return shown + (f" and {len(paths) - limit:,} more" if len(paths) > limit else "")


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


__all__ = ["ERROR", "WARNING", "NOTE", "GROUPS", "GROUP_TITLES", "Finding", "Fix", "Report", "files_phrase", "plural"]
