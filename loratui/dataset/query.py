"""The tag query language used by filters and ``--where``.

    red_hair            images tagged `red hair` (underscores and spaces are the same here)
    1girl -solo         both terms: `1girl` and not `solo`
    hat | cap           either
    (hat | cap) -solo   grouping
    "long hair"         quoted tag with spaces
    *hair               glob: any tag ending in `hair`
    tags<5  tags>=20    by number of tags
    no-caption          images without a caption file (also: empty-caption, unreadable)
    subset:10_mychar    images of one subset (by folder name or repeats-stripped name)

Terms next to each other mean AND; ``|`` binds looser than AND; ``-`` negates one term.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .caption import normalize_tag

if TYPE_CHECKING:
    from .dataset import Dataset


class QueryError(ValueError):
    """A query that does not parse; the message says where and why."""


_TOKEN = re.compile(r'\s*(?:(\()|(\))|(\|)|"((?:[^"\\]|\\.)*)"|([^\s()|"]+))')
_COUNT = re.compile(r"^tags\s*(<=|>=|<|>|=|==)\s*(\d+)$")


@dataclass
class _Node:
    kind: str  # tag, glob, count, state, subset, and, or, not
    value: object = None
    children: tuple = ()


def parse_query(text: str) -> _Node | None:
    """Parse a query; ``None`` for an empty one (matches everything)."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise QueryError(f"cannot read the query at column {pos + 1}: {text[pos:]!r} (unclosed quote?)")
        pos = m.end()
        if m.group(1):
            tokens.append(("(", "("))
        elif m.group(2):
            tokens.append((")", ")"))
        elif m.group(3):
            tokens.append(("|", "|"))
        elif m.group(4) is not None:
            tokens.append(("quoted", m.group(4).replace('\\"', '"')))
        else:
            tokens.append(("word", m.group(5)))
    if not tokens:
        return None
    parser = _Parser(tokens, text)
    node = parser.parse_or()
    if parser.i != len(tokens):
        raise QueryError(f"unexpected {tokens[parser.i][1]!r} in query {text!r}")
    return node


class _Parser:
    def __init__(self, tokens, text):
        self.tokens = tokens
        self.i = 0
        self.text = text

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def parse_or(self) -> _Node:
        nodes = [self.parse_and()]
        while self.peek()[0] == "|":
            self.i += 1
            if self.peek()[0] in (None, ")", "|"):
                raise QueryError(f"`|` needs a term on both sides in {self.text!r}")
            nodes.append(self.parse_and())
        return nodes[0] if len(nodes) == 1 else _Node("or", children=tuple(nodes))

    def parse_and(self) -> _Node:
        nodes = []
        while self.peek()[0] not in (None, ")", "|"):
            nodes.append(self.parse_unary())
        if not nodes:
            raise QueryError(f"expected a term in {self.text!r}")
        return nodes[0] if len(nodes) == 1 else _Node("and", children=tuple(nodes))

    def parse_unary(self) -> _Node:
        kind, value = self.peek()
        if kind == "word" and value.startswith("-") and len(value) > 1:
            self.i += 1
            return _Node("not", children=(self.atom_from_word(value[1:]),))
        if kind == "word" and value == "-":
            self.i += 1
            return _Node("not", children=(self.parse_atom(),))
        return self.parse_atom()

    def parse_atom(self) -> _Node:
        kind, value = self.peek()
        if kind == "(":
            self.i += 1
            node = self.parse_or()
            if self.peek()[0] != ")":
                raise QueryError(f"missing `)` in {self.text!r}")
            self.i += 1
            return node
        if kind == "quoted":
            self.i += 1
            return _Node("tag", value)
        if kind == "word":
            self.i += 1
            return self.atom_from_word(value)
        raise QueryError(f"expected a term, found {value!r} in {self.text!r}")

    def atom_from_word(self, word: str) -> _Node:
        m = _COUNT.match(word)
        if m:
            return _Node("count", (m.group(1), int(m.group(2))))
        if word in ("no-caption", "empty-caption", "unreadable", "changed", "duplicate-name"):
            return _Node("state", word)
        if word.startswith("subset:") and len(word) > 7:
            return _Node("subset", word[7:])
        if "*" in word or "?" in word:
            return _Node("glob", word)
        return _Node("tag", word)


_OPS: dict[str, Callable[[int, int], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "=": lambda a, b: a == b, "==": lambda a, b: a == b,
}


def evaluate(node: _Node | None, ds: "Dataset") -> set[int]:
    """The ids of the images that match ``node`` (all images for ``None``)."""
    universe = ds.all_ids()
    if node is None:
        return set(universe)
    normal: dict[str, list[str]] | None = None

    def normal_map() -> dict[str, list[str]]:
        nonlocal normal
        if normal is None:
            normal = {}
            for t in ds.index.tags():
                normal.setdefault(normalize_tag(t), []).append(t)
        return normal

    def ev(n: _Node) -> set[int]:
        if n.kind == "tag":
            tag = str(n.value)
            exact = ds.index.images(tag)
            variants = normal_map().get(normalize_tag(tag), [])
            if not variants:
                return set(exact)
            out: set[int] = set(exact)
            for v in variants:
                out |= ds.index.images(v)
            return out
        if n.kind == "glob":
            pat = normalize_tag(str(n.value))
            out = set()
            for norm, actual in normal_map().items():
                if fnmatch.fnmatchcase(norm, pat):
                    for v in actual:
                        out |= ds.index.images(v)
            return out
        if n.kind == "count":
            op, num = n.value
            f = _OPS[op]
            return {i for i in universe if f(len(ds.images[i].tags), num)}
        if n.kind == "state":
            key = n.value
            imgs = ds.images
            if key == "no-caption":
                return {i for i in universe if imgs[i].state == "missing"}
            if key == "empty-caption":
                return {i for i in universe if imgs[i].state == "empty"}
            if key == "unreadable":
                return {i for i in universe if imgs[i].state in ("unreadable", "encoding")}
            if key == "changed":
                return {i for i in universe if imgs[i].changed_outside}
            return {i for i in universe if imgs[i].duplicate_name}
        if n.kind == "subset":
            want = str(n.value)
            out = set()
            for s in ds.subsets:
                if want in (s.name, s.path, s.class_tokens):
                    out.update(s.image_ids)
            return out
        if n.kind == "not":
            return set(universe) - ev(n.children[0])
        if n.kind == "and":
            parts = sorted((ev(c) for c in n.children), key=len)
            acc = parts[0]
            for p in parts[1:]:
                acc = acc & p
            return acc
        if n.kind == "or":
            acc = set()
            for c in n.children:
                acc |= ev(c)
            return acc
        raise AssertionError(n.kind)

    return ev(node)


def select(ds: "Dataset", query: str, ids: Sequence[int] | None = None) -> list[int]:
    """Image ids matching ``query`` in dataset order (restricted to ``ids`` when given)."""
    node = parse_query(query)
    matched = evaluate(node, ds)
    base = ds.all_ids() if ids is None else ids
    if node is None:
        return list(base)
    return [i for i in base if i in matched]
