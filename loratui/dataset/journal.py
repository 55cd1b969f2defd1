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
import errno
import fcntl
import json
import math
import os
import re
import stat as stat_mod
import time
from dataclasses import dataclass

from loratui.fileio import UntrustedFileError as _Unparsable
from loratui.fileio import make_dirs, write_atomic
from loratui.fileio import read_json_untrusted as _read_json

from .safe_paths import UnsafePath, clean_relative, resolve_inside

MAX_HISTORY = 500
VERSION = 1
NAME_RE = re.compile(r"^[0-9]{1,32}-[0-9]{1,12}$")
"""Op names loratui writes (``<time_ns>-<pid>``): anything else in a journal was not written by it."""
ENCODINGS = frozenset({"utf-8", "utf-8-sig", "utf-16"})
DIRECTIONS = frozenset({"apply", "undo", "redo"})
MAX_STATE_BYTES = 4 << 20
MAX_OP_BYTES = 1 << 30
"""Larger than any real edit (1 GiB of caption text); a bigger file is refused before it is read."""


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
    def from_json(cls, d: object, root: str | None = None, source: str | None = None) -> "OpRecord":
        """Parse and validate an op read from disk; raises JournalError(bad=True) for anything
        loratui would not have written (wrong types, unknown encodings, paths leaving ``root``)."""
        def bad(why: str) -> JournalError:
            return JournalError(f"{source}: not a loratui journal entry ({why})", path=source, bad=True)

        if not isinstance(d, dict):
            raise bad("not a JSON object")
        name, when, desc, files = d.get("name"), d.get("time"), d.get("description"), d.get("files")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise bad("bad name")
        if not isinstance(when, (int, float)) or isinstance(when, bool) or not math.isfinite(when):
            raise bad("bad time")
        if not isinstance(desc, str) or not isinstance(files, list):
            raise bad("bad description or file list")
        out: list[FileRecord] = []
        for item in files:
            if not isinstance(item, list) or len(item) != 4:
                raise bad("a file record is not [path, before, after, encoding]")
            p, b, a, e = item
            if not (b is None or isinstance(b, str)) or not (a is None or isinstance(a, str)):
                raise bad("a file record's text is not text")
            if e not in ENCODINGS:
                raise bad(f"unknown encoding {str(e)[:40]!r}")
            p = _check_record_path(p, root, source)
            out.append(FileRecord(p, b, a, e))
        return cls(name, float(when), desc, out)


def _check_record_path(p: object, root: str | None, source: str | None) -> str:
    try:
        p = clean_relative(p, source=source)
        if p.split("/", 1)[0] == ".loratui":
            raise UnsafePath(p, "points into loratui's own state folder", source)
        if root is not None:
            resolve_inside(root, p, source=source)
    except UnsafePath as e:
        raise JournalError(e.message, path=source, bad=True) from None
    return p


class JournalError(Exception):
    """The journal cannot be used. ``bad``: its content is not what loratui writes (corrupt,
    truncated, crafted): it is never replayed, and ``Journal.set_aside`` moves it away."""

    def __init__(self, message: str, path: str | None = None, bad: bool = False):
        super().__init__(message)
        self.path = path
        self.bad = bad


