"""Counting CLIP tokens in a caption, without transformers.

With a CLIP tokenizer's ``merges.txt`` on disk (a diffusers model's ``tokenizer/`` folder, or the
Hugging Face cache) the count is exact: the same byte-level BPE as CLIP's tokenizer, minus the
lookup of ids, which counting does not need. Without one, ``EstimatedCounter`` gives an estimate
and says so. Nothing is ever downloaded.
"""

from __future__ import annotations

import glob
import math
import os
import re

from loratui.clip_bytes import byte_encoder

_TAG_EDGE = re.compile(r"^[\w].*[\w]$|^\w$", re.UNICODE)


class _Counter:
    exact = True
    source = ""

    def __init__(self) -> None:
        self._tag_memo: dict[str, int] = {}

    def count_text(self, text: str) -> int:
        raise NotImplementedError

    def count_tags(self, tags: list[str]) -> int:
        """Tokens of ``", ".join(tags)`` (without the start/end tokens). Memoised per tag: a tag
        whose ends are word characters tokenizes the same on its own as inside the caption."""
        if not tags:
            return 0
        memo = self._tag_memo
        total = len(tags) - 1  # the commas
        for t in tags:
            c = memo.get(t)
            if c is None:
                if not _TAG_EDGE.match(t):
                    return self.count_text(", ".join(tags))
                c = memo[t] = self.count_text(t)
            total += c
        return total


class ClipCounter(_Counter):
    """Exact CLIP token counts from a ``merges.txt``."""

    def __init__(self, merges_path: str):
        super().__init__()
        import regex

        self.source = merges_path
        with open(merges_path, encoding="utf-8") as f:
            lines = f.read().strip().split("\n")
        lines = lines[1:49152 - 256 - 2 + 1] if lines and lines[0].startswith("#") else lines
        self.ranks = {tuple(m.split()): i for i, m in enumerate(lines) if len(m.split()) == 2}
        self.pat = regex.compile(
            r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            regex.IGNORECASE)
        self._bpe_memo: dict[str, int] = {}
        self._enc = byte_encoder()

    def _bpe_len(self, token: str) -> int:
        n = self._bpe_memo.get(token)
        if n is not None:
            return n
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        ranks = self.ranks
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: ranks.get(p, math.inf))
            if best not in ranks:
                break
            first, second = best
            new: list[str] = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                    new.append(first + second)
                    i += 2
                else:
                    new.append(word[i])
                    i += 1
            word = tuple(new)
        self._bpe_memo[token] = len(word)
        return len(word)

    def count_text(self, text: str) -> int:
        text = " ".join(text.split()).lower()
        enc = self._enc
        return sum(self._bpe_len("".join(enc[b] for b in tok.encode("utf-8"))) for tok in self.pat.findall(text))


class EstimatedCounter(_Counter):
    """An estimate for when no tokenizer is available: common English words are one CLIP token,
    long or rare words several, each punctuation run and digit one."""

    exact = False
    source = "estimate"
    _pat = re.compile(r"[^\W\d_]+|\d|[^\w\s]+|_+", re.UNICODE)

    def count_text(self, text: str) -> int:
        n = 0
        for w in self._pat.findall(text.lower()):
            n += 1 if len(w) <= 7 or not w.isalpha() else math.ceil(len(w) / 5)
        return n


def find_merges(candidates: list[str]) -> str | None:
    """The first ``merges.txt`` found in ``candidates`` (folders, or the file itself), then in the
    Hugging Face cache (CLIP ViT-L/14, SD 1.5 and SDXL tokenizers). Never downloads."""
    for c in candidates:
        if not c:
            continue
        for p in (c, os.path.join(c, "merges.txt"), os.path.join(c, "tokenizer", "merges.txt")):
            if os.path.isfile(p) and p.endswith("merges.txt"):
                return p
    hub = os.path.join(os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface"), "hub")
    for repo in ("models--openai--clip-vit-large-patch14", "models--stable-diffusion-v1-5--stable-diffusion-v1-5",
                 "models--runwayml--stable-diffusion-v1-5", "models--stabilityai--stable-diffusion-xl-base-1.0"):
        for p in sorted(glob.glob(os.path.join(hub, repo, "snapshots", "*", "merges.txt"))
                        + sorted(glob.glob(os.path.join(hub, repo, "snapshots", "*", "tokenizer", "merges.txt")))):
            return p
    return None


def token_counter(candidates: list[str] | None = None) -> _Counter:
    """An exact counter when a CLIP ``merges.txt`` is found locally, else the estimate."""
    path = find_merges(candidates or [])
    if path:
        try:
            return ClipCounter(path)
        except (OSError, UnicodeDecodeError, ImportError):
            pass
    return EstimatedCounter()
