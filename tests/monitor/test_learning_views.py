"""The monitor shows a stalled run's diagnosis, the validation loss line and the images by loss."""

from __future__ import annotations

import json
import os
import time

from loratui.runs.text import show_text
from loratui.tui.screens.monitor.chart import LossChart
from loratui.tui.screens.monitor.header import RunHeader
from loratui.tui.screens.monitor.panels import ImageLossPanel

from .helpers import SyntheticRun, until
from .test_monitor import Host, chart_text, fast


async def test_validation_line_images_by_loss_and_stalled_diagnosis(tmp_path):
    run = SyntheticRun(tmp_path / "runs" / "syn-1")
    run.begin()
    run.steps(1, 25)
    for s, v in ((10, 0.9), (20, 0.5)):
        run.emit("validation", step=s, epoch=1, loss=v, images=[{"path": "/d/v.png", "loss": v}], seconds=0.1)
    rows = [{"path": f"/d/1_x/img{k}.png", "loss": 0.1 * (5 - k), "n": 3} for k in range(5)]
    run.emit("image_losses", step=25, epoch=1, images=rows)
    screen = fast(run.dir)
    async with Host(screen).run_test(size=(130, 40)) as pilot:
        chart = screen.query_one(LossChart)
        await until(pilot, lambda: screen.progress.step == 25)
        assert list(screen.progress.val_steps) == [10, 20]
        await until(pilot, lambda: chart._rows and chart.progress is not None)
        await pilot.pause(0.1)
        assert "val" in chart_text(chart)
        panel = screen.query_one(ImageLossPanel)
        await until(pilot, lambda: "img0.png" in panel.text)
        assert panel.text.index("img0.png") < panel.text.index("easiest") < panel.text.index("img4.png")
        assert panel.hardest[0] == "/d/1_x/img0.png"
        # the watchdog reports a stall: the header and the report panel say so
        last_t = max(json.loads(ln)["t"] for ln in open(run.path))
        from loratui.runs import layout as L

        L.write_json(os.path.join(run.dir, "stall.json"), {
            "t": time.time(), "since": last_t, "age_s": 700, "threshold_s": 300, "median_step_s": 1.0, "factor": 10,
            "min_s": 300, "last_event": {"type": "image_losses", "step": 25}, "gpu": [
                {"index": 0, "name": "Test GPU", "util": 99, "mem_used": 20 << 30, "mem_total": 24 << 30}],
            "cpu_percent": 100.0, "proc_state": "R", "threads": 9, "open_images": [], "stacks": "",
            "stacks_note": "no dump", "log_tail": []})
        header = screen.query_one(RunHeader)
        await until(pilot, lambda: "stalled" in header.text)
        crash = screen.query_one("#mon-crash")
        await until(pilot, lambda: crash.has_class("shown"))
        assert "Stalled" in crash.border_title
        assert "GPU is busy but no step finishes" in str(crash.render())
    out = show_text(run.dir, n=2)
    assert "validation loss 0.5000 at step 20 (first 0.9000 at step 10" in out
    assert out.index("img0.png") < out.index("easiest images") < out.index("img4.png")
