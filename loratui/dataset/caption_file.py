"""Reading caption files without guessing wrong, and writing them without ever losing one.

Writes are atomic (a temporary file in the same folder, then ``os.replace``), keep the file's
permission bits, go through symlinks to the real file, and are refused when the file changed on
disk since loratui read it.
"""

from __future__ import annotations

import codecs
import errno
import os
import stat as stat_mod
from dataclasses import dataclass

TMP_MARKER = ".loratui-tmp-"

Fingerprint = tuple[int, int]
"""(mtime_ns, size) of a file as last read or written by loratui."""


class CaptionError(Exception):
    """A caption file that cannot be read or written; ``kind`` is a short machine-readable key."""

    def __init__(self, path: str, kind: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.kind = kind
        self.message = message


@dataclass(slots=True)
class CaptionText:
    text: str
    encoding: str
    """``utf-8``, ``utf-8-sig`` (UTF-8 with BOM) or ``utf-16``: written back the same way."""
    fingerprint: Fingerprint
    ident: tuple[int, int] = (0, 0)
    """(inode, ctime_ns) of the file as read: with the fingerprint, the scan snapshot's stat key."""
    digest: bytes = b""
    """Hash of the bytes read (only when asked for: ``read_caption(..., digest=True)``)."""


def content_digest(data: bytes) -> bytes:
    import hashlib

    return hashlib.blake2b(data, digest_size=16).digest()


def decode_caption(data: bytes, path: str = "") -> tuple[str, str]:
    """Decode caption bytes; return (text, encoding). Refuses what it cannot decode for sure."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as e:
            raise _not_utf8(path, data, e) from None
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise CaptionError(path, "encoding", "starts with a UTF-16 byte-order mark but is not valid UTF-16; "
                               "loratui will not edit it. Re-save it as UTF-8.") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as e:
        raise _not_utf8(path, data, e) from None


def _not_utf8(path: str, data: bytes, e: UnicodeDecodeError) -> CaptionError:
    guess = ""
    for enc, label in (("cp1252", "Windows-1252"), ("shift_jis", "Shift-JIS"), ("gbk", "GBK")):
        try:
            data.decode(enc)
        except UnicodeDecodeError:
            continue
        guess = f" (it may be {label}: `iconv -f {enc} -t utf-8`)"
        break
    return CaptionError(
        path, "encoding",
        f"not valid UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start}); loratui reads it as "
        f"unreadable and will not edit it. Convert it to UTF-8{guess} and refresh.")


def encode_caption(text: str, encoding: str) -> bytes:
    if encoding == "utf-8-sig":
        return codecs.BOM_UTF8 + text.encode("utf-8")
    if encoding == "utf-16":
        return text.encode("utf-16")
    return text.encode("utf-8")


READ_ONLY_MESSAGE = "is read-only; make it writable (chmod u+w) to edit it"


def _read_only(st: os.stat_result, real: str) -> bool:
    return not st.st_mode & stat_mod.S_IWUSR or (st.st_uid != _EUID and not os.access(real, os.W_OK))


def read_only_reason(path: str) -> str | None:
    """Why writing would refuse this existing caption file (the same rule as the write), or None.
    For previews: a bulk edit lists these files as refused before anything is applied."""
    try:
        real = os.path.realpath(path)
        st = os.stat(real)
    except OSError:
        return None  # missing or unreadable: the write itself says what happened
    return READ_ONLY_MESSAGE if _read_only(st, real) else None


def read_caption(path: str, digest: bool = False, follow: bool = True) -> CaptionText:
    """Read and decode one caption file. Raises CaptionError (unreadable, encoding, missing).
    ``digest=True`` also hashes the bytes, so a later write can check the file still holds them.
    ``follow=False``: a symlink is not read but raises CaptionError(kind="symlink"), so that a
    caller who must vet links learns it from the same open, without an lstat of its own."""
    try:
        # non-blocking: a FIFO put where a caption was is refused below, instead of waiting forever
        # for a writer (regular files ignore the flag)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW))
    except FileNotFoundError:
        raise CaptionError(path, "missing", "does not exist (deleted, or a broken symlink)") from None
    except PermissionError:
        raise CaptionError(path, "unreadable", "cannot be read (permission denied); fix its permissions") from None
    except OSError as e:
        if not follow and e.errno == errno.ELOOP:  # O_NOFOLLOW met a link (or the folders loop)
            raise CaptionError(path, "symlink", "is a symlink") from None
        raise CaptionError(path, "unreadable", f"cannot be read ({e.strerror})") from None
    try:
        st = os.fstat(fd)
        if stat_mod.S_ISDIR(st.st_mode):
            raise CaptionError(path, "unreadable", "is a folder, not a caption file; rename or remove it")
        if not stat_mod.S_ISREG(st.st_mode):
            raise CaptionError(path, "unreadable", "is not a regular file")
        want = st.st_size + 1
        data = os.read(fd, want)
        if len(data) == want:  # grew since fstat: read the rest
            chunks = [data]
            while b := os.read(fd, 1 << 16):
                chunks.append(b)
            data = b"".join(chunks)
    except OSError as e:
        raise CaptionError(path, "unreadable", f"cannot be read ({e.strerror})") from None
    finally:
        os.close(fd)
    return caption_text(path, data, (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns), digest)


def caption_text(path: str, data: bytes, stat: tuple[int, int, int, int], digest: bool = False) -> CaptionText:
    """The caption in ``data``, the bytes read from ``path`` (``stat``: its mtime_ns, size, inode
    and ctime_ns when read). Raises CaptionError for bytes that do not decode for sure."""
    text, enc = decode_caption(data, path)
    return CaptionText(text, enc, (stat[0], stat[1]), (stat[2], stat[3]), content_digest(data) if digest else b"")


def fingerprint(path: str) -> Fingerprint | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size)


def atomic_write(path: str, data: bytes, expect: Fingerprint | None, create: bool = False,
                 expect_digest: bytes | None = None, follow: bool = True) -> Fingerprint:
    """Replace ``path`` with ``data`` atomically; return the new fingerprint.

    ``expect`` is the fingerprint loratui last saw: if the file on disk differs, nothing is written
    and CaptionError(kind="changed") is raised. ``create=True`` means the file must not exist yet.
    ``expect_digest``: the hash of the bytes loratui read (``read_caption(..., digest=True)``); the
    file is re-read and compared, so a rewrite that kept the size and restored the mtime is caught.
    ``follow=False``: the caller read a regular file here (not a symlink it vetted); a symlink
    found in its place is refused, never written through.

    Outside writers: the file is kept open from the content check to the replace; right before
    ``os.replace`` its own fstat (in-place writes) and the path's inode (a writer's rename) are
    checked again. What remains is the few microseconds between that last check and the rename.
    """
    try:
        st = os.lstat(path)
        real = path
        if stat_mod.S_ISLNK(st.st_mode):  # write through the link: it stays a link
            if not follow:
                raise CaptionError(path, "changed", "was replaced by a symlink since loratui read it; not written")
            real = os.path.realpath(path)
            st = os.stat(real)
    except FileNotFoundError:
        st = None
        real = os.path.realpath(path)
    umask = _umask()
    if create:
        if st is not None:
            if stat_mod.S_ISDIR(st.st_mode):
                raise CaptionError(path, "unreadable", "is a folder, not a caption file; rename or remove it")
            raise CaptionError(path, "changed", "was created outside loratui since it was read; reloaded, not overwritten")
        mode = 0o644 & ~umask  # loratui.fileio.FILE_MODE: a new caption is never group/world-writable
    else:
        if st is None:
            raise CaptionError(path, "changed", "was deleted outside loratui since it was read; not recreated")
        if expect is not None and (st.st_mtime_ns, st.st_size) != tuple(expect):
            raise CaptionError(path, "changed", "changed outside loratui since it was read; reloaded, not overwritten")
        # replacing a file needs only a writable folder: check the file's own permission ourselves
        if _read_only(st, real):
            raise CaptionError(path, "read-only", READ_ONLY_MESSAGE)
        mode = stat_mod.S_IMODE(st.st_mode)
    held = _hold_unchanged(path, real, expect, expect_digest, follow) \
        if not create and expect_digest is not None else None
    try:
        return _write_replace(path, real, data, mode, umask, held)
    finally:
        if held is not None:
            os.close(held[0])


def _hold_unchanged(path: str, real: str, expect: Fingerprint | None, digest: bytes, follow: bool = True):
    """Open the file about to be replaced and check it still holds the bytes loratui read; the
    open descriptor lets ``_write_replace`` re-check it right before the rename."""
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW))
    except FileNotFoundError:
        raise CaptionError(path, "changed", "was deleted outside loratui since it was read; not recreated") from None
    except OSError as e:
        if not follow and e.errno == errno.ELOOP:
            raise CaptionError(path, "changed", "was replaced by a symlink since loratui read it; not written") from None
        raise CaptionError(path, "unreadable", f"cannot be read ({e.strerror})") from None
    try:
        st = os.fstat(fd)
        chunks = []
        while b := os.read(fd, 1 << 16):
            chunks.append(b)
        same = (expect is None or (st.st_mtime_ns, st.st_size) == tuple(expect)) and \
            content_digest(b"".join(chunks)) == digest
    except OSError as e:
        os.close(fd)
        raise CaptionError(path, "unreadable", f"cannot be read ({e.strerror})") from None
    if not same:
        os.close(fd)
        raise CaptionError(path, "changed", "changed outside loratui since it was read (its text differs); "
                           "reloaded, not overwritten")
    return fd, st


def _write_replace(path: str, real: str, data: bytes, mode: int, umask: int, held) -> Fingerprint:
    folder, name = os.path.split(real)
    tmp = os.path.join(folder, f".{name}{TMP_MARKER}{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode & 0o777)
    except PermissionError:
        raise CaptionError(path, "read-only", "its folder is not writable; loratui writes a temporary file beside it") from None
    except OSError as e:
        raise CaptionError(path, "write-failed", f"cannot be written ({e.strerror})") from None
    try:
        try:
            if mode & ~umask != mode:  # bits the umask took away at creation
                os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            st_new = os.fstat(fd)
        finally:
            os.close(fd)
        if held is not None:
            # last check, as late as possible: written in place (same inode) or renamed over?
            now = os.fstat(held[0])
            try:
                cur = os.stat(real)
            except FileNotFoundError:
                cur = None
            was = held[1]
            if (now.st_mtime_ns, now.st_size) != (was.st_mtime_ns, was.st_size) or cur is None or \
                    (cur.st_dev, cur.st_ino) != (was.st_dev, was.st_ino):
                os.unlink(tmp)
                raise CaptionError(path, "changed", "was written outside loratui during this edit; "
                                   "reloaded, not overwritten")
        os.replace(tmp, real)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise CaptionError(path, "write-failed", f"cannot be written ({e.strerror}); the old file is untouched") from None
    return (st_new.st_mtime_ns, st_new.st_size)


def remove_file(path: str, expect: Fingerprint | None) -> None:
    """Delete a caption file loratui created, unless it changed since."""
    st = fingerprint(path)
    if st is None:
        return
    if expect is not None and st != tuple(expect):
        raise CaptionError(path, "changed", "changed outside loratui since it was written; not removed")
    os.unlink(path)


_UMASK: int | None = None
_EUID = os.geteuid()


def write_many(jobs: list[tuple]) -> list[Fingerprint | CaptionError]:
    """``atomic_write`` for many files: (path, data, expect, create[, expect_digest[, follow]]) each;
    results in order.

    Large batches are written from a few threads: the system calls release the GIL and file
    creation dominates a bulk edit, so overlapping them pays even on two cores.
    """

    def one(job):
        try:
            return atomic_write(job[0], job[1], job[2], create=job[3],
                                expect_digest=job[4] if len(job) > 4 else None,
                                follow=job[5] if len(job) > 5 else True)
        except CaptionError as e:
            return e

    def chunk(part):
        return [one(j) for j in part]

    if len(jobs) < 256:
        return chunk(jobs)
    from concurrent.futures import ThreadPoolExecutor

    n = 8
    size = (len(jobs) + n - 1) // n
    parts = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    with ThreadPoolExecutor(max_workers=len(parts), thread_name_prefix="loratui-write") as ex:
        results = list(ex.map(chunk, parts))
    return [r for part in results for r in part]


def _umask() -> int:
    global _UMASK
    if _UMASK is None:
        # os.umask can only be read by setting it; do it once.
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return _UMASK