class Journal:
    def __init__(self, state_dir: str, root: str | None = None):
        self.state_dir = state_dir
        self.root = root if root is not None else os.path.dirname(os.path.abspath(state_dir))
        self.dir = os.path.join(state_dir, "journal")
        self.ops_dir = os.path.join(self.dir, "ops")
        self.state_path = os.path.join(self.dir, "state.json")
        self._lock_fd: int | None = None
        self._lock_depth = 0

    # --- where it lives ----------------------------------------------------------------------
    def check_folders(self) -> None:
        """Refuse a journal whose folders are not plain folders (a symlink could send every write,
        and the garbage collection's deletes, outside the dataset)."""
        for d in (self.state_dir, self.dir, self.ops_dir):
            try:
                st = os.lstat(d)
            except FileNotFoundError:
                return
            except OSError as e:
                raise JournalError(f"{d}: cannot be read ({e.strerror})", path=d) from None
            if not stat_mod.S_ISDIR(st.st_mode):
                what = "a symlink" if stat_mod.S_ISLNK(st.st_mode) else "not a folder"
                raise JournalError(f"{d}: is {what}; loratui keeps its state only in plain folders inside "
                                   "the dataset and will not follow it", path=d, bad=True)

    def _makedirs(self, path: str) -> None:
        self.check_folders()
        make_dirs(path)
        self.check_folders()  # nothing swapped in between that we would now write through

    def set_aside(self) -> str | None:
        """Move a bad journal out of the way (renamed, never deleted or replayed); returns where
        it went, or None when it could not be moved (read-only dataset)."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        try:
            st = os.lstat(self.state_dir)
        except OSError:
            return None
        # a state folder that is itself a symlink is renamed as a link: its target is not touched
        src = self.state_dir if not stat_mod.S_ISDIR(st.st_mode) else self.dir
        dst = f"{src}.bad-{stamp}"
        n = 1
        while os.path.lexists(dst):
            n += 1
            dst = f"{src}.bad-{stamp}-{n}"
        try:
            os.rename(src, dst)
        except OSError:
            return None
        return dst

    # --- state -------------------------------------------------------------------------------
    def read_state(self) -> dict:
        self.check_folders()
        try:
            st = _read_json(self.state_path, MAX_STATE_BYTES)
        except FileNotFoundError:
            return {"version": VERSION, "history": [], "position": 0, "pending": None}
        except _Unparsable as e:
            raise JournalError(f"{self.state_path}: the journal state is unreadable ({e}); it is not replayed",
                               path=self.state_path, bad=True) from None
        except OSError as e:
            raise JournalError(f"{self.state_path}: the journal state cannot be read ({e.strerror or e})",
                               path=self.state_path) from None
        self._validate_state(st)
        return st

    def _validate_state(self, st: object) -> None:
        def bad(why: str) -> JournalError:
            return JournalError(f"{self.state_path}: not a loratui journal state ({why}); it is not replayed",
                                path=self.state_path, bad=True)

        if not isinstance(st, dict):
            raise bad("not a JSON object")
        hist = st.get("history")
        if not isinstance(hist, list) or not all(isinstance(n, str) and NAME_RE.match(n) for n in hist):
            raise bad("bad history")
        pos = st.get("position")
        if not isinstance(pos, int) or isinstance(pos, bool) or not 0 <= pos <= len(hist):
            raise bad("bad position")
        st.setdefault("pending", None)
        p = st["pending"]
        if p is not None and not (isinstance(p, dict) and isinstance(p.get("name"), str)
                                  and NAME_RE.match(p["name"]) and p.get("direction") in DIRECTIONS):
            raise bad("bad pending transaction")

    def _write_state(self, st: dict) -> None:
        self._makedirs(self.dir)
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
        if not NAME_RE.match(name):
            raise JournalError(f"{self.state_path}: bad journal entry name {name[:40]!r}",
                               path=self.state_path, bad=True)
        path = os.path.join(self.ops_dir, name + ".json")
        self.check_folders()
        try:
            data = _read_json(path, MAX_OP_BYTES)
        except FileNotFoundError:
            raise JournalError(f"{path}: journal entry missing", path=path) from None
        except _Unparsable as e:
            raise JournalError(f"{path}: journal entry unreadable ({e}); it is not replayed",
                               path=path, bad=True) from None
        except OSError as e:
            raise JournalError(f"{path}: journal entry cannot be read ({e.strerror or e})", path=path) from None
        rec = OpRecord.from_json(data, self.root, path)
        if rec.name != name:
            raise JournalError(f"{path}: journal entry names itself {rec.name!r}; it is not replayed",
                               path=path, bad=True)
        return rec

    # --- locking -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self):
        """Hold the journal's inter-process lock (re-entrant within this object)."""
        if self._lock_depth == 0:
            self._makedirs(self.dir)
            try:
                # O_NOFOLLOW: a `lock` symlink planted in a shared folder must not create its target
                fd = os.open(os.path.join(self.dir, "lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            except OSError as e:
                if e.errno == errno.ELOOP:
                    raise JournalError(f"{os.path.join(self.dir, 'lock')}: is a symlink; not followed",
                                       path=os.path.join(self.dir, "lock"), bad=True) from None
                raise
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
        self._makedirs(self.ops_dir)
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
        except JournalError as e:
            if e.bad:
                raise
            return p["direction"], None

    def collect_garbage(self) -> None:
        """Remove op files that no history entry or pending transaction refers to."""
        st = self.read_state()
        keep = set(st["history"])
        if st["pending"]:
            keep.add(st["pending"]["name"])
        # temporary files of journal writes a kill interrupted
        with contextlib.suppress(OSError):
            for fn in os.listdir(self.dir):
                if fn.startswith(".state.json.") and fn.endswith(".tmp"):
                    _unlink(os.path.join(self.dir, fn))
        try:
            names = os.listdir(self.ops_dir)
        except FileNotFoundError:
            return
        for fn in names:
            stem = fn[:-5] if fn.endswith(".json") else fn
            # only files loratui itself names are ever deleted: op records and their temp files
            ours = (fn.endswith(".json") and NAME_RE.match(stem)) or \
                (fn.startswith(".") and fn.endswith(".tmp") and NAME_RE.match(fn[1:].split(".json.", 1)[0]))
            if stem not in keep and ours:
                _unlink(os.path.join(self.ops_dir, fn))


def _write_json_atomic(path: str, obj) -> None:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        # a file name that is not valid UTF-8 arrives as lone surrogates (surrogateescape);
        # ASCII-escaped JSON keeps them exactly (\udcff), and reading it back restores the name
        data = json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    write_atomic(path, data, fsync=True)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
