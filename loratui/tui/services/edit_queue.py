"""One writer thread that applies edits in the order they were made.

Why not one Textual worker per edit: thread workers may start in any order, and two caption edits
typed quickly must land on disk in the order typed. The UI never waits on this thread (except at
quit, for edits still pending); results come back as ``EditDone`` messages, posted to whoever asked
(``reply_to``: a screen) and bubbling up to the app, or to the app when the asker is gone.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from loratui.tui.messages import EditDone, EditOutcome

if TYPE_CHECKING:
    from textual.message_pump import MessagePump

    from loratui.dataset import Dataset


class EditQueue:
    def __init__(self, post: Callable[[EditDone], object], dataset_getter: Callable[[], Dataset | None]):
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

    def submit(self, label: str, fn: Callable[[], object], *, refilter: bool = True, quiet: bool = False,
               reply_to: MessagePump | None = None) -> None:
        with self._lock:
            self._pending += 1
            self._idle.clear()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="loratui-writer", daemon=True)
                self._thread.start()
        self._jobs.put((label, fn, refilter, quiet, reply_to))

    def wait_idle(self, timeout: float | None = None) -> bool:
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while True:
            label, fn, refilter, quiet, reply_to = self._jobs.get()
            outcome = EditOutcome(label, refilter=refilter, quiet=quiet)
            t0 = time.perf_counter()
            try:
                outcome.result = fn()
            except Exception as e:  # reported to the user, never lost
                outcome.error = f"{label}: {e}"
            ds = self._dataset()
            if ds is not None:
                outcome.journal = ds.journal_position()
            outcome.extra["seconds"] = time.perf_counter() - t0
            with self._lock:
                self._pending -= 1
                if self._pending == 0:
                    self._idle.set()
            message = EditDone(outcome)
            # post_message is thread-safe; it returns False when the screen that asked has closed
            if reply_to is None or not reply_to.post_message(message):
                self._post(message)
