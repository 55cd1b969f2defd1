"""Each tag's model confidence for the caption editor, from the tagger's kept probabilities.

No Textual. Meant to be called on the UI thread each time the editor shows an image:

- nothing was ever tagged with probabilities kept: one ``stat`` (no sqlite, no numpy import);
- the same image again with the cache file unchanged: a dict lookup;
- otherwise one primary-key lookup per model the dataset was tagged with, then
  ``loratui.tagging.confidences`` for that model (about 1 ms). We look the model up first because
  ``tag_confidences`` without a model key scans the whole table by path: ~30 ms at 100k images with
  the stand-in model, more with real 10k-tag models.
"""

from __future__ import annotations

import os
from collections import OrderedDict

from loratui.tagging.kept_paths import CACHE_FILE, MODELS_FILE, cache_path, known_models, latest_model


def confidence_text(p: float | None) -> str:
    """``0.873`` -> ``87%``; ``None`` (unknown: added by hand, or below 1%) -> ``""``."""
    if p is None:
        return ""
    pct = round(p * 100)
    return "<1%" if pct < 1 else f"{min(pct, 100)}%"


class TagConfidences:
    """Cached per image; keyed on the probability file's state, so a new tagging run shows at once."""

    def __init__(self, max_images: int = 256) -> None:
        self.max_images = max_images
        self._cache: OrderedDict[tuple[str, str], tuple[tuple, dict[str, float]]] = OrderedDict()
        self._models: dict[str, tuple[tuple, list[str]]] = {}

    def get(self, ds, image_id: int) -> dict[str, float]:
        """``{normalize_tag(tag): probability}`` for the image's last tagging run; {} when unknown."""
        if not 0 <= image_id < len(ds.images):
            return {}
        root = ds.root
        db_stamp = _stamp(cache_path(root))
        if db_stamp is None:
            return {}
        rel = ds.images[image_id].path
        # the image's own stamp too: a replaced image's old probabilities no longer apply
        stamp = (db_stamp, _stamp(cache_path(root, CACHE_FILE + "-wal")), _stamp(ds.abspath(rel)))
        key = (root, rel)
        hit = self._cache.get(key)
        if hit is not None and hit[0] == stamp:
            self._cache.move_to_end(key)
            return hit[1]
        result = self._lookup(root, rel)
        self._cache[key] = (stamp, result)
        self._cache.move_to_end(key)
        while len(self._cache) > self.max_images:
            self._cache.popitem(last=False)
        return result

    def lookup(self, ds, image_id: int, tags: list[str]) -> list[float | None]:
        """The confidence of each of ``tags`` (None where unknown), in order."""
        conf = self.get(ds, image_id)
        if not conf:
            return [None] * len(tags)
        from loratui.dataset import normalize_tag

        return [conf.get(normalize_tag(t)) for t in tags]

    def invalidate(self) -> None:
        self._cache.clear()

    # --- lookups ---------------------------------------------------------------------------------
    def _lookup(self, root: str, rel: str) -> dict[str, float]:
        model = self._latest_model(root, rel)
        if model is None:
            return {}
        from loratui.tagging.cache import tag_confidences

        try:
            return tag_confidences(root, rel, model)
        except Exception:  # a damaged cache must never break the caption editor
            return {}

    def _latest_model(self, root: str, rel: str) -> str | None:
        return latest_model(root, rel, self._known_models(root))

    def _known_models(self, root: str) -> list[str]:
        """Model keys, re-read only when ``models.json`` changed."""
        stamp = _stamp(cache_path(root, MODELS_FILE))
        if stamp is None:
            return []
        hit = self._models.get(root)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        models = known_models(root)
        self._models[root] = (stamp, models)
        return models


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns
