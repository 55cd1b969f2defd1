"""``python -m loratui.runs.supervisor RUN_DIR TOKEN``: runs the worker of a detached run.

Forks once (the launcher's child exits at once, so the launcher never keeps a zombie), records
itself and the worker in ``process.json``, waits (watching for a stall: ``loratui.runs.watchdog``),
writes ``exit.json``, starts the next queued run.
Its stdout/stderr (and the worker's) are ``worker.log``. Imports nothing heavy.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from . import layout as L
from .proc import identity


def main(argv: list[str]) -> int:
    run_dir, token = os.path.abspath(argv[0]), argv[1]
    if hasattr(os, "fork") and os.fork() > 0:
        os._exit(0)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # stop requests go to the worker, not to us
    rec = L.read_json(os.path.join(run_dir, L.RECORD), {}) or {}
    launch = (rec.get("launches") or [{}])[-1]
    worker_cmd, note = L.trusted_worker(rec)
    if note:
        print(f"[loratui] {note}", flush=True)
    cmd = [*worker_cmd, run_dir]
    if isinstance(launch, dict) and launch.get("fresh"):
        cmd.append("--fresh")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    gpu = L.trusted_gpu(rec)
    if gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = gpu
    record = {"token": token, "started": time.time(), "command": cmd, "supervisor": identity(os.getpid())}
    L.write_json(os.path.join(run_dir, L.PROCESS), record)
    try:
        worker = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, cwd=run_dir, env=env, process_group=0)
    except OSError as e:
        print(f"[loratui] cannot start the worker: {e}", flush=True)
        L.write_json(os.path.join(run_dir, L.EXIT), {"rc": 127, "signal": None, "ended": time.time()})
        _kick(run_dir)
        return 1
    record["worker"] = identity(worker.pid)
    L.write_json(os.path.join(run_dir, L.PROCESS), record)

    def forward(signum, frame):
        try:
            worker.send_signal(signum)
        except OSError:
            pass

    signal.signal(signal.SIGTERM, forward)
    rc = _wait_watching(run_dir, worker)
    sig = -rc if rc < 0 else None
    by_stop = sig is not None and os.path.exists(os.path.join(run_dir, L.STOP))
    L.write_json(os.path.join(run_dir, L.EXIT), {"rc": rc, "signal": sig, "ended": time.time(), "by_stop": by_stop})
    how = f"killed by {signal.Signals(sig).name}" if sig else f"exit status {rc}"
    print(f"[loratui] {time.strftime('%Y-%m-%d %H:%M:%S')} worker ended: {how}", flush=True)
    _kick(run_dir)
    return 0


def _wait_watching(run_dir: str, worker: subprocess.Popen) -> int:
    """Wait for the worker; meanwhile the watchdog records a stall (and a recovery) in the log."""
    from .gpu import describe_gpus
    from .watchdog import Watchdog

    dog = Watchdog(run_dir, worker.pid)
    while True:
        try:
            return worker.wait(timeout=dog.policy.poll_s)
        except subprocess.TimeoutExpired:
            pass
        was = dog.reported_for is not None and not dog.recovered
        try:
            rec = dog.poll()
        except Exception as e:  # noqa: BLE001 - the watchdog must never take the run down with it
            print(f"[loratui] stall watchdog error: {type(e).__name__}: {e}", flush=True)
            continue
        now = time.strftime("%Y-%m-%d %H:%M:%S")
        if rec is not None:
            print(f"[loratui] {now} stalled: no event for {rec['age_s']:.0f}s (threshold {rec['threshold_s']:.0f}s); "
                  f"last: {rec['last_event'].get('type', 'none')}; " + "; ".join(describe_gpus(rec["gpu"]))
                  + f"; worker CPU {rec['cpu_percent']}%; {rec['stacks_note']}. `loratui doctor` explains.",
                  flush=True)
        elif was and dog.recovered:
            print(f"[loratui] {now} progress again after the stall", flush=True)


def _kick(run_dir: str) -> None:
    try:
        from .queue import kick

        kick(os.path.dirname(run_dir), ending=run_dir)
    except Exception as e:  # noqa: BLE001 - the queue must not hide how this run ended
        print(f"[loratui] could not start the next queued run: {e}", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
