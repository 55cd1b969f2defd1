"""A synthetic run folder whose event log the test writes while the monitor follows it."""

from __future__ import annotations

import asyncio
import json
import os
import time

from loratui.runs import layout as L
from loratui.runs.proc import identity


class SyntheticRun:
    def __init__(self, run_dir: str, alive: bool = True):
        self.dir = str(run_dir)
        os.makedirs(self.dir, exist_ok=True)
        t = time.time() - 100
        L.write_json(os.path.join(self.dir, L.RECORD), {"name": os.path.basename(self.dir), "created": t,
                                                         "output_file": "/x/out.safetensors",
                                                         "launches": [{"t": t}]})
        me = identity(os.getpid())
        if not alive:  # the pid of a process that has ended: a crash
            me = dict(me, ticks="1")
        L.write_json(os.path.join(self.dir, L.PROCESS), {"started": t + 1, "supervisor": me, "worker": me})
        self.path = os.path.join(self.dir, L.EVENTS)
        open(self.path, "a").close()

    def emit(self, type_: str, **kw) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps({"v": 1, "t": time.time(), "type": type_, **kw}) + "\n")

    def begin(self, total=100, epochs=4) -> None:
        self.emit("start", pid=os.getpid(), run_dir=self.dir, spec={"output_name": "syn", "epochs": epochs}, resume=False)
        self.emit("dataset", images=10, skipped=0, subsets=[], buckets=[], num_train_images=25,
                  batches_per_epoch=total // epochs, steps_per_epoch=total // epochs, total_steps=total, epochs=epochs)

    def steps(self, a: int, b: int, total=100, epochs=4) -> None:
        per = total // epochs
        for s in range(a, b + 1):
            self.emit("step", step=s, total_steps=total, epoch=(s - 1) // per + 1, loss=0.2 + 0.5 / s,
                      loss_avg=0.3, lr={"unet": 1e-4 * min(1, s / 10), "te": 5e-5}, it_s=2.5, samples_s=5.0,
                      eta_s=(total - s) / 2.5)
            if s % per == 0:
                self.emit("epoch_end", epoch=s // per, step=s, loss_avg=0.3)


async def until(pilot, pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        await asyncio.sleep(0.03)
    await pilot.pause()
    assert pred(), "condition not reached"
