"""The worker's event log: ``RUN_DIR/events.jsonl``, append-only JSON lines, one flushed line per event.

Readers (the monitor, ``loratui train``) tail the file by byte offset; a line is complete once it
ends with ``\\n``. Only the main process writes (multi-GPU runs: rank 0).

Every event has ``v`` (schema version, 1), ``t`` (unix time, float seconds) and ``type``.
Types and their extra fields:

- ``start``: ``pid``, ``run_dir``, ``spec`` (the resolved TrainSpec as a dict), ``versions``
  ({torch, diffusers, ...} once known), ``resume`` (bool: a checkpoint will be resumed),
  ``stack_signal`` ("SIGUSR1": the worker dumps its threads' stacks into ``stacks.txt`` on it; or null)
- ``dataset``: ``images`` (usable images), ``skipped`` (unusable images), ``subsets``
  ([{path, repeats, images}]), ``buckets`` ([{w, h, images}]), ``num_train_images`` (with repeats),
  ``batches_per_epoch``, ``steps_per_epoch`` (optimizer updates), ``total_steps``, ``epochs``
- ``warning``: ``message``, optional ``path``
- ``model_loaded``: ``base_model``, ``kind`` ("diffusers" | "single_file"), ``v_parameterization``,
  ``device``, ``dtype``, ``seconds``, ``cpu_threads`` (torch CPU threads), ``cpu_threads_from``
  (why that many: the setting, ``OMP_NUM_THREADS`` or the cores available)
- ``network``: ``network`` ("lora" | "locon"), ``unet_modules``, ``te_modules``, ``trainable_params``
- ``caching``: ``done``, ``total``, ``from_disk`` (latents read from the disk cache)
- ``resumed``: ``step``, ``epoch``, ``batch`` (next batch index inside ``epoch``), ``path``
- ``step``: ``step`` (optimizer updates done, 1-based), ``total_steps``, ``epoch`` (1-based),
  ``loss`` (this update), ``loss_avg`` (running mean over the epoch), ``lr`` ({"unet": x, "te": y}),
  ``it_s`` (updates/s), ``samples_s`` (images/s), ``eta_s`` (seconds left)
- ``epoch_end``: ``epoch``, ``step``, ``loss_avg``
- ``validation_set``: ``images`` (paths held out for the validation loss, never trained on),
  ``timesteps`` (the fixed timesteps every held-out image is evaluated at)
- ``validation``: ``step``, ``epoch``, ``loss`` (mean over the held-out images, fixed noise and
  timesteps, network in eval mode: comparable across evaluations and resumes), ``images``
  ([{path, loss}]), ``seconds``
- ``image_losses``: ``step``, ``epoch``, ``images`` ([{path, loss, n}] hardest first: each training
  image's loss averaged over its last ``n`` appearances); at each epoch end and on a stop
- ``saved``: ``path`` (a LoRA .safetensors), ``epoch``, ``step``, ``final`` (bool); ``ema: false`` on the
  raw-weights file written beside an EMA output (``output.save_raw_with_ema``)
- ``pruned``: ``path``, ``epoch`` (an older per-epoch file removed because of ``keep_last``)
- ``checkpoint``: ``path`` (resumable state folder), ``step``, ``epoch``
- ``sample``: ``path`` (PNG), ``prompt``, ``strength``, ``epoch``, ``step``, ``params``
- ``error``: ``message`` (one line for humans), ``traceback`` (may be empty), optional ``path``;
  a non-finite loss adds ``kind: "nan"``, ``step`` (the update that failed), ``what`` ("loss" |
  "gradient norm"), ``value`` and ``checkpoint`` (the weights from before it, or null)
- ``stopped``: ``step``, ``epoch``, ``reason`` ("stop_file" | "SIGINT" | "SIGTERM"), ``checkpoint``
- ``finished``: ``step``, ``epoch``, ``path`` (final LoRA), ``seconds``; ``already: true`` when the
  worker was started on a run that had finished before (nothing was trained)

Terminal events: exactly one of ``finished``, ``stopped`` or ``error`` ends a worker's log section
(a resumed run appends a new ``start``). Worker exit codes: 0 finished, 1 error, 3 stopped.
"""

from __future__ import annotations

import json
import os
import time

SCHEMA_VERSION = 1
EVENTS_FILE = "events.jsonl"


class EventLog:
    """Appends events to a file (or nowhere when ``path`` is None, e.g. non-main processes)."""

    def __init__(self, path: str | None, echo=None):
        self.path = path
        self.echo = echo
        """Optional callable(event dict) also told of every event (foreground CLI)."""
        self._f = None
        if path is not None:
            os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o755, exist_ok=True)
            self._f = open(path, "a", encoding="utf-8")

    def emit(self, type_: str, /, **fields) -> dict:
        ev = {"v": SCHEMA_VERSION, "t": round(time.time(), 3), "type": type_, **fields}
        if self._f is not None:
            self._f.write(json.dumps(ev, ensure_ascii=False, default=str) + "\n")
            self._f.flush()
        if self.echo is not None:
            self.echo(ev)
        return ev

    def warning(self, message: str, path: str | None = None) -> dict:
        return self.emit("warning", message=message, **({"path": path} if path else {}))

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


def read_events(path: str) -> list[dict]:
    """All complete events of a log (a trailing partial line is ignored)."""
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.endswith("\n") and line.strip():
                    out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out
