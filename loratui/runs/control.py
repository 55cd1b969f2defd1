"""Asking a running run to stop or to save a checkpoint: files first, signals as the backstop.

``stop``: create ``RUN_DIR/stop`` (the worker checks it after every step and saves a resumable
checkpoint), then SIGINT after ``grace`` seconds (same clean path in the worker), then SIGKILL to
the worker's process group after ``kill_after`` more. The result says which one ended it.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

from . import layout as L
from .proc import alive
from .state import LIVE, run_status


@dataclass
class StopResult:
    how: str
    """stop_file | SIGINT | SIGKILL | dequeued | requested (not waited) | not_running | remote"""
    message: str

    @property
    def ok(self) -> bool:
        return self.how not in ("not_running",)


def request_stop(run_dir: str) -> None:
    L.write_json(os.path.join(run_dir, L.STOP), {"t": time.time()})


def save_now(run_dir: str) -> None:
    """Ask the worker to write a resumable checkpoint at the end of the current step.

    The worker removes ``save_now`` and emits a ``checkpoint`` event when done."""
    st = run_status(run_dir)
    if st.state not in LIVE:
        raise L.RunError(f"{st.name} is {st.state}: nothing to checkpoint")
    L.write_json(os.path.join(run_dir, L.SAVE_NOW), {"t": time.time()})


def stop(run_dir: str, *, grace: float = 60.0, kill_after: float = 30.0, wait: bool = True,
         progress=None) -> StopResult:
    """Stop a run (dequeue a queued one). ``progress(text)`` hears each escalation."""
    from .queue import dequeue

    say = progress or (lambda text: None)
    st = run_status(run_dir)
    if st.state == "queued":
        dequeue(run_dir)
        return StopResult("dequeued", f"{st.name} removed from the queue")
    if st.state not in LIVE:
        return StopResult("not_running", f"{st.name} is not running ({st.state})")
    request_stop(run_dir)
    if st.remote_host:
        return StopResult("remote", f"stop requested; {st.name} runs on {st.remote_host}, which will see the stop file")
    if not wait:
        return StopResult("requested", f"stop requested for {st.name}")
    say(f"asked {st.name} to stop (stop file); waiting up to {grace:.0f}s for its checkpoint")
    if _wait_worker_gone(run_dir, grace):
        return StopResult("stop_file", f"{st.name} stopped cleanly{_ckpt(run_dir)}")
    worker = (L.read_json(os.path.join(run_dir, L.PROCESS), {}) or {}).get("worker")
    if worker and alive(worker):
        say(f"no answer after {grace:.0f}s: sending SIGINT")
        _signal(worker, signal.SIGINT)
        if _wait_worker_gone(run_dir, kill_after):
            return StopResult("SIGINT", f"{st.name} stopped after SIGINT{_ckpt(run_dir)}")
        if alive(worker):
            say(f"no answer after {kill_after:.0f}s more: SIGKILL")
            _signal(worker, signal.SIGKILL, group=True)
            _wait_worker_gone(run_dir, 10)
            return StopResult("SIGKILL", f"{st.name} killed with SIGKILL: the last periodic checkpoint (if any) is "
                                         "where a resume starts")
    _wait_worker_gone(run_dir, 5)
    return StopResult("stop_file", f"{st.name} stopped{_ckpt(run_dir)}")


def _wait_worker_gone(run_dir: str, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while True:
        pr = L.read_json(os.path.join(run_dir, L.PROCESS), {}) or {}
        w = pr.get("worker")
        if w is None:
            if not alive(pr.get("supervisor")):
                return True
        elif not alive(w):
            # let the supervisor write exit.json so the state is final when we return
            s_end = time.monotonic() + 2
            while alive(pr.get("supervisor")) and time.monotonic() < s_end:
                time.sleep(0.02)
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.05)


def _signal(ident: dict, sig, group: bool = False) -> None:
    if not alive(ident):  # never signal a pid that was reused by another process
        return
    pid = int(ident["pid"])
    try:
        if group:
            os.killpg(pid, sig)  # the worker leads its own process group (multi-GPU children too)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def _ckpt(run_dir: str) -> str:
    st = run_status(run_dir)
    return f" ({st.state}: {st.detail})" if st.detail else f" ({st.state})"
