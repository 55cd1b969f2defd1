"""Decode and resize images in a thread pool while the model runs on the previous batch.

Pillow releases the GIL while decoding and resizing, and onnxruntime while running, so threads
overlap both without the cost of sending arrays between processes.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from .preprocessing import MAX_PIXELS, ImageSkipped, load_image


def default_workers() -> int:
    return max(1, min(16, os.cpu_count() or 1))


def predict(paths: Iterable[tuple[int, str]], run_batch: Callable[[np.ndarray], np.ndarray], size: int,
            batch_size: int, workers: int | None = None, cancel: threading.Event | None = None,
            max_pixels: int = MAX_PIXELS, fast: bool = False) -> Iterator[tuple[list[tuple[int, np.ndarray]], list[tuple[int, str]]]]:
    """Yield, per batch, ``([(key, probs)], [(key, why skipped)])`` in input order.

    ``paths`` gives (key, absolute path). Decoding runs ahead by a few batches; bad images are
    reported, not raised. Stops early (without error) when ``cancel`` is set.
    """
    workers = workers or default_workers()
    ahead = max(2 * batch_size, 2 * workers)
    it = iter(paths)
    pending: deque[tuple[int, Future]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tagger-decode") as pool:
        def fill() -> None:
            while len(pending) < ahead + batch_size:
                try:
                    key, path = next(it)
                except StopIteration:
                    return
                pending.append((key, pool.submit(load_image, path, size, max_pixels, fast)))

        try:
            fill()
            while pending:
                if cancel is not None and cancel.is_set():
                    return
                keys: list[int] = []
                arrays: list[np.ndarray] = []
                skipped: list[tuple[int, str]] = []
                while pending and len(arrays) < batch_size:
                    key, fut = pending.popleft()
                    try:
                        arrays.append(fut.result())
                        keys.append(key)
                    except ImageSkipped as e:
                        skipped.append((key, str(e)))
                    except Exception as e:  # a decoder bug must not end a 100k-image run
                        skipped.append((key, f"cannot decode: {type(e).__name__}: {e}"))
                    fill()
                done: list[tuple[int, np.ndarray]] = []
                if arrays:
                    probs = run_batch(np.stack(arrays))
                    done = list(zip(keys, probs))
                yield done, skipped
        finally:
            for _, fut in pending:
                fut.cancel()
