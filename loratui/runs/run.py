"""``Run``: a handle on one run folder (state, progress, stop, checkpoint, resume, clone)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from . import layout as L


@dataclass(frozen=True)
class Run:
    dir: str

    @property
    def name(self) -> str:
        return os.path.basename(self.dir)

    @property
    def events_path(self) -> str:
        return os.path.join(self.dir, L.EVENTS)

    @property
    def log_path(self) -> str:
        return os.path.join(self.dir, L.LOG)

    def status(self):
        from .state import run_status

        return run_status(self.dir)

    def progress(self):
        """Every event so far, folded (reads the whole log)."""
        from .follow import EventFollower
        from .progress import RunProgress

        f = EventFollower(self.events_path)
        p = RunProgress()
        while True:
            evs, _ = f.poll()
            p.apply_all(evs)
            if not f.more:
                return p

    def stop(self, **kw):
        from .control import stop

        return stop(self.dir, **kw)

    def save_now(self) -> None:
        from .control import save_now

        save_now(self.dir)

    def resume(self, queue: bool = False, fresh: bool = False) -> "Run":
        """Start a stopped/crashed/failed (or never started) run again; the worker continues
        from ``state/checkpoint.pt`` when there is one."""
        from .launch import start
        from .state import RESUMABLE

        st = self.status()
        if st.state not in RESUMABLE:
            raise L.RunError(f"{self.name} is {st.state}; only a stopped, crashed or failed run can be resumed")
        start(self.dir, queue=queue, fresh=fresh)
        return self

    def clone(self, runs_root: str | None = None, name: str | None = None) -> "Run":
        from .launch import clone

        return Run(clone(self.dir, runs_root, name=name))
