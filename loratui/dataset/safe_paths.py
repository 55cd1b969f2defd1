"""Confining paths read from disk to the folder loratui owns.

Journals, caches, scan snapshots, run records and configs come from folders strangers share, so a
path read back from one of them is never trusted: before loratui writes, deletes or replays
anything at such a path, it goes through ``resolve_inside`` (a path relative to a root) or
``check_inside`` (an absolute path that must stay under a root). Both raise ``UnsafePath``, whose
message names the file the path came from, so the caller can refuse it and say why.

Rules for a relative path: a ``str``, not empty, no NUL byte, not absolute, no ``..`` component,
and, once ``.`` and empty components are dropped, resolving (symlinks followed) to a place inside
the root. A symlink inside the root that points inside the root is fine; one that leaves it is not.

What remains: the check and the later open are two system calls, so a process that can already
write inside the dataset can swap a folder for a symlink between them. loratui never follows a
path from an untrusted record without this check, which closes every hole a shared folder alone
can open.
"""

from __future__ import annotations

import os
import stat as stat_mod
from pathlib import Path

__all__ = ["UnsafePath", "check_component", "check_inside", "clean_relative", "is_inside", "owned_path",
           "resolve_inside"]


class UnsafePath(ValueError):
    """A path (or name) that would reach outside the folder it must stay in."""

    def __init__(self, value: object, reason: str, source: str | os.PathLike | None = None):
        self.value = value
        self.reason = reason
        self.source = os.fspath(source) if source is not None else None
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = f"{self.source}: " if self.source else ""
        return f"{where}unsafe path {_show(self.value)} ({self.reason}); refused"


def _show(value: object) -> str:
    s = repr(value)
    return s if len(s) <= 120 else s[:117] + "..."


def clean_relative(rel: object, *, source: str | os.PathLike | None = None) -> str:
    """Check ``rel`` lexically and return it normalised (``/`` separators, no ``.``/empty parts).

    Raises UnsafePath for anything that is not a plain relative path below its root.
    """
    if isinstance(rel, os.PathLike):
        rel = os.fspath(rel)
    if not isinstance(rel, str):
        raise UnsafePath(rel, f"not a text path but {type(rel).__name__}", source)
    if "\x00" in rel:
        raise UnsafePath(rel, "contains a NUL byte", source)
    if not rel:
        raise UnsafePath(rel, "empty", source)
    if os.path.isabs(rel):
        raise UnsafePath(rel, "absolute; only paths relative to the folder are allowed", source)
    parts = (rel.replace("\\", "/") if os.sep == "\\" else rel).split("/")
    if any(p == ".." for p in parts):
        raise UnsafePath(rel, "goes up with `..`", source)
    kept = [p for p in parts if p not in ("", ".")]
    if not kept:
        raise UnsafePath(rel, "names the folder itself, not a file in it", source)
    return "/".join(kept)


def is_inside(root: str | os.PathLike, path: str | os.PathLike) -> bool:
    """True when ``path`` (symlinks resolved) is ``root`` itself or below it (symlinks resolved)."""
    try:
        r = os.path.realpath(root)
        p = os.path.realpath(path)
    except (OSError, ValueError):
        return False
    return p == r or p.startswith(r.rstrip(os.sep) + os.sep)


def resolve_inside(root: str | os.PathLike, rel: object, *,
                   source: str | os.PathLike | None = None) -> Path:
    """``root / rel`` after checking that it stays inside ``root``; raises UnsafePath.

    The returned path is not symlink-resolved (a caption that is a symlink to another file of the
    dataset stays a link when written through it); it is only guaranteed to resolve inside.
    """
    clean = clean_relative(rel, source=source)
    full = os.path.join(os.path.abspath(root), clean)
    if not is_inside(root, full):
        raise UnsafePath(rel, "goes through a symlink that leads outside the folder", source)
    return Path(full)


def owned_path(root: str | os.PathLike, rel: str, *, source: str | os.PathLike | None = None) -> Path:
    """A path of loratui's own state below ``root`` (``.loratui/cache/x.json``): ``resolve_inside``,
    and no existing component below the root may be a symlink or a non-folder on the way, since
    loratui never creates links there (a planted one would send its writes or deletes elsewhere)."""
    clean = clean_relative(rel, source=source)
    base = os.path.abspath(root)
    p = base
    parts = clean.split("/")
    for i, part in enumerate(parts):
        p = os.path.join(p, part)
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            break
        except OSError as e:
            raise UnsafePath(rel, f"cannot be checked ({e.strerror})", source) from None
        if stat_mod.S_ISLNK(st.st_mode):
            raise UnsafePath(os.path.relpath(p, base), "is a symlink in loratui's state folder; not followed",
                             source)
        if i < len(parts) - 1 and not stat_mod.S_ISDIR(st.st_mode):
            raise UnsafePath(os.path.relpath(p, base), "is not a folder", source)
    return Path(os.path.join(base, clean))


def check_inside(root: str | os.PathLike, path: str | os.PathLike, *,
                 source: str | os.PathLike | None = None) -> Path:
    """Check that an absolute (or cwd-relative) ``path`` stays inside ``root``; raises UnsafePath."""
    p = os.fspath(path)
    if not isinstance(p, str) or "\x00" in p:
        raise UnsafePath(path, "contains a NUL byte" if isinstance(p, str) else "not a text path", source)
    if not is_inside(root, os.path.abspath(p)):
        raise UnsafePath(path, f"outside {os.fspath(root)}", source)
    return Path(os.path.abspath(p))


def check_component(name: object, *, what: str = "name", max_len: int = 100,
                    source: str | os.PathLike | None = None) -> str:
    """Check a name that becomes one path component (a run name, a file stem).

    Refuses separators, ``..``, NUL, a leading dot (hidden files, ``.``/``..``), control
    characters, and more than ``max_len`` characters. Returns the name unchanged.
    """
    if not isinstance(name, str):
        raise UnsafePath(name, f"the {what} must be text", source)
    if not name or not name.strip():
        raise UnsafePath(name, f"the {what} is empty", source)
    if "\x00" in name:
        raise UnsafePath(name, f"the {what} contains a NUL byte", source)
    if "/" in name or "\\" in name:
        raise UnsafePath(name, f"the {what} must be a plain name, without `/` or `\\`", source)
    if name.startswith("."):
        raise UnsafePath(name, f"the {what} must not start with a dot", source)
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise UnsafePath(name, f"the {what} contains a control character", source)
    if len(name) > max_len:
        raise UnsafePath(name, f"the {what} is {len(name):,} characters long; at most {max_len}", source)
    return name
