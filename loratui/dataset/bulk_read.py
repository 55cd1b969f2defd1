"""Reading many small files on a second core: a helper process does the system calls.

Opening a dataset for the first time reads every caption file: four system calls each (open,
fstat, read, close) and the Python around them, while parsing the text needs the interpreter too.
Threads cannot overlap the two (each system call hands the GIL back and waits for it again behind
the parser), so a child Python process, started with ``-I -S`` and nothing imported, reads the files
and streams ``(stat, bytes)`` back through a pipe in the order asked, while this process parses.

Only plain cases come back: a file that cannot be opened, is not a regular file or grew while it
was read comes back as "read it yourself" (``None``), and the caller reads it with
``read_caption``, which words the error. If the helper cannot start or dies, every file left is
"read it yourself": the result is the same, only slower.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from collections.abc import Generator, Sequence

from ..helper_process import end_helper

MIN_FILES = 5_000
"""Below this many files, starting the helper costs more than it saves."""

_HEADER = struct.Struct("<qqqqqq")
"""ok, size, mtime_ns, inode, ctime_ns, length of the bytes that follow"""

_CHILD = r"""
import os, stat, struct, sys
pack = struct.Struct("<qqqqqq").pack
out = sys.stdout.buffer
skip = pack(0, 0, 0, 0, 0, 0)
for p in sys.stdin.buffer.read().split(b"\0"):
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        out.write(skip)
        continue
    try:
        st = os.fstat(fd)
        data = os.read(fd, st.st_size + 1) if stat.S_ISREG(st.st_mode) else None
    except OSError:
        data = None
    finally:
        os.close(fd)
    if data is None or len(data) > st.st_size:
        out.write(skip)
        continue
    out.write(pack(1, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns, len(data)))
    out.write(data)
out.flush()
"""

Stat = tuple[int, int, int, int]
"""(mtime_ns, size, inode, ctime_ns) of a file as read"""


def read_many(paths: Sequence[str]) -> Generator[tuple[bytes, Stat] | None, None, None]:
    """For each path in order: ``(its bytes, its stat)``, or None where the caller must read it
    itself. Reads in a helper process when there are at least ``MIN_FILES`` paths."""
    if len(paths) < MIN_FILES:
        yield from (None for _ in paths)
        return
    try:
        proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", _CHILD], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=1 << 20)
    except OSError:
        yield from (None for _ in paths)
        return
    done = 0
    try:
        import threading

        def feed() -> None:
            # from a thread: the pipe takes 64 KB at a time, and the helper answers while it reads
            try:
                assert proc.stdin is not None
                proc.stdin.write(b"\0".join(map(os.fsencode, paths)))
                proc.stdin.close()
            except (OSError, ValueError):
                pass
        feeder = threading.Thread(target=feed, name="loratui-read-feed", daemon=True)
        feeder.start()
        out = proc.stdout
        assert out is not None
        read, unpack, size = out.read, _HEADER.unpack, _HEADER.size
        for _ in paths:
            head = read(size)
            if len(head) < size:
                break  # the helper died: the caller reads what is left
            ok, n, mtime, ino, ctime, length = unpack(head)
            if not ok:
                done += 1
                yield None
                continue
            data = read(length)
            if len(data) < length:
                break
            done += 1
            yield data, (mtime, n, ino, ctime)
        feeder.join()
    finally:
        end_helper(proc)
    yield from (None for _ in range(len(paths) - done))
