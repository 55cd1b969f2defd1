"""Writing a whole file so that readers see either the old one or the new one, never half.

Caption files have their own writer (``loratui.dataset.caption_file``: permissions, symlinks,
changed-outside checks); everything else loratui writes (configs, journal records, caches, run
records, LoRA files) goes through ``write_atomic``.
"""

from __future__ import annotations

import errno
import json
import os
import stat as stat_mod
import tempfile

FILE_MODE = 0o644
DIR_MODE = 0o755
"""The one rule for what loratui creates (LoRA files, samples, configs, journal, run records,
captions it creates): files 0644 and folders 0755, minus what the umask takes away. A umask of 000
never makes anything group- or world-writable; a stricter umask (077) is honoured. A file replaced
(a config saved again, a caption edited) keeps its own mode."""

_UMASK: int | None = None


def current_umask() -> int:
    global _UMASK
    if _UMASK is None:
        # os.umask can only be read by setting it; do it once.
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return _UMASK


def make_dirs(path: str) -> None:
    """``os.makedirs`` with the rule's mode for every folder it creates (``os.makedirs`` gives the
    mode to the last one only; the parents would get 0777 minus the umask)."""
    path = os.path.abspath(path)
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent != path:
        make_dirs(parent)
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        if not os.path.isdir(path):
            raise


class UntrustedFileError(ValueError):
    """A file loratui wrote earlier that no longer holds what it wrote (corrupt, crafted, huge)."""


def read_json_untrusted(path: str, max_bytes: int):
    """Read a JSON file loratui wrote earlier, distrusting it: a regular file only (not a symlink,
    not a FIFO that would block), at most ``max_bytes``, any nesting depth without a traceback.

    Raises FileNotFoundError, OSError (cannot read), or UntrustedFileError (content refused).
    """
    data = read_bytes_untrusted(path, max_bytes)
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise UntrustedFileError(f"{type(e).__name__}: {str(e)[:200]}") from None


def read_bytes_untrusted(path: str, max_bytes: int) -> bytes:
    """The bytes of a regular file (no symlink, FIFO or device), refused past ``max_bytes``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UntrustedFileError("it is a symlink; not followed") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat_mod.S_ISREG(st.st_mode):
            raise UntrustedFileError("not a regular file")
        if st.st_size > max_bytes:
            raise UntrustedFileError(f"{st.st_size:,} bytes, more than loratui ever writes there")
        chunks = []
        total = 0
        while b := os.read(fd, 1 << 20):
            total += len(b)
            if total > max_bytes:
                raise UntrustedFileError("grew past the size loratui ever writes there")
            chunks.append(b)
    finally:
        os.close(fd)
    return b"".join(chunks)


def write_atomic(path: str, data: bytes | str, *, fsync: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    ``fsync=True`` also flushes the data to disk before the rename (records that must survive a
    power loss: the edit journal, finished LoRA files). The folder is created if needed; on any
    error the temporary file is removed and the exception propagates.
    """
    folder = os.path.dirname(os.path.abspath(path))
    make_dirs(folder)
    try:
        mode = stat_mod.S_IMODE(os.stat(path).st_mode)  # a file replaced keeps its mode
    except OSError:
        mode = FILE_MODE & ~current_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, mode)  # mkstemp makes 0600: the rule below decides, not the temp file
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
