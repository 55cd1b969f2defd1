"""Detached training runs: launch, follow, stop, resume, queue. Plain Python (no Textual, no torch).

::

    run = launch("char.toml")                 # detached; survives the terminal/SSH session
    run = launch(cfg, runs_root, queue=True)  # starts when its GPU slot is free
    run.status().state                        # queued|starting|running|finished|stopped|failed|crashed|created
    run.stop()                                # stop file -> SIGINT -> SIGKILL; says which
    run.save_now(); run.resume(); run.clone()
    RunProgress().apply_all(events)           # what the monitor shows

The folder layout is documented in ``loratui.runs.layout``; states in ``loratui.runs.state``.
"""

from .control import StopResult, save_now, stop
from .follow import EventFollower, LineFollower, tail_lines
from .launch import clone, create_run, launch, start
from .layout import RunError, default_runs_root, find_run, known_roots, list_run_dirs, roots_for, runs_root
from .progress import RunProgress, describe, fmt_duration
from .queue import dequeue, kick
from .run import Run
from .state import ACTIVE, LIVE, RESUMABLE, RunStatus, active_runs, all_statuses, run_status

__all__ = [
    "ACTIVE", "LIVE", "active_runs", "EventFollower", "LineFollower", "RESUMABLE", "Run", "RunError", "RunProgress", "RunStatus",
    "StopResult", "all_statuses", "clone", "create_run", "default_runs_root", "describe", "dequeue",
    "find_run", "fmt_duration", "kick", "known_roots", "launch", "list_run_dirs", "roots_for", "run_status", "runs_root",
    "save_now", "start", "stop", "tail_lines",
]
