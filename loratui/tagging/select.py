"""From probabilities to caption tags: thresholds, MCut, rating, and the text rules users expect."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from loratui.dataset.caption import normalize_tag

from .labels import Labels
from .options import SelectOptions

# kaomoji-like tags keep their underscores (list from SmilingWolf's reference tagger)
KAOMOJIS = frozenset({
    "0_0", "(o)_(o)", "+_+", "+_-", "._.", "<o>_<o>", "<|>_<|>", "=_=", ">_<", "3_3", "6_9", ">_o",
    "@_@", "^_^", "o_o", "u_u", "x_x", "|_|", "||_||",
})


def mcut_threshold(probs: np.ndarray) -> float:
    """Maximum Cut Thresholding: the midpoint of the largest gap between sorted probabilities."""
    if len(probs) < 2:
        return 0.0
    s = np.sort(np.asarray(probs, dtype=np.float64))[::-1]
    gaps = s[:-1] - s[1:]
    t = int(gaps.argmax())
    return float((s[t] + s[t + 1]) / 2)


def format_tag(name: str, options: SelectOptions) -> str:
    tag = name
    if options.underscores_to_spaces and name not in KAOMOJIS and len(name) > 3:
        tag = name.replace("_", " ")
    if options.escape_brackets:
        tag = tag.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return tag


def _pick(probs: np.ndarray, idx: np.ndarray, threshold: float) -> list[tuple[int, float]]:
    p = probs[idx]
    keep = np.flatnonzero(p > threshold)
    order = keep[np.argsort(-p[keep], kind="stable")]
    return [(int(idx[i]), float(p[i])) for i in order]


def select_tags(probs: np.ndarray, labels: Labels, options: SelectOptions) -> list[tuple[str, float]]:
    """The caption's predicted tags, in caption order, with their probabilities.

    ``always_first`` tags come first (probability 1.0), then the rating, then character and general
    tags (or general then character), each group by descending probability.
    """
    probs = np.asarray(probs, dtype=np.float32).reshape(-1)
    if len(probs) != len(labels):
        raise ValueError(f"{len(probs)} probabilities for {len(labels)} tags")
    gen_idx, char_idx = labels.general, labels.character
    gt = options.general_threshold
    if options.general_mcut and len(gen_idx):
        gt = mcut_threshold(probs[gen_idx])
    ct = options.character_threshold
    if options.character_mcut and len(char_idx):
        ct = max(0.15, mcut_threshold(probs[char_idx]))
    general = _pick(probs, gen_idx, gt)
    chars = _pick(probs, char_idx, ct) if len(char_idx) else []
    picked: list[tuple[int, float]] = []
    if options.rating and len(labels.rating):
        r = labels.rating[int(probs[labels.rating].argmax())]
        picked.append((int(r), float(probs[r])))
    picked += chars + general if options.characters_first else general + chars

    undesired = {normalize_tag(t) for t in options.undesired}
    replace = {normalize_tag(a): b.strip() for a, b in options.replace}
    first = [t.strip() for t in options.always_first if t.strip()]
    seen = {normalize_tag(t) for t in first}
    out: list[tuple[str, float]] = [(t, 1.0) for t in first]
    for i, p in picked:
        name = labels.names[i]
        text = format_tag(name, options)
        key = normalize_tag(text)
        if key in undesired or normalize_tag(name) in undesired:
            continue
        if key in replace:
            text = replace[key]
            key = normalize_tag(text)
            if not text or key in undesired:
                continue
        if key in seen:
            continue
        seen.add(key)
        out.append((text, p))
    return out


def merge_tags(existing: Sequence[str], predicted: Sequence[str], mode: str, always_first: Sequence[str] = ()) -> list[str]:
    """The new caption for ``mode``: ``append`` keeps existing tags in order and adds new ones
    (no duplicates, compared loosely), ``overwrite`` (and ``skip``, used on untagged images) takes
    the prediction. ``always_first`` tags are moved to the front either way. Idempotent, so a
    resumed run rewrites nothing it already wrote."""
    if mode == "append":
        have = {normalize_tag(t) for t in existing}
        tags = list(existing) + [t for t in predicted if normalize_tag(t) not in have and not have.add(normalize_tag(t))]
    else:
        tags = list(predicted)
    first = [t.strip() for t in always_first if t.strip()]
    if not first:
        return tags
    front = {normalize_tag(t) for t in first}
    return first + [t for t in tags if normalize_tag(t) not in front]
