"""Kept probabilities: one record per (model, image) in ``<dataset>/.loratui/tagger/probs.sqlite``.

A record is valid while the image file keeps its size and modification time. Probabilities below
``FLOOR`` are stored as 0 (they never pass a threshold anyone uses, and this keeps a record to a few
hundred bytes); a run always selects tags from the stored form, so a fresh run and one replayed
from the cache give the same captions.

Uses: resuming an interrupted run without re-running the model, re-applying other thresholds
later (instantly), and the TUI showing each tag's confidence. Safe to delete.
"""

from __future__ import annotations

import functools
import os
import sqlite3

import numpy as np

from loratui.fileio import write_atomic

from .kept_paths import CACHE_DIR, CACHE_FILE, MODELS_FILE

FLOOR = 0.01


def sparsify(probs: np.ndarray, floor: float = FLOOR) -> tuple[np.ndarray, np.ndarray]:
    probs = np.asarray(probs, dtype=np.float32).reshape(-1)
    idx = np.flatnonzero(probs >= floor).astype(np.uint32)
    return idx, probs[idx]


def densify(idx: np.ndarray, vals: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    out[idx] = vals
    return out


def stored_form(probs: np.ndarray, floor: float = FLOOR) -> np.ndarray:
    """What the cache gives back for ``probs`` (selection always works on this)."""
    p = np.asarray(probs, dtype=np.float32).reshape(-1).copy()
    p[p < floor] = 0.0
    return p


class ProbCache:
    """Kept probabilities of one dataset. Use one instance per thread. Never raises on a cache
    problem (unwritable folder, damaged file): it behaves as an empty cache instead."""

    def __init__(self, dataset_root: str, create: bool = True):
        self.dir = os.path.join(dataset_root, CACHE_DIR)
        self.path = os.path.join(self.dir, CACHE_FILE)
        self.root = dataset_root
        self._conn: sqlite3.Connection | None = None
        self._create = create
        self._broken = False

    def _db(self) -> sqlite3.Connection | None:
        """The connection, or None when there is no cache (not created yet, or not writable)."""
        if self._conn is None and not self._broken:
            if not self._create and not os.path.exists(self.path):
                return None
            from loratui.dataset.safe_paths import UnsafePath, owned_path

            try:
                # the folder, the database and its -wal/-shm files must not be planted symlinks
                for name in (CACHE_FILE, CACHE_FILE + "-wal", CACHE_FILE + "-shm"):
                    owned_path(self.root, f"{CACHE_DIR}/{name}")
                os.makedirs(self.dir, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("CREATE TABLE IF NOT EXISTS probs (model TEXT, path TEXT, size INTEGER, "
                             "mtime_ns INTEGER, idx BLOB, val BLOB, PRIMARY KEY (model, path))")
            except (OSError, sqlite3.Error, UnsafePath):
                # read-only dataset or a damaged file: tagging works, just without kept probabilities
                self._broken = True
                return None
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _stamp(self, rel: str) -> tuple[int, int] | None:
        try:
            st = os.stat(os.path.join(self.root, rel))
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns

    def get(self, model_key: str, rel: str, n: int) -> np.ndarray | None:
        """The stored probabilities of image ``rel`` (dense, length ``n``), or None if absent/stale."""
        db = self._db()
        if db is None:
            return None
        try:
            row = db.execute("SELECT size, mtime_ns, idx, val FROM probs WHERE model=? AND path=?",
                             (model_key, rel)).fetchone()
        except sqlite3.Error:
            return None
        if row is None or self._stamp(rel) != (row[0], row[1]):
            return None
        idx = np.frombuffer(row[2], dtype=np.uint32)
        if len(idx) and int(idx.max()) >= n:
            return None
        return densify(idx, np.frombuffer(row[3], dtype=np.float32), n)

    def put_many(self, model_key: str, items: list[tuple[str, np.ndarray]]) -> None:
        """Store (image rel path, probabilities) pairs in one transaction."""
        db = self._db()
        if db is None:
            return
        rows = []
        for rel, probs in items:
            stamp = self._stamp(rel)
            if stamp is None:
                continue
            idx, val = sparsify(probs)
            rows.append((model_key, rel, stamp[0], stamp[1], idx.tobytes(), val.tobytes()))
        try:
            with db:
                db.executemany("INSERT OR REPLACE INTO probs VALUES (?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.Error:
            self._broken = True  # disk full, read-only: stop trying, the run goes on

    def models(self) -> list[str]:
        db = self._db()
        if db is None:
            return []
        return [r[0] for r in db.execute("SELECT DISTINCT model FROM probs")]


def tag_confidences(dataset_root: str, image_rel: str, model_key: str | None = None) -> dict[str, float]:
    """Confidence of each known tag for one image, keyed by ``normalize_tag`` of the tag text, from
    kept probabilities (the most recent model that tagged it when ``model_key`` is None). Empty when
    the image was never tagged with probabilities kept. For the TUI's caption editor; cheap (one
    query), no onnxruntime."""
    from loratui.dataset.caption import normalize_tag

    from .labels import LabelsError
    from .select import SelectOptions, format_tag

    cache = ProbCache(dataset_root, create=False)
    try:
        db = cache._db()
        if db is None:
            return {}
        q = "SELECT model, size, mtime_ns, idx, val FROM probs WHERE path=?"
        args: tuple = (image_rel,)
        if model_key:
            q += " AND model=?"
            args += (model_key,)
        try:
            rows = db.execute(q + " ORDER BY rowid DESC", args).fetchall()
        except sqlite3.Error:
            return {}
        stamp = cache._stamp(image_rel)
        for model, size, mtime, idx_b, val_b in rows:
            if stamp != (size, mtime):
                continue
            labels_path = _labels_for(dataset_root, model)
            if labels_path is None:
                continue
            try:
                labels = _cached_labels(labels_path, os.stat(labels_path).st_mtime_ns)
            except (LabelsError, OSError):
                continue
            idx = np.frombuffer(idx_b, dtype=np.uint32)
            vals = np.frombuffer(val_b, dtype=np.float32)
            out: dict[str, float] = {}
            escaped = SelectOptions(escape_brackets=True)
            for i, v in zip(idx, vals):
                if i < len(labels):
                    name = labels.names[i]
                    out.setdefault(normalize_tag(name), float(v))
                    out.setdefault(normalize_tag(format_tag(name, escaped)), float(v))
            return out
        return {}
    finally:
        cache.close()


@functools.lru_cache(maxsize=4)
def _cached_labels(path: str, mtime_ns: int):
    from .labels import load_labels

    return load_labels(path)


def remember_labels(dataset_root: str, model_key: str, labels_path: str) -> None:
    """Record where a model's tag list lives, so confidences can be named without loading the model."""
    import json

    from loratui.dataset.safe_paths import UnsafePath, owned_path

    try:
        p = str(owned_path(dataset_root, f"{CACHE_DIR}/models.json"))
    except UnsafePath:
        return  # a planted symlink: not followed, and nothing is remembered
    os.makedirs(os.path.dirname(p), exist_ok=True)
    known = _read_models(p)
    if known.get(model_key) == labels_path:
        return
    known[model_key] = labels_path
    write_atomic(p, json.dumps(known, indent=1))


def _read_models(path: str) -> dict:
    from loratui.fileio import read_json_untrusted

    try:
        known = read_json_untrusted(path, 4 << 20)
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in known.items() if isinstance(v, str)} if isinstance(known, dict) else {}


def _labels_for(dataset_root: str, model_key: str) -> str | None:
    p = _read_models(os.path.join(dataset_root, CACHE_DIR, MODELS_FILE)).get(model_key)
    return p if isinstance(p, str) and "\x00" not in p and os.path.isfile(p) else None
