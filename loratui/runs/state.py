"""A run's state, derived from its files and the process table, never from a stored flag.

- ``created``: a run folder (e.g. a clone) that was never started
- ``queued``: waiting in the queue (``queued`` file, not launched since it was queued)
- ``starting``: launched moments ago, the supervisor has not recorded itself yet
- ``running``: the supervisor or worker process recorded in ``process.json`` is alive (same host,
  same boot, same start time: a reused pid or a reboot never looks alive)
- ``stalled``: running, but the supervisor's watchdog recorded ``stall.json`` (no event for too
  long, ``loratui.runs.watchdog``) and no event came since; ``stall`` holds the diagnosis
- ``finished`` / ``stopped`` / ``failed``: the last worker section ended with ``finished`` /
  ``stopped`` / ``error`` (``failed``: the worker said why; the report is its error)
- ``crashed``: the processes are gone without a final event; the last lines of ``worker.log``
  (and how the process ended) are the report
- ``running`` on another host cannot be checked: it stays ``running`` while the event log keeps
  moving and becomes ``crashed`` after ``REMOTE_STALE_S`` without news
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field

from . import layout as L
from .follow import last_events, tail_lines
from .proc import alive

STARTING_GRACE_S = 30.0
REMOTE_STALE_S = 3600.0
REPORT_LINES = 30
ACTIVE = ("queued", "starting", "running", "stalled")
LIVE = ("starting", "running", "stalled")
"""States with a worker (or its supervisor) alive: what `stop` acts on, what holds a GPU slot."""
RESUMABLE = ("stopped", "crashed", "failed", "created")


@dataclass
class RunStatus:
    run_dir: str
    name: str
    state: str
    detail: str = ""
    report: list[str] = field(default_factory=list)
    stop_requested: bool = False
    remote_host: str = ""
    record: dict = field(default_factory=dict)
    process: dict = field(default_factory=dict)
    last: dict = field(default_factory=dict)
    """The latest ``step`` event (step, total_steps, epoch, loss, it_s, eta_s), if any."""
    epochs: int = 0
    exit: dict | None = None
    stall: dict = field(default_factory=dict)
    """The watchdog's diagnosis (``stall.json``) when ``state == "stalled"``."""

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def output_file(self) -> str:
        return self.record.get("output_file", "")

    @property
    def slot(self) -> str:
        return str(self.record.get("gpu") or "")

    @property
    def started(self) -> float:
        launches = self.record.get("launches") or []
        return float(launches[-1]["t"]) if launches else float(self.record.get("created", 0) or 0)


def describe_exit(ex: dict | None) -> str:
    if not ex:
        return ""
    if ex.get("signal"):
        try:
            name = signal.Signals(int(ex["signal"])).name
        except ValueError:
            name = f"signal {ex['signal']}"
        hint = " (out of memory? the kernel's OOM killer sends SIGKILL)" if name == "SIGKILL" and not ex.get("by_stop") else ""
        return f"the worker was killed by {name}{hint}"
    return f"the worker exited with status {ex.get('rc')}"


