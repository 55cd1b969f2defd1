"""Where kept probabilities live, and the cheap lookups over them that need no numpy.

``cache.py`` (numpy) writes and decodes records; the TUI's caption editor asks, on the UI thread,
which model tagged an image last. Both use the names here, so they cannot drift apart.
"""

from __future__ import annotations

import json
import os
import sqlite3

CACHE_DIR = os.path.join(".loratui", "tagger")
CACHE_FILE = "probs.sqlite"
MODELS_FILE = "models.json"
"""``{model key: path of its selected_tags.csv}``, written by every run that keeps probabilities."""


def cache_path(dataset_root: str, name: str = CACHE_FILE) -> str:
    return os.path.join(dataset_root, CACHE_DIR, name)


def known_models(dataset_root: str) -> list[str]:
    """Model keys the dataset was tagged with ([] when none, or when the file is not ours)."""
    try:
        with open(cache_path(dataset_root, MODELS_FILE), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return []
    return [k for k in data if isinstance(k, str)] if isinstance(data, dict) else []


def latest_model(dataset_root: str, rel: str, models: list[str]) -> str | None:
    """Of ``models``, the one whose probabilities for image ``rel`` were stored last (rowid grows on
    every write). One primary-key lookup per model: scanning by path alone is ~30 ms at 100k images."""
    if not models:
        return None
    best: tuple[int, str] | None = None
    try:
        conn = sqlite3.connect(cache_path(dataset_root), timeout=1)
    except sqlite3.Error:
        return None
    try:
        for m in models:
            row = conn.execute("SELECT rowid FROM probs WHERE model=? AND path=?", (m, rel)).fetchone()
            if row is not None and isinstance(row[0], int) and (best is None or row[0] > best[0]):
                best = (row[0], m)
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return best[1] if best else None
