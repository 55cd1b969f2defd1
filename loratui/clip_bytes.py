"""CLIP's byte-level BPE alphabet: each of the 256 byte values as a printable character.

Shared by the token counter of the health check and the tiny test/demo tokenizer, which must
agree with OpenAI CLIP's tokenizer (and transformers' ``CLIPTokenizer``) byte for byte.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def byte_encoder() -> dict[int, str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))
