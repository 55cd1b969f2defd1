"""Which images are held out for the validation loss (never trained on), in one place: the worker,
the config's step math and the health check all count the same training images.

An image is held out when its subset is marked ``validation``, or when it is among the
``validation_split`` fraction of the other (non-regularisation) images ranked by a hash of
(seed, subset, path): the choice does not depend on listing order and is the same on every resume.
"""

from __future__ import annotations

import hashlib


def held_out(images: list[tuple[int, str]], split: float, val_subsets: set[int] | frozenset = frozenset(),
             reg_subsets: set[int] | frozenset = frozenset(), seed: int = 0) -> set[tuple[int, str]]:
    """``images``: (subset index, path relative to its subset folder). Returns the held-out ones.
    At least one image stays for training, and a split > 0 holds out at least one image."""
    out = {(s, p) for s, p in images if s in val_subsets}
    cands = [(s, p) for s, p in images if s not in val_subsets and s not in reg_subsets]
    if split > 0 and len(cands) > 1:
        n = min(len(cands) - 1, max(1, round(len(cands) * split)))
        ranked = sorted(cands, key=lambda sp: hashlib.sha256(f"{seed}/validation/{sp[0]}/{sp[1]}".encode()).digest())
        out |= set(ranked[:n])
    return out
