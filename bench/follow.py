"""The live monitor following a fast writer: event-to-screen latency, CPU and terminal output.

A writer process appends 50 step events/s (``--rate``) for 30 s (``--seconds``) to a synthetic
run's event log while the monitor follows it in this process, drawing to a counting terminal
driver (a headless driver that counts the bytes Textual would write). The same app is measured
idle first (nothing written), so the numbers are comparable on whatever machine runs it. The run
is ``--run-factor`` (10) times longer than what is written, so the bench sees a stretch of a run
as it is in real life: the progress bar and the epoch markers move about as often as they do there
(``--run-factor 1`` squeezes a whole 10-epoch run into the bench, the worst case for output).

- latency: from the event's write time to the first terminal write after the header shows it
- CPU: this process's CPU time (UI thread, follower thread, GPU poller) per wall second
- output: bytes written to the terminal per second

Targets (issue 7): p95 latency <= 300 ms, CPU <= 10% of a core, steady-state output <= 4 KB/s.

    python bench/follow.py [--seconds 30] [--rate 50] [--idle 5] [--size 120x40] [--run-factor 10]

``BENCH_DUMP=FILE`` appends every terminal write to FILE (to see what costs bytes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")

WRITER = r"""
import json, sys, time
path, rate, seconds, total = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
n = int(rate * seconds)
t0 = time.time()
with open(path, "a") as f:
    for i in range(1, n + 1):
        due = t0 + i / rate
        d = due - time.time()
        if d > 0:
            time.sleep(d)
        ev = {"v": 1, "t": time.time(), "type": "step", "step": i, "total_steps": total, "epoch": 1 + i * 10 // total,
              "loss": 0.1 + 1.0 / (1 + i / 50) + 0.05 * ((i * 7919) % 13) / 13, "loss_avg": 0.2,
              "lr": {"unet": 1e-4, "te": 5e-5}, "it_s": rate, "samples_s": 2 * rate, "eta_s": (total - i) / rate}
        f.write(json.dumps(ev) + "\n")
        f.flush()
        if i % max(1, total // 10) == 0:
            f.write(json.dumps({"v": 1, "t": time.time(), "type": "epoch_end", "epoch": i * 10 // total, "step": i,
                                "loss_avg": 0.2}) + "\n")
            f.flush()
"""


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--idle", type=float, default=5.0)
    ap.add_argument("--size", default="120x40")
    ap.add_argument("--run-factor", type=float, default=10.0,
                    help="the run's total steps as a multiple of the events written (default 10: the bench "
                         "follows the first tenth of a run; 1 squeezes a whole run, all its epochs and its "
                         "progress bar, into the bench)")
    args = ap.parse_args()
    cols, lines = map(int, args.size.split("x"))
    os.environ["COLUMNS"], os.environ["LINES"] = str(cols), str(lines)

    from textual.app import App
    from textual.drivers.headless_driver import HeadlessDriver

    from loratui.runs import layout as L
    from loratui.runs.proc import identity
    from loratui.tui.screens.monitor import MonitorScreen
    from loratui.tui.screens.monitor.header import RunHeader

    writes: list[tuple[float, int]] = []

    class CountingDriver(HeadlessDriver):
        @property
        def is_headless(self) -> bool:
            return False  # so that Textual renders and writes frames

        def write(self, data: str) -> None:
            writes.append((time.time(), len(data.encode("utf-8"))))
            if os.environ.get("BENCH_DUMP"):
                with open(os.environ["BENCH_DUMP"], "a") as f:
                    f.write(f"--- {len(data.encode())}\n{data!r}\n")

    shows: list[tuple[float, int]] = []
    orig_show = RunHeader.show

    def show(self, text):
        before = self.text
        orig_show(self, text)
        if self.text != before:
            shows.append((time.time(), self.screen.progress.step))

    RunHeader.show = show

    tmp = tempfile.mkdtemp(prefix="loratui-bench-follow-")
    run_dir = os.path.join(tmp, "bench-run")
    os.makedirs(run_dir)
    t = time.time()
    L.write_json(os.path.join(run_dir, L.RECORD), {"name": "bench-run", "created": t, "launches": [{"t": t}]})
    me = identity(os.getpid())
    L.write_json(os.path.join(run_dir, L.PROCESS), {"started": t, "supervisor": me, "worker": me})
    events = os.path.join(run_dir, L.EVENTS)
    total = int(args.rate * args.seconds * args.run_factor)
    with open(events, "w") as f:
        f.write(json.dumps({"v": 1, "t": t, "type": "start", "pid": os.getpid(), "spec": {"epochs": 10}}) + "\n")
        f.write(json.dumps({"v": 1, "t": t, "type": "dataset", "total_steps": total, "epochs": 10,
                            "steps_per_epoch": total // 10, "images": 10, "num_train_images": 10}) + "\n")

    class BenchApp(App):
        def on_mount(self):
            self.push_screen(MonitorScreen(run_dir))

    app = BenchApp(driver_class=CountingDriver)
    result = {}

    async def measure():
        await asyncio.sleep(3.0)  # start-up and first paint
        w0, c0, t0 = len(writes), time.process_time(), time.time()
        await asyncio.sleep(args.idle)
        idle_bytes = sum(b for _, b in writes[w0:])
        result["idle"] = (time.process_time() - c0) / (time.time() - t0), idle_bytes / (time.time() - t0)
        w1, c1, t1 = len(writes), time.process_time(), time.time()
        writer = subprocess.Popen([sys.executable, "-c", WRITER, events, str(args.rate), str(args.seconds), str(total)])
        while writer.poll() is None:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)  # the last coalesced update and chart redraw
        dt = time.time() - t1
        result["active"] = (time.process_time() - c1) / dt, sum(b for _, b in writes[w1:]) / dt
        app.exit()

    async def run():
        task = asyncio.ensure_future(measure())
        await app.run_async()
        await task

    asyncio.run(run())

    from loratui.train.events import read_events

    written = [(e["t"], e["step"]) for e in read_events(events) if e["type"] == "step"]
    write_times = [w for w, _ in writes]
    import bisect

    screen_at: list[tuple[int, float]] = []  # (step shown, time it reached the terminal)
    for ts, step in shows:
        k = bisect.bisect_left(write_times, ts)
        if k < len(write_times):
            screen_at.append((step, write_times[k]))
    lat = []
    j = 0
    for t_ev, step in written:
        while j < len(screen_at) and screen_at[j][0] < step:
            j += 1
        if j < len(screen_at):
            lat.append(screen_at[j][1] - t_ev)
    idle_cpu, idle_out = result["idle"]
    cpu, out = result["active"]
    print(f"monitor following {len(written)} events at {args.rate:.0f}/s for {args.seconds:.0f}s "
          f"({cols}x{lines} terminal, a run of {total} steps in 10 epochs)")
    print(f"  idle app      : CPU {100 * idle_cpu:5.1f}% of a core, output {idle_out:7.0f} B/s")
    print(f"  following     : CPU {100 * cpu:5.1f}% of a core, output {out:7.0f} B/s "
          f"(target <= 10%, <= 4096 B/s)")
    print(f"  latency       : median {1000 * statistics.median(lat):.0f} ms, p95 {1000 * pct(lat, 0.95):.0f} ms, "
          f"max {1000 * max(lat):.0f} ms over {len(lat)} events (target p95 <= 300 ms)")
    print(f"  header redraws: {len(shows)} ({len(shows) / args.seconds:.1f}/s)")
    ok = pct(lat, 0.95) <= 0.3 and cpu <= 0.10 and out <= 4096
    print("  result        :", "within targets" if ok else "OUTSIDE targets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
