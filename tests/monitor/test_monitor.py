"""Pilot tests of the monitor on a synthetic event log written while the test runs."""

from __future__ import annotations

import os

from textual.app import App
from textual.widgets import DataTable

from loratui.tui.screens.monitor import MonitorScreen, RunsScreen
from loratui.tui.screens.monitor.chart import LossChart
from loratui.tui.screens.monitor.gpu import GpuInfo, GpuPanel, NoGpu
from loratui.tui.screens.monitor.header import RunHeader
from loratui.tui.screens.monitor.panels import OutputsTable, SamplesPanel

from .helpers import SyntheticRun, until


class Host(App):
    def __init__(self, screen):
        super().__init__()
        self._screen = screen

    def on_mount(self):
        self.push_screen(self._screen)


def fast(run_dir, **kw):
    kw.setdefault("gpu_reader", _no_gpu)
    return MonitorScreen(run_dir, poll=0.02, coalesce=0.05, status_every=0.2, chart_interval=0.05, **kw)


def _no_gpu():
    raise NoGpu("test machine")


def chart_text(chart: LossChart) -> str:
    return "\n".join(s.text for s in chart._rows)


async def test_header_and_chart_follow_a_growing_log(tmp_path):
    run = SyntheticRun(tmp_path / "runs" / "syn-1")
    run.begin()
    screen = fast(run.dir)
    async with Host(screen).run_test(size=(130, 40)) as pilot:
        await until(pilot, lambda: screen.status is not None and screen.status.state == "running")
        run.steps(1, 30)
        header = screen.query_one(RunHeader)
        await until(pilot, lambda: "step 30/100" in header.text)
        assert "epoch 2/4" in header.text and "2.50 it/s" in header.text and "ETA 0:28" in header.text
        assert "syn-1" in header.text and "running" in header.text and "30%" in header.text
        chart = screen.query_one(LossChart)
        await until(pilot, lambda: chart._rows and chart.progress is not None and chart.progress.step == 30)
        # redraws are throttled (min_interval): wait for the draw of the latest data, not any draw
        await until(pilot, lambda: chart._key is not None and chart._key[0] == chart.progress.version)
        first = chart_text(chart)
        assert any(0x2800 < ord(c) <= 0x28FF for c in first), first
        assert "100 steps" in first and "lr" in first
        draws = chart.draws
        run.steps(31, 60)
        await until(pilot, lambda: "step 60/100" in header.text)
        await until(pilot, lambda: chart.draws > draws)
        await until(pilot, lambda: chart_text(chart) != first)
        assert list(screen.progress.epoch_marks) == [25, 50]
        # zoom to the last N steps and back
        await pilot.press("z")
        assert chart.zoom == 1000
        await pilot.press("z")
        await until(pilot, lambda: "60 steps" in chart_text(chart))
        # nothing new: nothing redraws
        updates, hdr = screen.updates, header.updates
        await pilot.pause(0.5)  # a negative check: it must wait a while (no condition to poll for)
        assert screen.updates == updates and header.updates == hdr


async def test_partial_lines_and_truncation(tmp_path):
    run = SyntheticRun(tmp_path / "syn-2")
    run.begin()
    screen = fast(run.dir)
    async with Host(screen).run_test(size=(120, 36)) as pilot:
        with open(run.path, "a") as f:
            f.write('{"v": 1, "t": 1, "type": "step", "step": 1, "total_steps": 100, "epoch": 1, "lo')
        await pilot.pause(0.3)
        header = screen.query_one(RunHeader)
        assert "step 0/100" in header.text
        with open(run.path, "a") as f:
            f.write('ss": 0.5, "lr": {"unet": 0.0001}, "it_s": 1, "eta_s": 99}\n')
        await until(pilot, lambda: "step 1/100" in header.text)
        with open(run.path, "w") as f:  # truncated: the monitor starts over
            f.write("")
        run.begin(total=50)
        run.steps(1, 3, total=50)
        await until(pilot, lambda: "step 3/50" in header.text)


async def test_gpu_panel_without_nvidia_says_so(tmp_path):
    run = SyntheticRun(tmp_path / "syn-3")
    screen = MonitorScreen(run.dir)  # the real NVML reader: this machine has no NVIDIA GPU
    async with Host(screen).run_test(size=(120, 36)) as pilot:
        gpu = screen.query_one(GpuPanel)
        await until(pilot, lambda: gpu.text.startswith("no NVIDIA GPU") or gpu.text.startswith("[b]GPU"))

        if not os.path.exists("/dev/nvidia0"):
            assert gpu.text.startswith("no NVIDIA GPU")


