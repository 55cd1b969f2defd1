"""Caption grammar: a comma-separated tag line, and everything around it kept verbatim.

A caption file is modelled as ``<tag line><line ending><rest>``. Only the first line is parsed into
tags; any further lines (a natural-language sentence, notes) are carried as ``rest`` untouched, so
a formatted caption never drops content the parser does not model.

Commas split tags except inside balanced, unescaped parentheses, so prompt-weight groups like
``(red hair, blue eyes:1.2)`` stay one tag. Escaped parentheses (``\\(cat\\)``) are plain text.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

_intern = sys.intern  # the same tag text repeats across thousands of captions: store it once


@dataclass(slots=True)
class Caption:
    """A parsed caption: its tags plus what is needed to write it back in the file's own style."""

    tags: list[str]
    separator: str = ", "
    """How tags are joined when the caption is written back (``", "`` or ``","``, as the file had)."""
    newline: str = "\n"
    """The line ending of the file (``"\\n"`` or ``"\\r\\n"``)."""
    rest: str = ""
    """Everything after the tag line's line ending, verbatim (further lines)."""
    lead: str = ""
    """Blank lines before the tag line, verbatim."""
    trailing_newline: bool = False
    """Whether the tag line ended with a line ending (only meaningful when ``rest`` is empty)."""

    def format(self, tags: list[str] | None = None) -> str:
        """The file text for ``tags`` (default: this caption's tags) in this caption's style."""
        line = self.lead + self.separator.join(self.tags if tags is None else tags)
        if self.rest:
            return line + self.newline + self.rest
        return line + (self.newline if self.trailing_newline else "")


def split_tags(line: str) -> list[str]:
    """Split one tag line into trimmed, non-empty tags, order kept."""
    parts: list[str] = []
    if "(" not in line:
        if _clean(line):
            return list(map(_intern, line.split(", ")))
        parts = line.split(",")
    elif _balanced(line):
        depth = 0
        start = 0
        i = 0
        n = len(line)
        while i < n:
            ch = line[i]
            if ch == "\\":
                i += 2
                continue
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append(line[start:i])
                start = i + 1
            i += 1
        parts.append(line[start:])
    else:
        parts = line.split(",")
    return [_intern(p) for p in map(str.strip, parts) if p]


def _clean(line: str) -> bool:
    """True when splitting on ", " alone yields trimmed, non-empty tags (the common case), which a
    few substring checks decide far faster than stripping every tag."""
    return (line.isascii() and line.count(",") == line.count(", ") and "  " not in line
            and " ," not in line and "\t" not in line and "\v" not in line and "\f" not in line
            and line[:1] not in (" ", ",", "") and line[-1:] != " ")


def _balanced(line: str) -> bool:
    if "(" not in line:
        return True
    depth = 0
    i = 0
    n = len(line)
    while i < n:
        ch = line[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return False
        i += 1
    return depth == 0


def parse_caption(text: str) -> Caption:
    """Parse caption file text (already decoded, BOM removed)."""
    if "\n" not in text and "\r" not in text:  # the common case: one line, no line ending
        if "(" not in text and _clean(text):  # and plain `a, b, c` tags: split_tags' fast path, inline
            return Caption(tags=list(map(_intern, text.split(", "))))
        tags = split_tags(text)
        sep = "," if len(tags) > 1 and ", " not in text and "," in text else ", "
        return Caption(tags=tags, separator=sep)
    if "\r\n" in text:
        newline = "\r\n"
    else:
        newline = "\n"
    if newline == "\n" and "\r" in text and "\n" not in text:
        newline = "\r"  # old Mac line endings
    lead = ""
    body = text
    while True:
        line, sep, after = body.partition(newline)
        if sep and not split_tags(line):  # blank, or only separators: not the tag line
            lead += line + sep
            body = after
            continue
        break
    if not body.strip():
        # nothing but blank lines: no tag line to find
        lead, body = "", text
    head, sep, rest = body.partition(newline)
    tags = split_tags(head)
    separator = ", "
    if tags and len(tags) > 1 and ", " not in head and "," in head:
        separator = ","
    return Caption(
        tags=tags,
        separator=separator,
        newline=newline,
        rest=rest,
        lead=lead,
        trailing_newline=bool(sep),
    )


def format_tags(tags: list[str], separator: str = ", ") -> str:
    """Join tags into a tag line."""
    return separator.join(tags)


def normalize_tag(tag: str) -> str:
    """The form used to compare tags loosely: lower case, underscores as spaces, single spaces.

    Kaomoji such as ``^_^`` keep their underscores: a tag of three or fewer characters that
    contains no letter is left as written.
    """
    t = tag.strip().lower()
    if len(t) <= 3 and not any(c.isalpha() for c in t):
        return t
    return " ".join(t.replace("_", " ").split())


# A prompt-weighted tag: `(smile:1.2)`, `(smile)` (x1.1) or `[smile]` (/1.1), one tag inside, no
# escapes: its bare tag is `smile`. Groups such as `(red hair, blue eyes:1.2)` stay as they are.
_WEIGHTED_RE = None


def split_weight(tag: str) -> tuple[str, str, str]:
    """``(prefix, bare tag, suffix)`` with ``prefix + bare + suffix == tag``:
    ``(smile:1.2)`` -> ``("(", "smile", ":1.2)")``; an unweighted tag -> ``("", tag, "")``."""
    global _WEIGHTED_RE
    if not tag or tag[0] not in "([" or tag[-1] not in ")]":
        return "", tag, ""
    if _WEIGHTED_RE is None:
        import re

        _WEIGHTED_RE = re.compile(r"^(\(+|\[+)([^()\[\]:,\\]+?)((?::\s*-?\d+(?:\.\d+)?)?(?:\)+|\]+))$")
    m = _WEIGHTED_RE.match(tag)
    if m is None:
        return "", tag, ""
    opening, bare, closing = m.groups()
    brackets = closing.lstrip(":.-0123456789 ")
    if len(opening) != len(brackets) or (opening[0] == "(") != (brackets[0] == ")") or not bare.strip():
        return "", tag, ""
    return opening, bare, closing


def bare_tag(tag: str) -> str:
    """The tag a weighted tag stands for: ``(smile:1.2)`` -> ``smile``; other tags unchanged."""
    if not tag or tag[0] not in "([":
        return tag  # the usual tag: no call, no tuple (edits map every tag of every caption touched)
    return split_weight(tag)[1]


def reweigh(tag: str, new: str) -> str:
    """``new`` with ``tag``'s weight: ``reweigh("(smile:1.2)", "grin")`` -> ``(grin:1.2)``."""
    prefix, _, suffix = split_weight(tag)
    return f"{prefix}{new}{suffix}" if prefix else new
