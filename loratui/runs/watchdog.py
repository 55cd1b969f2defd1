"""The stall watchdog: the supervisor notices a worker that stopped making progress, and says why.

A worker that is alive but makes no step (a hung CUDA kernel, a dataloader blocked on a network
mount, a deadlock) looks exactly like a healthy one from the process table. The supervisor polls
the event log; when no event came for longer than ``factor`` times the run's own median step
time (never less than ``min_s``), it writes ``RUN_DIR/stall.json`` with what it can see:

- the last event and its age, the last lines of ``worker.log``;
- GPU utilisation and memory (nvidia-ml-py; "no NVIDIA GPU" otherwise): a busy GPU with no steps
  is a slow or hung kernel, an idle one a process waiting on something else;
- the worker's CPU use over the last minute, its scheduler state (``D``: stuck in I/O) and the
  image files it has open (the image a stuck data loader is reading);
- a Python stack of every worker thread: the worker registers ``faulthandler`` on SIGUSR1
  (announced by ``stack_signal`` in its ``start`` event) appending to ``RUN_DIR/stacks.txt``; the
  supervisor sends the signal and copies the new dump into the record.

The run's state is then ``stalled`` until an event arrives again (``loratui.runs.state``).
Settings: ``[hardware] stall_factor`` (0 = no watchdog) and ``stall_minutes`` in the run's config;
``$LORATUI_STALL_MIN_S`` and ``$LORATUI_STALL_POLL_S`` lower the floor and the poll interval (tests).
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import time
from collections import deque
from dataclasses import dataclass

from . import layout as L
from .follow import EventFollower, last_events, tail_lines
from .gpu import gpu_snapshot
from .proc import cpu_seconds, open_paths

STALL_FILE = "stall.json"
STACKS_FILE = "stacks.txt"
STACK_SIGNAL = "SIGUSR1"
MIN_S_ENV = "LORATUI_STALL_MIN_S"
POLL_ENV = "LORATUI_STALL_POLL_S"
FIRST_STEP_FACTOR = 3.0
"""Before the first step (model loading, latent caching) the floor is this many times larger."""
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")


@dataclass
class StallPolicy:
    factor: float = 10.0
    min_s: float = 300.0
    poll_s: float = 5.0

    @property
    def enabled(self) -> bool:
        return self.factor > 0

    def threshold(self, step_times) -> float:
        if not step_times:
            return self.min_s * FIRST_STEP_FACTOR
        return max(self.min_s, self.factor * statistics.median(step_times))


def load_policy(run_dir: str) -> StallPolicy:
    """The run's ``[hardware] stall_factor`` / ``stall_minutes`` (read leniently: the worker reports a
    bad config itself), then the environment overrides."""
    import tomllib

    pol = StallPolicy()
    try:
        with open(os.path.join(run_dir, L.CONFIG), "rb") as f:
            hw = tomllib.load(f).get("hardware") or {}
    except (OSError, ValueError):
        hw = {}
    if isinstance(hw, dict):
        for key, attr, scale in (("stall_factor", "factor", 1.0), ("stall_minutes", "min_s", 60.0)):
            v = hw.get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0:
                setattr(pol, attr, float(v) * scale)
    for env, attr in ((MIN_S_ENV, "min_s"), (POLL_ENV, "poll_s")):
        try:
            setattr(pol, attr, max(0.01, float(os.environ[env])))
        except (KeyError, ValueError):
            pass
    pol.poll_s = min(pol.poll_s, max(0.05, pol.min_s / 4))
    return pol


class Watchdog:
    """Follows one worker section's events; ``poll()`` returns a stall record once per silence."""

    def __init__(self, run_dir: str, worker_pid: int, policy: StallPolicy | None = None):
        self.run_dir = run_dir
        self.pid = worker_pid
        self.policy = policy or load_policy(run_dir)
        events = os.path.join(run_dir, L.EVENTS)
        self.intervals: deque[float] = deque(maxlen=64)
        prev = None
        for ev in last_events(events, max_bytes=128 << 10):  # earlier sections: their step times count
            prev = self._note_step(ev, prev)
        self._prev_step_t: float | None = None
        try:
            size = os.path.getsize(events)
        except OSError:
            size = 0
        self.follower = EventFollower(events, offset=size)
        self.started = time.time()
        self.last_t = self.started
        self.last_ev: dict = {}
        self.start_ev: dict = {}
        self.reported_for: float | None = None
        self.cpu: deque[tuple[float, float]] = deque(maxlen=64)

    def _note_step(self, ev: dict, prev: float | None) -> float | None:
        if ev.get("type") == "start":
            return None
        if ev.get("type") != "step" or not isinstance(ev.get("t"), (int, float)):
            return prev
        t = float(ev["t"])
        if prev is not None and t > prev:
            self.intervals.append(t - prev)
        return t

    def poll(self, now: float | None = None) -> dict | None:
        while True:
            evs, _ = self.follower.poll()
            for ev in evs:
                t = ev.get("t")
                self.last_t = float(t) if isinstance(t, (int, float)) else time.time()
                self.last_ev = ev
                if ev.get("type") == "start":
                    self.start_ev = ev
                self._prev_step_t = self._note_step(ev, self._prev_step_t)
            if not self.follower.more:
                break
        now = time.time() if now is None else now
        c = cpu_seconds(self.pid)
        if c is not None:
            self.cpu.append((now, c[0]))
        if not self.policy.enabled:
            return None
        age = now - self.last_t
        threshold = self.policy.threshold(self.intervals)
        if age <= threshold or self.reported_for == self.last_t:
            return None
        self.reported_for = self.last_t
        return self.diagnose(now, age, threshold)

    @property
    def recovered(self) -> bool:
        """An event came after the last stall report."""
        return self.reported_for is not None and self.last_t > self.reported_for

    # ---- the diagnosis ------------------------------------------------------------------------
    def diagnose(self, now: float, age: float, threshold: float) -> dict:
        c = cpu_seconds(self.pid)
        cpu_pct = None
        if c is not None and self.cpu:
            t0, s0 = next(((t, s) for t, s in self.cpu if now - t <= 60), self.cpu[0])
            if now - t0 > 0.5:
                cpu_pct = round(100 * (c[0] - s0) / (now - t0), 1)
        last = {k: v for k, v in self.last_ev.items() if k not in ("spec", "versions", "subsets", "buckets")}
        rec = {
            "t": now, "since": self.last_t, "age_s": round(age, 1), "threshold_s": round(threshold, 1),
            "median_step_s": round(statistics.median(self.intervals), 3) if self.intervals else None,
            "factor": self.policy.factor, "min_s": self.policy.min_s, "last_event": last, "pid": self.pid,
            "log_tail": tail_lines(os.path.join(self.run_dir, L.LOG), 20),
            "gpu": gpu_snapshot(), "gpu_slot": (L.read_json(os.path.join(self.run_dir, L.RECORD), {}) or {}).get("gpu"),
            "cpu_percent": cpu_pct, "proc_state": c[1] if c else None, "threads": c[2] if c else None,
            "open_images": [p for p in open_paths(self.pid) if p.lower().endswith(IMAGE_EXTS)],
        }
        rec["stacks"], rec["stacks_note"] = self.dump_stacks()
        L.write_json(os.path.join(self.run_dir, STALL_FILE), rec)
        return rec

    def dump_stacks(self, wait: float = 3.0) -> tuple[str, str]:
        """Ask the worker for a faulthandler dump of all its threads; (dump text, note)."""
        ev = self.start_ev
        if not ev:  # the worker may have written its start event before this watchdog began following
            ev = next((e for e in reversed(last_events(os.path.join(self.run_dir, L.EVENTS), max_bytes=256 << 10))
                       if e.get("type") == "start"), {})
        if ev.get("stack_signal") != STACK_SIGNAL:
            return "", "the worker has no stack dump handler (an older or foreign worker)"
        try:
            pid = int(ev.get("pid") or 0)
        except (TypeError, ValueError):
            pid = 0
        try:  # only our worker or a process in its group (accelerate launch children) is signalled
            if not pid or (pid != self.pid and os.getpgid(pid) != self.pid):
                return "", "the process that announced the stack dump handler is not this run's worker"
        except OSError:
            return "", "the worker process is gone"
        path = os.path.join(self.run_dir, STACKS_FILE)
        try:
            size0 = os.path.getsize(path)
        except OSError:
            size0 = 0
        try:
            os.kill(pid, getattr(signal, STACK_SIGNAL))
        except OSError as e:
            return "", f"could not signal the worker: {e}"
        end = time.monotonic() + wait
        size, stable = size0, 0
        while time.monotonic() < end:  # faulthandler writes from the signal handler: wait until it settles
            time.sleep(0.05)
            try:
                cur = os.path.getsize(path)
            except OSError:
                cur = size0
            stable = stable + 1 if cur == size and cur > size0 else 0
            size = cur
            if stable >= 3:
                break
        if size <= size0:
            return "", f"the worker did not write a stack dump within {wait:.0f}s"
        with open(path, "rb") as f:
            f.seek(size0)
            text = f.read(256 << 10).decode("utf-8", "replace")
        return text, f"stack dump of pid {pid} (also in {STACKS_FILE})"


_THREAD = re.compile(r"^(Current thread|Thread) (0x[0-9a-f]+)", re.I)
_FRAME = re.compile(r'^\s+File "(.*)", line (\d+) in (.+)$')


def parse_stacks(text: str) -> list[dict]:
    """faulthandler's dump as [{thread, current, frames: [(file, line, function)] innermost first}]."""
    threads: list[dict] = []
    for ln in text.splitlines():
        m = _THREAD.match(ln)
        if m:
            threads.append({"thread": m.group(2), "current": m.group(1).startswith("Current"), "frames": []})
            continue
        f = _FRAME.match(ln)
        if f and threads:
            threads[-1]["frames"].append((f.group(1), int(f.group(2)), f.group(3).strip()))
    return threads


def main_thread_frames(text: str) -> list[tuple[str, int, str]]:
    """The frames of the thread that runs the training loop (the one inside loratui.train)."""
    threads = parse_stacks(text)
    for th in threads:
        if any("loratui" in fn and "train" in fn for fn, _, _ in th["frames"]):
            return th["frames"]
    return threads[0]["frames"] if threads else []
