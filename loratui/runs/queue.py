"""The run queue: queued runs start one after another, one at a time per slot.

A slot is the run's GPU (``gpu`` in ``run.json``; empty = the default slot), so runs queued for
different GPUs train side by side and runs for the same GPU wait for each other. There is no
daemon: whoever sees a free slot starts the next run (the supervisor of a run that just ended,
``loratui runs``, the TUI's runs list), under a lock so a run never starts twice.
"""

from __future__ import annotations

import os

from . import layout as L
from .launch import file_lock, spawn
from .state import LIVE, run_status


def queued_runs(root: str) -> list[str]:
    out = []
    for d in L.list_run_dirs(root):
        q = L.read_json(os.path.join(d, L.QUEUED))
        if q is not None:
            out.append((float(q.get("t", 0)), d))
    return [d for _, d in sorted(out)]


def kick(root: str, ending: str | None = None) -> list[str]:
    """Start queued runs whose slot is free; returns the run folders started. ``ending``: the run
    whose supervisor is calling (its worker is done, though the supervisor still lives)."""
    started = []
    with file_lock(os.path.join(root, ".queue.lock")):
        statuses = [run_status(d) for d in L.list_run_dirs(root)]
        busy = {s.slot for s in statuses if s.state in LIVE and s.run_dir != ending}
        for s in sorted((s for s in statuses if s.state == "queued"),
                        key=lambda s: float((L.read_json(os.path.join(s.run_dir, L.QUEUED), {}) or {}).get("t", 0))):
            if s.slot in busy:
                continue
            q = L.read_json(os.path.join(s.run_dir, L.QUEUED), {}) or {}
            spawn(s.run_dir, fresh=bool(q.get("fresh")))
            busy.add(s.slot)
            started.append(s.run_dir)
    return started


def dequeue(run_dir: str) -> bool:
    path = os.path.join(run_dir, L.QUEUED)
    if not os.path.exists(path):
        return False
    os.unlink(path)
    rec_path = os.path.join(run_dir, L.RECORD)
    rec = L.read_json(rec_path, {}) or {}
    rec["cancelled"] = __import__("time").time()
    L.write_json(rec_path, rec)
    return True
