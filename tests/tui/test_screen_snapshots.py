"""Snapshots of the run monitor, the auto-tag dialog, the config and the health screens at 120x40 and 80x24.

Deterministic by construction: fixed event logs and datasets under a fixed folder (no tmp path is
drawn), clocks shown in UTC, no GPU, no images, and each snapshot waits (polling) for the screen's
background work to be drawn. Update with ``pytest tests/tui/test_screen_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from loratui.runs.state import run_status
from loratui.tui.screens.monitor import MonitorApp
from loratui.tui.screens.monitor.chart import LossChart
from loratui.tui.screens.monitor.gpu import NoGpu

from ..monitor.recorded import write_recorded_run
from .helpers import make_app, make_dataset, until, wait_loaded

SNAP_ROOT = Path("/tmp/loratui-snapshots")
SIZES = pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])


@pytest.fixture
def utc(monkeypatch):
    """The event tail prints local clock times: draw them in UTC whatever the machine's zone."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def fresh(name: str) -> Path:
    root = SNAP_ROOT / name
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    return root


def _no_gpu():
    raise NoGpu("snapshot machine")


def _running(run_dir: str):
    st = run_status(run_dir)
    st.state, st.detail = "running", ""
    return st


def monitor_app(run_dir: str, running: bool) -> MonitorApp:
    return MonitorApp(run_dir, images="none", gpu_reader=_no_gpu, poll=0.02, coalesce=0.05, chart_interval=0.0,
                      status_every=0.2, status_reader=_running if running else run_status)


def monitor_settled(app: MonitorApp, steps: int, state: str):
    async def run_before(pilot):
        def ready() -> bool:
            screen = app.screen
            if getattr(screen, "status", None) is None or screen.status.state != state:
                return False
            chart = screen.query_one(LossChart)
            return (screen.progress.step == steps and chart._key is not None
                    and chart._key[0] == screen.progress.version and bool(chart._rows)
                    and screen.query_one("#mon-gpu").text != "" and screen.query_one("#mon-summary").text != "")

        await until(pilot, ready, timeout=30)
        await pilot.pause()
        app.clear_notifications()

    return run_before


@SIZES
@pytest.mark.parametrize("state", ["running", "finished"])
def test_monitor(snap_compare, utc, size, state):
    """Running: the header keeps step, loss and ETA at 80 columns; the chart takes the whole width there."""
    run_dir = os.fspath(write_recorded_run(os.fspath(fresh(f"monitor-{state}-{size[0]}") / "demo-run"),
                                           finished=state == "finished"))
    app = monitor_app(run_dir, running=state == "running")
    assert snap_compare(app, terminal_size=size,
                        run_before=monitor_settled(app, 200 if state == "finished" else 125, state))


def fixed_dataset(name: str) -> Path:
    """The status bar behind a dialog shows the dataset's path: a fixed one, not a tmp folder."""
    return make_dataset(fresh(name) / "ds")


@SIZES
def test_tagging_dialog(snap_compare, monkeypatch, size):
    """The auto-tag dialog over the dataset screen, once it knows which models are installed (none, here)."""
    from loratui.tui.dialogs.tagging import TaggingDialog

    # the dialog names the download folder: a fixed one (empty), not the test's tmp cache
    monkeypatch.setenv("LORATUI_MODELS_DIR", str(SNAP_ROOT / "no-models"))

    app = make_app(fixed_dataset(f"tagging-{size[0]}"))

    async def run_before(pilot):
        await wait_loaded(app, pilot)
        await pilot.press("T")
        await until(pilot, lambda: isinstance(app.screen, TaggingDialog) and bool(app.screen.states), timeout=30)
        await pilot.pause()
        app.clear_notifications()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def health_dataset(name: str) -> Path:
    """Small real images (so the check decodes them): one exact duplicate, one too small, one uncaptioned."""
    from PIL import Image, ImageDraw

    root = make_dataset(fresh(name) / "ds")
    for i in range(5):
        im = Image.new("RGB", (640, 512), (40 * i, 90, 200 - 30 * i))
        ImageDraw.Draw(im).ellipse((60 + 50 * i, 80, 300 + 40 * i, 400), fill=(220, 180 - 20 * i, 60))
        im.save(root / "10_mychar" / f"img{i:02d}.png")
    (root / "10_mychar" / "img04.png").write_bytes((root / "10_mychar" / "img01.png").read_bytes())
    Image.new("RGB", (600, 600), (30, 120, 60)).save(root / "4_bg" / "bg0.png")
    Image.new("RGB", (96, 80), (130, 20, 60)).save(root / "4_bg" / "bg1.png")
    return root


@SIZES
def test_health_screen(snap_compare, size):
    """The health check of a small dataset with findings, once the check has finished."""
    from loratui.check import Report
    from loratui.tui.screens.health import HealthPane, HealthScreen

    app = make_app(health_dataset(f"health-{size[0]}"))

    async def run_before(pilot):
        await wait_loaded(app, pilot)
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HealthScreen)
                    and isinstance(app.screen.query_one(HealthPane).report, Report), timeout=60)
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.clear_notifications()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@SIZES
def test_config_screen(snap_compare, size):
    """The training config prefilled from the dataset, once its slower parts are filled in."""
    from loratui.tui.screens.config import ConfigScreen

    app = make_app(health_dataset(f"config-{size[0]}"))

    async def run_before(pilot):
        await wait_loaded(app, pilot)
        await pilot.press("c")
        # the subsets' image headers are read in a worker after the form shows: wait for them
        await until(pilot, lambda: isinstance(app.screen, ConfigScreen) and app.screen._counts is not None
                    and not app.screen._surveying, timeout=30)
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.clear_notifications()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
