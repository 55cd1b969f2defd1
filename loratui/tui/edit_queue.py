"""One writer thread that applies edits in the order they were made.

Why not one Textual worker per edit: thread workers may start in any order, and two caption edits
typed quickly must land on disk in the order typed. The UI never waits on this thread (except at
quit, for edits still pending); results come back as ``EditDone`` messages.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

from .messages import EditDone, EditOutcome


def journal_position(ds) -> tuple[int, int]:
    """(applied, total) without loading every journal entry."""
    try:
        st = ds.journal.read_state()
        return st["position"], len(st["history"])
    except Exception:  # a broken journal must not break the status bar
        return (0, 0)


class EditQueue:
    def __init__(self, post: Callable[[EditDone], object], dataset_getter: Callable[[], object]):
        self._post = post
        self._dataset = dataset_getter
        self._jobs: queue.Queue = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None

    @property
    def pending(self) -> int:
        return self._pending

    def submit(self, label: str, fn: Callable[[], object], *, refilter: bool = True, quiet: bool = False) -> None:
        with self._lock:
            self._pending += 1
            self._idle.clear()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="loratui-writer", daemon=True)
                self._thread.start()
        self._jobs.put((label, fn, refilter, quiet))

    def wait_idle(self, timeout: float | None = None) -> bool:
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while True:
            label, fn, refilter, quiet = self._jobs.get()
            outcome = EditOutcome(label, refilter=refilter, quiet=quiet)
            t0 = time.perf_counter()
            try:
                outcome.result = fn()
            except Exception as e:  # reported to the user, never lost
                outcome.error = f"{label}: {e}"
            ds = self._dataset()
            if ds is not None:
                outcome.journal = journal_position(ds)
            outcome.extra["seconds"] = time.perf_counter() - t0
            with self._lock:
                self._pending -= 1
                if self._pending == 0:
                    self._idle.set()
            self._post(EditDone(outcome))
