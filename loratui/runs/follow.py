"""Tailing a growing file by byte offset: complete lines only, partial lines kept for later,
truncation and replacement detected (the reader starts over and says so).

``LineFollower.poll()`` never blocks and reads at most ``max_bytes`` per call, so a huge backlog
is consumed in bounded slices (the caller loops while ``more`` is true).
"""

from __future__ import annotations

import json
import os


class LineFollower:
    def __init__(self, path: str, offset: int = 0, max_bytes: int = 4 << 20):
        self.path = path
        self.offset = offset
        self.max_bytes = max_bytes
        self._partial = b""
        self._ino: int | None = None
        self.resets = 0
        """How many times the file shrank or was replaced (the reader then starts at 0)."""
        self.more = False
        """The last poll stopped at ``max_bytes`` with data left."""

    def poll(self) -> tuple[list[str], bool]:
        """(new complete lines, reset) where ``reset`` means: forget what was read before."""
        try:
            st = os.stat(self.path)
        except OSError:
            self.more = False
            return [], False
        reset = False
        if (self._ino is not None and st.st_ino != self._ino) or st.st_size < self.offset:
            self.offset, self._partial, reset = 0, b"", True
            self.resets += 1
        self._ino = st.st_ino
        if st.st_size == self.offset:
            self.more = False
            return [], reset
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read(self.max_bytes)
        except OSError:
            return [], reset
        self.offset += len(data)
        self.more = self.offset < st.st_size
        data = self._partial + data
        cut = data.rfind(b"\n")
        if cut < 0:
            self._partial = data
            return [], reset
        self._partial = data[cut + 1:]
        return [ln.decode("utf-8", "replace") for ln in data[:cut].split(b"\n")], reset


class EventFollower:
    """JSON-lines events; a garbled line becomes ``{"type": "garbled", "raw": ...}``."""

    def __init__(self, path: str, **kw):
        self.lines = LineFollower(path, **kw)

    @property
    def more(self) -> bool:
        return self.lines.more

    def poll(self) -> tuple[list[dict], bool]:
        lines, reset = self.lines.poll()
        out = []
        for ln in lines:
            if not ln.strip():
                continue
            try:
                ev = json.loads(ln)
                if not isinstance(ev, dict):
                    raise ValueError
            except ValueError:
                ev = {"type": "garbled", "raw": ln[:300]}
            out.append(ev)
        return out, reset


def tail_lines(path: str, n: int = 20, max_bytes: int = 64 << 10) -> list[str]:
    """The last ``n`` lines of a text file (reads at most ``max_bytes`` from the end)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except OSError:
        return []
    lines = data.decode("utf-8", "replace").splitlines()
    if size > max_bytes and lines:
        lines = lines[1:]  # the first one is probably cut
    return lines[-n:]


def last_events(path: str, max_bytes: int = 256 << 10) -> list[dict]:
    """The complete events in the last ``max_bytes`` of a log (cheap summaries of long runs)."""
    out = []
    for ln in tail_lines(path, n=10**9, max_bytes=max_bytes):
        try:
            ev = json.loads(ln)
        except ValueError:
            continue
        if isinstance(ev, dict):
            out.append(ev)
    return out