def run_status(run_dir: str, now: float | None = None) -> RunStatus:
    now = now or time.time()
    run_dir = os.path.abspath(run_dir)
    rec = L.read_json(os.path.join(run_dir, L.RECORD), {}) or {}
    proc = L.read_json(os.path.join(run_dir, L.PROCESS), {}) or {}
    ex = L.read_json(os.path.join(run_dir, L.EXIT))
    st = RunStatus(run_dir, os.path.basename(run_dir), "crashed", record=rec, process=proc, exit=ex)
    st.stop_requested = os.path.exists(os.path.join(run_dir, L.STOP))
    events_path = os.path.join(run_dir, L.EVENTS)
    tail = last_events(events_path, max_bytes=64 << 10)
    last_ev = tail[-1] if tail else None
    for ev in reversed(tail):
        if ev.get("type") == "step":
            st.last = ev
            break
    st.epochs = _epochs(run_dir, tail)
    launches = rec.get("launches") or []
    launched_t = float(launches[-1]["t"]) if launches else 0.0
    queued = L.read_json(os.path.join(run_dir, L.QUEUED))

    # a process record older than the last launch belongs to an earlier section
    current_proc = proc if proc and float(proc.get("started", 0)) >= launched_t - 1 else {}
    if queued is not None and float(queued.get("t", 0)) >= launched_t:
        st.state = "queued"
        st.detail = f"queued {time.strftime('%H:%M', time.localtime(float(queued.get('t', now))))}" + (
            f" for GPU {rec.get('gpu')}" if rec.get("gpu") not in (None, "") else "")
        return st

    live = [alive(current_proc.get(k)) for k in ("supervisor", "worker") if current_proc.get(k)]
    if any(v is True for v in live):
        st.state = "running"
        st.detail = "stopping" if st.stop_requested else ""
        _check_stall(st, run_dir, last_ev, launched_t, now)
        return st
    if any(v is None for v in live):  # recorded on another machine
        st.remote_host = (current_proc.get("supervisor") or {}).get("host", "?")
        age = now - _mtime(events_path, launched_t)
        if age < REMOTE_STALE_S:
            st.state = "running"
            st.detail = f"on {st.remote_host}"
            return st
        st.state = "crashed"
        st.detail = f"no news from {st.remote_host} for {int(age // 60)} min"
        st.report = tail_lines(os.path.join(run_dir, L.LOG), REPORT_LINES)
        return st

    terminal = last_ev if last_ev and last_ev.get("type") in ("finished", "stopped", "error") else None
    if terminal is not None and float(terminal.get("t", 0)) < launched_t - 1:
        terminal = None  # the outcome of an earlier section: this launch never got that far
    if terminal is not None:
        typ = terminal["type"]
        if typ == "finished":
            st.state, st.detail = "finished", os.path.basename(str(terminal.get("path", "")))
        elif typ == "stopped":
            st.state = "stopped"
            st.detail = f"at step {terminal.get('step')}" + ("" if terminal.get("checkpoint") else " (no checkpoint)")
        else:
            st.state, st.detail = "failed", str(terminal.get("message", ""))
            st.report = [str(terminal.get("message", ""))] + str(terminal.get("traceback", "") or "").splitlines()
        return st
    if not current_proc and launched_t and now - launched_t < STARTING_GRACE_S:
        st.state, st.detail = "starting", ""
        return st
    if not launches and not proc and rec.get("cancelled"):
        st.state, st.detail = "stopped", "removed from the queue before it started"
        return st
    if not launches and not proc and not tail:
        st.state, st.detail = "created", "not started yet"
        return st
    if not launches and not proc:
        # a folder with only an event log (foreground `loratui train`): judge by worker.pid
        st.state, st.detail = ("crashed", "no final event") if tail else ("crashed", "never started")
        pid = _read_pid(os.path.join(run_dir, L.WORKER_PID))
        if pid and alive({"pid": pid}) and now - _mtime(events_path, 0) < REMOTE_STALE_S:
            st.state, st.detail = "running", "foreground"
            return st
    cur_ex = ex if ex and float(ex.get("ended", 0)) >= launched_t - 1 else None
    if cur_ex and cur_ex.get("by_stop"):
        st.state = "stopped"
        st.detail = "killed by `loratui stop`; resumes from the last checkpoint"
        return st
    st.state = "crashed"
    st.detail = describe_exit(cur_ex) or "the worker vanished without a final event (reboot or kill)"
    st.report = [st.detail, ""] + tail_lines(os.path.join(run_dir, L.LOG), REPORT_LINES)
    return st


def _check_stall(st: RunStatus, run_dir: str, last_ev: dict | None, launched_t: float, now: float) -> None:
    from .watchdog import STALL_FILE

    stall = L.read_json(os.path.join(run_dir, STALL_FILE))
    if not isinstance(stall, dict):
        return
    try:
        since, t = float(stall.get("since", 0)), float(stall.get("t", 0))
        last_t = float((last_ev or {}).get("t", 0) or 0)
    except (TypeError, ValueError):
        return
    if t < launched_t - 1 or last_t > since + 1e-3:
        return  # an earlier section's stall, or progress since
    st.state, st.stall = "stalled", stall
    last = stall.get("last_event") or {}
    what = f"step {last.get('step')}" if last.get("type") == "step" else str(last.get("type") or "start")
    st.detail = f"no progress for {_minutes(now - since)} (last: {what})" + ("; stopping" if st.stop_requested else "")


def _minutes(s: float) -> str:
    return f"{s:.0f}s" if s < 120 else f"{s / 60:.0f} min"


def _mtime(path: str, default: float) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return default


def _read_pid(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _epochs(run_dir: str, tail: list[dict]) -> int:
    for ev in reversed(tail):
        if ev.get("type") == "dataset":
            return int(ev.get("epochs", 0) or 0)
    try:  # the dataset event comes early: read the head of the log
        with open(os.path.join(run_dir, L.EVENTS), "rb") as f:
            head = f.read(256 << 10).decode("utf-8", "replace").splitlines()
    except OSError:
        return 0
    import json

    for ln in head:
        if '"dataset"' in ln:
            try:
                return int(json.loads(ln).get("epochs", 0) or 0)
            except ValueError:
                continue
    return 0


def all_statuses(roots: list[str]) -> list[RunStatus]:
    """Every run under ``roots``, newest first."""
    out = [run_status(d) for r in roots for d in L.list_run_dirs(r)]
    return sorted(out, key=lambda s: s.started, reverse=True)


def active_runs(path: str | None = None) -> list[RunStatus]:
    """Queued, starting and running runs of a dataset folder or runs root (None: every known
    root); what a host app offers to attach to when it opens."""
    return [s for s in all_statuses(L.roots_for(path)) if s.active]
