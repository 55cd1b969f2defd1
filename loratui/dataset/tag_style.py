"""A dataset's tag style (``red hair`` or ``red_hair``) and tag matching for autocomplete.

Pure functions, no I/O: the TUI's add paths and the CLI's ``tags --add --normalize`` share them.
"""

from __future__ import annotations

from collections.abc import Iterable

from .caption import normalize_tag, split_weight

STYLES = ("auto", "spaces", "underscores", "off")
"""Setting values: detect from the dataset, force one style, or keep what was typed."""

# kaomoji-like tags keep their underscores whatever the style (SmilingWolf's reference list)
KAOMOJIS = frozenset({
    "0_0", "(o)_(o)", "+_+", "+_-", "._.", "<o>_<o>", "<|>_<|>", "=_=", ">_<", "3_3", "6_9", ">_o",
    "@_@", "^_^", "o_o", "u_u", "x_x", "|_|", "||_||",
})


def _is_kaomoji(tag: str) -> bool:
    t = tag.strip().lower()
    return t in KAOMOJIS or (len(t) <= 3 and not any(c.isalpha() for c in t))


def detect_style(counts: Iterable[tuple[str, int]]) -> str | None:
    """``"spaces"`` or ``"underscores"``: how the dataset writes multi-word tags, weighted by image
    count; None when it has no multi-word tag (or as many of each)."""
    spaces = underscores = 0
    for tag, n in counts:
        if _is_kaomoji(tag):
            continue
        has_space, has_underscore = " " in tag.strip(), "_" in tag
        if has_space and not has_underscore:
            spaces += n
        elif has_underscore and not has_space:
            underscores += n
    if spaces > underscores:
        return "spaces"
    if underscores > spaces:
        return "underscores"
    return None


def to_style(tag: str, style: str | None) -> str:
    """``tag`` written in ``style`` (``"spaces"``/``"underscores"``; anything else: unchanged).

    Only the separators between words change: case, weights ``(red_hair:1.2)``, escapes and
    kaomoji (``^_^``, ``>_<``) are kept as typed."""
    if style not in ("spaces", "underscores"):
        return tag
    prefix, bare, suffix = split_weight(tag.strip())
    if _is_kaomoji(bare):
        return tag.strip()
    if style == "spaces":
        new = " ".join(bare.replace("_", " ").split())
    else:
        new = "_".join(bare.split())
    return f"{prefix}{new}{suffix}"


def resolve_style(setting: str, counts: Iterable[tuple[str, int]]) -> str | None:
    """The style a setting stands for in a dataset (``auto`` detects; ``off`` -> None)."""
    if setting in ("spaces", "underscores"):
        return setting
    if setting == "auto":
        return detect_style(counts)
    return None


def _subsequence_search(needle: str):
    """A compiled search for ``needle``'s characters in order, anything between (``rdhr`` in
    ``red hair``): a regular expression runs in C, a loop over characters in Python."""
    import re

    return re.compile(".*?".join(map(re.escape, needle)), re.DOTALL).search


def rank_matches(typed: str, ranked: Iterable[tuple[str, str, int]], limit: int = 8) -> list[tuple[str, int]]:
    """Tags matching ``typed``, best first: prefix matches, then substring, then subsequence
    (``rdhr`` finds ``red hair``); within each group, the order of ``ranked`` (most frequent first).

    ``ranked`` holds ``(tag, normalize_tag(tag), count)``; ``typed`` is compared loosely
    (any case, ``_`` = space). Stops scanning once ``limit`` prefix matches are found."""
    p = normalize_tag(typed)
    if not p or limit <= 0:
        return []
    compact = p.replace(" ", "")
    subsequence = _subsequence_search(compact) if len(compact) >= 2 else None
    starts: list[tuple[str, int]] = []
    contains: list[tuple[str, int]] = []
    fuzzy: list[tuple[str, int]] = []
    for tag, norm, n in ranked:
        if norm.startswith(p):
            starts.append((tag, n))
            if len(starts) >= limit:
                break
        elif len(contains) < limit and len(p) >= 2 and p in norm:
            contains.append((tag, n))
        elif len(fuzzy) < limit and subsequence is not None and subsequence(norm):
            fuzzy.append((tag, n))
    return (starts + contains + fuzzy)[:limit]
