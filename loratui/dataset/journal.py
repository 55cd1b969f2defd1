"""The per-dataset edit journal: undo/redo across restarts, and crash recovery.

Layout under ``<dataset>/.loratui/journal/``::

    state.json          {"version", "history": [op names], "position", "pending"}
    ops/<name>.json     one applied operation: every file's text before and after
    lock                flock'ed while a transaction runs (two loratui processes never interleave)

A transaction (apply, undo or redo) first records itself as ``pending`` in ``state.json``, then
writes caption files, then commits by rewriting ``state.json`` without ``pending``. Each
``state.json`` write is atomic, so after a crash the journal says exactly which transaction was
interrupted, and ``Dataset.open`` rolls it back file by file: a file that already holds the new
text gets its old text back; a file still holding the old text is left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from dataclasses import dataclass

from loratui.fileio import write_atomic

MAX_HISTORY = 500
VERSION = 1


@dataclass
class FileRecord:
    path: str
    """Caption path relative to the dataset root."""
    before: str | None
    """Text before the operation; None: the file did not exist."""
    after: str | None
    """Text after the operation; None: the file was removed."""
    encoding: str = "utf-8"


@dataclass
class OpRecord:
    name: str
    time: float
    description: str
    files: list[FileRecord]

    def to_json(self) -> dict:
        return {"name": self.name, "time": self.time, "description": self.description,
                "files": [[f.path, f.before, f.after, f.encoding] for f in self.files]}

    @classmethod
    def from_json(cls, d: dict) -> "OpRecord":
        return cls(d["name"], d["time"], d["description"],
                   [FileRecord(p, b, a, e) for p, b, a, e in d["files"]])


class JournalError(Exception):
    pass


class Journal:
    def __init__(self, state_dir: str):
        self.dir = os.path.join(state_dir, "journal")
        self.ops_dir = os.path.join(self.dir, "ops")
        self.state_path = os.path.join(self.dir, "state.json")
        self._lock_fd: int | None = None
        self._lock_depth = 0

    # --- state -------------------------------------------------------------------------------
    def read_state(self) -> dict:
        try:
            with open(self.state_path, encoding="utf-8") as f:
                st = json.load(f)
        except FileNotFoundError:
            return {"version": VERSION, "history": [], "position": 0, "pending": None}
        except (OSError, ValueError) as e:
            raise JournalError(f"{self.state_path}: the journal state is unreadable ({e}); "
                               "move the .loratui/journal folder away to start a fresh history") from None
        if not isinstance(st, dict) or not isinstance(st.get("history"), list):
            raise JournalError(f"{self.state_path}: not a loratui journal state; move it away to start afresh")
        st.setdefault("pending", None)
        return st

    def _write_state(self, st: dict) -> None:
        os.makedirs(self.dir, exist_ok=True)
        _write_json_atomic(self.state_path, st)

    @property
    def can_undo(self) -> bool:
        return self.read_state()["position"] > 0

    @property
    def can_redo(self) -> bool:
        st = self.read_state()
        return st["position"] < len(st["history"])

    def entries(self) -> tuple[list[str], int]:
        """(descriptions of the history, oldest first; how many are applied)."""
        st = self.read_state()
        out = []
        for name in st["history"]:
            try:
                out.append(self.load(name).description)
            except JournalError:
                out.append("(missing journal entry)")
        return out, st["position"]

    def load(self, name: str) -> OpRecord:
        path = os.path.join(self.ops_dir, name + ".json")
        try:
            with open(path, encoding="utf-8") as f:
                return OpRecord.from_json(json.load(f))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise JournalError(f"{path}: journal entry unreadable ({e})") from None

    # --- locking -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self):
        """Hold the journal's inter-process lock (re-entrant within this object)."""
        if self._lock_depth == 0:
            os.makedirs(self.dir, exist_ok=True)
            fd = os.open(os.path.join(self.dir, "lock"), os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._lock_fd = fd
        self._lock_depth += 1
        try:
            yield
        finally:
            self._lock_depth -= 1
            if self._lock_depth == 0 and self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
                self._lock_fd = None

    # --- transactions --------------------------------------------------------------------------
    def begin_apply(self, description: str, files: list[FileRecord]) -> OpRecord:
        st = self.read_state()
        if st["pending"]:
            raise JournalError("an interrupted operation is still pending; reopen the dataset to recover it")
        name = f"{time.time_ns():020d}-{os.getpid()}"
        rec = OpRecord(name, time.time(), description, files)
        os.makedirs(self.ops_dir, exist_ok=True)
        _write_json_atomic(os.path.join(self.ops_dir, name + ".json"), rec.to_json())
        st["pending"] = {"name": name, "direction": "apply"}
        self._write_state(st)
        return rec

    def begin_undo(self) -> OpRecord | None:
        st = self.read_state()
        if st["position"] == 0:
            return None
        name = st["history"][st["position"] - 1]
        rec = self.load(name)
        st["pending"] = {"name": name, "direction": "undo"}
        self._write_state(st)
        return rec

    def begin_redo(self) -> OpRecord | None:
        st = self.read_state()
        if st["position"] >= len(st["history"]):
            return None
        name = st["history"][st["position"]]
        rec = self.load(name)
        st["pending"] = {"name": name, "direction": "redo"}
        self._write_state(st)
        return rec

    def commit(self) -> None:
        st = self.read_state()
        p = st["pending"]
        if not p:
            return
        if p["direction"] == "apply":
            dropped = st["history"][st["position"]:]
            st["history"] = st["history"][: st["position"]] + [p["name"]]
            st["position"] = len(st["history"])
            if len(st["history"]) > MAX_HISTORY:
                cut = len(st["history"]) - MAX_HISTORY
                dropped += st["history"][:cut]
                st["history"] = st["history"][cut:]
                st["position"] -= cut
        else:
            dropped = []
            st["position"] += -1 if p["direction"] == "undo" else 1
        st["pending"] = None
        self._write_state(st)
        for name in dropped:
            _unlink(os.path.join(self.ops_dir, name + ".json"))

    def abandon(self) -> None:
        """Clear a pending transaction after its files were rolled back."""
        st = self.read_state()
        p = st["pending"]
        if not p:
            return
        st["pending"] = None
        self._write_state(st)
        if p["direction"] == "apply":
            _unlink(os.path.join(self.ops_dir, p["name"] + ".json"))

    def pending(self) -> tuple[str, OpRecord | None] | None:
        """(direction, record) of an interrupted transaction, if any."""
        st = self.read_state()
        p = st["pending"]
        if not p:
            return None
        try:
            return p["direction"], self.load(p["name"])
        except JournalError:
            return p["direction"], None

    def collect_garbage(self) -> None:
        """Remove op files that no history entry or pending transaction refers to."""
        st = self.read_state()
        keep = set(st["history"])
        if st["pending"]:
            keep.add(st["pending"]["name"])
        try:
            names = os.listdir(self.ops_dir)
        except FileNotFoundError:
            return
        for fn in names:
            stem = fn[:-5] if fn.endswith(".json") else fn
            if stem not in keep:
                _unlink(os.path.join(self.ops_dir, fn))


def _write_json_atomic(path: str, obj) -> None:
    write_atomic(path, json.dumps(obj, ensure_ascii=False, separators=(",", ":")), fsync=True)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
