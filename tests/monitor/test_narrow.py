"""The monitor at 80 columns: a full-width chart, a summary instead of the side panels, a header that
keeps step, loss and ETA; and a sample image that is missing or unreadable is said, not a crash."""

from __future__ import annotations

import json
import os

from rich.text import Text

from loratui.runs.progress import RunProgress
from loratui.tui.screens.monitor import MonitorScreen
from loratui.tui.screens.monitor.chart import LossChart
from loratui.tui.screens.monitor.gpu import NoGpu
from loratui.tui.screens.monitor.header import RunHeader, fmt_short, header_text
from loratui.tui.screens.monitor.panels import _load_sample

from .helpers import until
from .recorded import write_recorded_run
from .test_monitor import Host


def _plain(markup: str) -> str:
    return Text.from_markup(markup.replace("$", "")).plain


def _progress(run_dir: str) -> RunProgress:
    with open(os.path.join(run_dir, "events.jsonl")) as f:
        return RunProgress().apply_all(json.loads(line) for line in f)


def test_header_keeps_step_loss_and_eta_at_any_width(tmp_path):
    p = _progress(write_recorded_run(str(tmp_path / "a-rather-long-run-name-2026"), finished=False))
    wide = _plain(header_text("a-rather-long-run-name-2026", "running", "", p, 60.0, 140))
    assert "step 125/200 (62%)" in wide and "ETA 0:30" in wide and "elapsed 1:00" in wide and "epoch 3/4" in wide
    for width in (100, 80, 60, 44):
        line = _plain(header_text("a-rather-long-run-name-2026", "running", "", p, 60.0, width))
        assert len(line) <= width - 2, (width, line)
        assert "125/200" in line and "loss 0.1025" in line and "ETA 30s" in line and "running" in line, line
    assert "it/s" in _plain(header_text("run", "running", "", p, 60.0, 80))
    assert [fmt_short(s) for s in (5, 192, 3900)] == ["5s", "3m12s", "1h05m"]


async def test_narrow_layout_full_width_chart_and_summary(tmp_path):
    run_dir = write_recorded_run(str(tmp_path / "demo-run"))

    def no_gpu():
        raise NoGpu("test machine")

    screen = MonitorScreen(run_dir, gpu_reader=no_gpu, poll=0.02, coalesce=0.05, status_every=0.2, chart_interval=0)
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        summary = screen.query_one("#mon-summary")
        await until(pilot, lambda: "5, last demo (i)" in summary.text
                    and "no NVIDIA GPU" in summary.text)
        assert screen.has_class("-narrow")
        assert not screen.query_one("#mon-right").display and summary.display
        assert screen.query_one(LossChart).size.width >= 76
        assert "img_00.png 0.200" in summary.text
        header = screen.query_one("#mon-header", RunHeader).text
        assert "200/200" in header and "loss 0.1133" in header
        await pilot.resize_terminal(120, 40)
        await until(pilot, lambda: screen.query_one("#mon-right").display)
        await pilot.pause()
        assert not summary.display and screen.query_one(LossChart).size.width < 80
        assert "step 200/200 (100%)" in screen.query_one("#mon-header", RunHeader).text
        # a resize that ends at the size already drawn (80 -> 120 -> 80 -> 120 between two frames,
        # or a relayout) must not leave the chart blank
        chart = screen.query_one(LossChart)
        await until(pilot, lambda: chart._key is not None and chart._key[0] == screen.progress.version)
        drawn = [strip.text for strip in chart._rows]
        assert any(0x2800 < ord(c) <= 0x28FF for row in drawn for c in row)
        chart.on_resize()
        assert [strip.text for strip in chart._rows] == drawn


def test_missing_or_broken_sample_is_said(tmp_path):
    image, why = _load_sample(str(tmp_path / "gone.png"))
    assert image is None and why == "image missing: gone.png"
    (tmp_path / "bad.png").write_bytes(b"not a png")
    image, why = _load_sample(str(tmp_path / "bad.png"))
    assert image is None and why.startswith("cannot read bad.png")
    from PIL import Image

    Image.new("RGB", (8, 8), "red").save(tmp_path / "ok.png")
    image, why = _load_sample(str(tmp_path / "ok.png"))
    assert image is not None and image.size == (8, 8) and why == ""
