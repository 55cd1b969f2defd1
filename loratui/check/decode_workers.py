"""Decoding images in worker processes that loratui starts itself.

The check decodes every image once (``image_facts.decode_facts``): Pillow's C code with Python
around it, which threads share under one GIL. Worker processes do not share it. They are plain
``python -I -c`` children given this process's ``sys.path``, reading image paths as JSON lines on
stdin and writing facts as JSON lines on stdout, their stderr sent to /dev/null, rather than
``multiprocessing``: under the TUI, Textual holds the terminal and stands in for ``sys.stderr`` with
no file descriptor, which multiprocessing's spawn cannot start from, and a spawned child would
inherit the terminal and import the program's main module again.

Paths are dealt to the workers in turn (``paths[k::n]``), so both get a mix of large and small
files. A worker that cannot start or dies leaves ``None`` for what it did not answer: the caller
decodes those itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable

from loratui.helper_process import end_helper

Facts = tuple[int, int, int | None, str]
"""(width, height, dhash, error), as ``decode_facts`` returns them"""

_WORKER = r"""
import json, sys, warnings
sys.path[:0] = json.loads(sys.argv[1])
warnings.simplefilter("ignore")  # Pillow warns about odd but readable files: noise here
from loratui.check.image_facts import decode_facts
out = sys.stdout
for line in sys.stdin:
    out.write(json.dumps(decode_facts(json.loads(line))) + "\n")
out.flush()
"""


def decode_in_workers(paths: list[str], n: int,
                      progress: Callable[[int], object] | None = None) -> list[Facts | None]:
    """``decode_facts`` of each path, in order, in ``n`` worker processes; None for each path a
    worker did not answer (it could not start, or died). ``progress(done)`` is called from the
    collecting threads every 256 answers."""
    results: list[Facts | None] = [None] * len(paths)
    procs: list[subprocess.Popen] = []
    try:
        for _ in range(n):
            procs.append(subprocess.Popen(
                [sys.executable, "-I", "-c", _WORKER, json.dumps(sys.path)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                text=True, encoding="ascii", bufsize=1 << 16))
    except OSError:
        pass  # fewer workers (or none): what they would have answered stays None
    if not procs:
        return results
    n = len(procs)
    lock = threading.Lock()
    done = [0]

    def feed(k: int, proc: subprocess.Popen) -> None:
        try:
            assert proc.stdin is not None
            # ASCII JSON: any file name (a newline in it, bytes that are not UTF-8) is one line
            proc.stdin.writelines(json.dumps(p) + "\n" for p in paths[k::n])
            proc.stdin.close()
        except (OSError, ValueError):
            pass  # the worker died: its collector stops early

    def collect(k: int, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        try:
            for i, line in zip(range(k, len(paths), n), proc.stdout):
                w, h, dh, err = json.loads(line)
                results[i] = (int(w), int(h), None if dh is None else int(dh), str(err))
                with lock:
                    done[0] += 1
                    count = done[0]
                if progress is not None and count % 256 == 0:
                    progress(count)
        except (OSError, ValueError, TypeError):
            pass  # a worker cut off mid-line: the rest of its share stays None

    threads = [threading.Thread(target=f, args=(k, p), name=f"loratui-decode-{f.__name__}", daemon=True)
               for k, p in enumerate(procs) for f in (feed, collect)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for p in procs:
            end_helper(p)
    return results