async def test_gpu_panel_with_a_fake_reader(tmp_path):
    run = SyntheticRun(tmp_path / "syn-4")
    info = GpuInfo(0, "Fake A100", 87, 30 << 30, 80 << 30, 71, 250.0, 400.0)
    screen = fast(run.dir, gpu_reader=lambda: (lambda: [info]))
    async with Host(screen).run_test(size=(120, 36)) as pilot:
        gpu = screen.query_one(GpuPanel)
        await until(pilot, lambda: "Fake A100" in gpu.text)
        assert "util  87%" in gpu.text and "30.0/80.0 GB" in gpu.text and "71°C" in gpu.text and "250/400 W" in gpu.text


async def test_crash_is_displayed_with_the_log_tail(tmp_path):
    run = SyntheticRun(tmp_path / "syn-5", alive=False)
    run.begin()
    run.steps(1, 7)
    with open(os.path.join(run.dir, "worker.log"), "w") as f:
        f.write("loading...\nTraceback (most recent call last):\ntorch.OutOfMemoryError: CUDA out of memory\n")
    screen = fast(run.dir)
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        crash = screen.query_one("#mon-crash")
        await until(pilot, lambda: crash.has_class("shown"))
        assert "CUDA out of memory" in str(crash.render())
        assert "crashed" in screen.query_one(RunHeader).text
        assert screen.status.state == "crashed"


async def test_outputs_samples_and_event_tail(tmp_path):
    run = SyntheticRun(tmp_path / "syn-6")
    run.begin()
    run.steps(1, 25)
    lora = tmp_path / "out-000001.safetensors"
    lora.write_bytes(b"0" * 2048)
    run.emit("saved", path=str(lora), epoch=1, step=25, final=False)
    run.emit("sample", path=str(tmp_path / "s1.png"), prompt="mychar, smile", strength=0.6, epoch=1, step=25, params={})
    run.emit("sample", path=str(tmp_path / "s2.png"), prompt="mychar, smile", strength=1.0, epoch=1, step=25, params={})
    run.emit("warning", message="image too small", path="/d/x.png")
    screen = fast(run.dir)
    async with Host(screen).run_test(size=(130, 44)) as pilot:
        outputs = screen.query_one(OutputsTable)
        await until(pilot, lambda: outputs.row_count == 1)
        assert outputs.paths == [str(lora)]
        samples = screen.query_one(SamplesPanel)
        await until(pilot, lambda: len(samples.samples) == 2)
        text = str(samples.query_one("#samples-text").render())
        assert "epoch 1" in text and "@0.6" in text and "@1.0" in text
        run.steps(26, 50)
        run.emit("sample", path=str(tmp_path / "s3.png"), prompt="later", strength=0.6, epoch=2, step=50, params={})
        await until(pilot, lambda: len(samples.samples) == 3)
        assert "later" in str(samples.query_one("#samples-text").render())
        await pilot.press("left_square_bracket")
        assert "epoch 1 (1/2)" in str(samples.query_one("#samples-text").render())
        tail = screen.query_one("#mon-tail")
        assert any("image too small" in line.text for line in tail.lines)


async def test_runs_screen_lists_and_opens(tmp_path):
    root = tmp_path / "runs"
    a = SyntheticRun(root / "alpha")
    a.begin()
    a.steps(1, 10)
    b = SyntheticRun(root / "beta", alive=False)
    b.begin()
    b.emit("finished", step=100, epoch=4, path="/x/out.safetensors", seconds=10)
    screen = RunsScreen([str(root)], refresh_every=0.2, monitor_kw={"gpu_reader": _no_gpu, "poll": 0.02,
                                                                     "coalesce": 0.05})
    app = Host(screen)
    async with app.run_test(size=(130, 30)) as pilot:
        table = screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 2)
        states = {s.name: s.state for s in screen.statuses}
        assert states == {"alpha": "running", "beta": "finished"}
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MonitorScreen))
        await until(pilot, lambda: app.screen.progress.step in (10, 100))
        await pilot.press("c")  # overlay the other run
        chart = app.screen.query_one(LossChart)
        await until(pilot, lambda: chart.compare is not None)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)


async def test_standalone_monitor_app_and_active_runs(tmp_path):
    """What `loratui attach --tui` opens, and the helper a host app uses to offer attaching."""
    from loratui.runs import active_runs
    from loratui.tui.screens.monitor import MonitorApp

    root = tmp_path / "ds" / ".loratui" / "runs"
    run = SyntheticRun(root / "live")
    run.begin()
    run.steps(1, 5)
    done = SyntheticRun(root / "done", alive=False)
    done.begin()
    done.emit("finished", step=100, epoch=4, path="/x/out.safetensors", seconds=10)
    assert [s.name for s in active_runs(str(tmp_path / "ds"))] == ["live"]
    app = MonitorApp(run.dir, gpu_reader=_no_gpu, poll=0.02, coalesce=0.05)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen.progress.step == 5)
        await pilot.press("escape")  # Back shows the runs list, not a blank screen
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        await until(pilot, lambda: app.screen.query_one(DataTable).row_count == 2)  # live and done
        await pilot.press("escape")  # Back again quits
        await until(pilot, lambda: not app.is_running)
    assert app.return_code in (0, None)
