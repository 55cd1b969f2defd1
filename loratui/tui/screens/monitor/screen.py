"""``MonitorScreen(run_dir)``: one run, live: header, loss/LR chart, GPU, event tail, crash report,
samples and outputs. Survives anything: it only reads the run folder, so it can be opened, closed
and re-opened while the run trains in its own process.

Following costs little: a thread tails ``events.jsonl`` by byte offset (partial lines and
truncation handled by ``loratui.runs.follow``), folds events into a ``RunProgress`` and posts at
most one ``RunUpdate`` per ``coalesce`` seconds; widgets refresh only when their text changed and
the chart at most once per ``chart_interval`` (changed rows only). With nothing new, nothing is
written to the terminal.
"""

from __future__ import annotations

import os
import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, RichLog, Static
from textual.worker import get_current_worker

from loratui.runs import layout as L
from loratui.runs.follow import EventFollower
from loratui.runs.progress import RunProgress
from loratui.runs.state import RESUMABLE, run_status
from loratui.tui.screens.base import fit_footer
from loratui.tui.screens.monitor.chart import LossChart
from loratui.tui.screens.monitor.gpu import GpuPanel, nvml_reader
from loratui.tui.screens.monitor.header import RunHeader, header_text, progress_bar
from loratui.tui.screens.monitor.messages import RunUpdate, StatusChanged
from loratui.tui.screens.monitor.panels import ImageLossPanel, MonitorSummary, OutputsTable, SamplesPanel

NARROW_BELOW = 100
LEVEL_STYLE = {"warning": "bold yellow", "error": "bold red", "info": ""}


class MonitorScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("z", "zoom", "Zoom"),
        Binding("c", "compare", "Compare"),
        Binding("k", "checkpoint", "Save now", tooltip="Save a resumable checkpoint after the current step"),
        Binding("s", "stop", "Stop"),
        Binding("r", "resume", "Resume"),
        Binding("i", "inspect", "Inspect", tooltip="Open the selected output in the LoRA inspector"),
        Binding("w", "hardest", "Hardest", tooltip="Show the images the run learns worst"),
        Binding("left_square_bracket", "samples(-1)", "Earlier samples", show=False),
        Binding("right_square_bracket", "samples(1)", "Later samples", show=False),
        Binding("full_stop", "next_sample", "Next sample", show=False),
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW_BELOW, "-wide")]
    """Below NARROW_BELOW columns the chart takes the whole width and the side panels fold into
    a three-line summary (a 46-column side panel would squash the chart to a third of an 80-column terminal)."""
    DEFAULT_CSS = """
    MonitorScreen { layout: vertical; }
    MonitorScreen #mon-body { height: 1fr; }
    MonitorScreen #mon-left { width: 1fr; }
    MonitorScreen #mon-right { width: 46; }
    MonitorScreen LossChart { border: round $panel; }
    MonitorScreen #mon-crash { display: none; height: auto; max-height: 14; border: round $error;
                               color: $error; padding: 0 1; }
    MonitorScreen #mon-crash.shown { display: block; }
    MonitorScreen #mon-tail { height: 9; border: round $panel; overflow-x: hidden; }
    MonitorScreen #mon-summary { display: none; }
    MonitorScreen.-narrow #mon-right { display: none; }
    MonitorScreen.-narrow #mon-summary { display: block; }
    MonitorScreen.-narrow #mon-tail { height: 6; }
    """

    def __init__(self, run_dir: str, *, images: str = "none", poll: float = 0.05, coalesce: float = 0.2,
                 status_every: float = 2.0, chart_interval: float = 1.0, gpu_reader=nvml_reader,
                 status_reader=run_status,
                 name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.run_dir = os.path.abspath(run_dir)
        self.run_name = os.path.basename(self.run_dir)
        self.images = images
        self.poll = poll
        self.coalesce = coalesce
        self.status_every = status_every
        self.chart_interval = chart_interval
        self.gpu_reader = gpu_reader
        self.status_reader = status_reader
        """``run_status`` (a test gives a fixed one: a recorded run drawn as if it were running)."""
        self.progress = RunProgress()
        self.status = None
        self.updates = 0
        """RunUpdate messages handled (tests, benchmark)."""
        self.shown_step = 0
        self.shown_at: float | None = None
        self._log_seen = 0
        self._stop_armed = 0.0
        self._compare_idx = -1

    def compose(self) -> ComposeResult:
        yield RunHeader(id="mon-header")
        yield RunHeader(id="mon-bar")
        with Horizontal(id="mon-body"):
            with Vertical(id="mon-left"):
                chart = LossChart(min_interval=self.chart_interval, id="mon-chart")
                chart.border_title = "loss (raw, smoothed, validation) / learning rate"
                yield chart
                yield MonitorSummary(id="mon-summary")
                yield Static("", id="mon-crash")
                tail = RichLog(max_lines=1000, wrap=False, markup=False, id="mon-tail")
                tail.border_title = "Events"
                yield tail
            with Vertical(id="mon-right"):
                yield GpuPanel(self.gpu_reader, id="mon-gpu")
                yield ImageLossPanel(id="mon-images")
                yield OutputsTable(id="mon-outputs")
                yield SamplesPanel(self.images, id="mon-samples")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.run_name
        self._render_header()
        self._follow()

    # --- following (thread) --------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="follow")
    def _follow(self) -> None:
        worker = get_current_worker()
        follower = EventFollower(os.path.join(self.run_dir, L.EVENTS))
        p = RunProgress()
        log_from = 0
        pending, reset, newest_t = 0, False, None
        last_post = 0.0
        last_status = 0.0
        status_key = None
        while not worker.is_cancelled:
            evs, was_reset = follower.poll()
            if was_reset:
                p, log_from, reset, pending = RunProgress(), 0, True, 0
            for ev in evs:
                p.apply(ev)
            if evs:
                pending += len(evs)
                newest_t = evs[-1].get("t", newest_t)
            now = time.monotonic()
            terminal = any(ev.get("type") in ("finished", "stopped", "error") for ev in evs)
            if (pending or reset) and (now - last_post >= self.coalesce) and not follower.more:
                # a snapshot: the UI thread reads it while this thread goes on folding events into `p`
                snap = p.snapshot()
                self.post_message(RunUpdate(snap, snap.log[log_from:], reset, pending, newest_t))
                log_from = len(p.log)
                pending, reset, last_post = 0, False, now
            if terminal or now - last_status >= self.status_every:
                last_status = now
                st = self.status_reader(self.run_dir)
                if st.state == "stalled":  # the watchdog's diagnosis, read here (off the UI thread)
                    from loratui.runs.doctor import diagnose, format_diagnosis

                    st.report = format_diagnosis(diagnose(self.run_dir)).splitlines()[1:]
                key = (st.state, st.detail, st.stop_requested, tuple(st.report))
                if key != status_key:
                    status_key = key
                    self.post_message(StatusChanged(st))
            if not follower.more:
                time.sleep(self.poll)

    def on_run_update(self, msg: RunUpdate) -> None:
        self.updates += 1
        p = self.progress = msg.progress
        tail = self.query_one("#mon-tail", RichLog)
        if msg.reset:
            tail.clear()
            self.query_one(OutputsTable).reset()
        for entry in msg.log:
            line = Text(time.strftime("%H:%M:%S ", time.localtime(entry.t)) if entry.t else "", style="dim")
            line.append(entry.text, style=LEVEL_STYLE.get(entry.level, ""))
            tail.write(line)
        self._render_header()
        self.query_one(LossChart).show(p)
        self.query_one(OutputsTable).show(p.saved)
        self.query_one(ImageLossPanel).show(p)
        self.query_one(SamplesPanel).show(p.samples)
        self._render_summary()

    def on_gpu_panel_update(self, msg: GpuPanel.Update) -> None:
        msg.stop()
        self._render_summary()

    def on_resize(self) -> None:
        # narrow: the compact footer (no padding around keys) without the palette's key (^p still
        # works), so every key fits in 80 columns
        fit_footer(self, self.size.width, NARROW_BELOW)
        self._render_header()
        self._render_summary()

    def _render_summary(self) -> None:
        self.query_one(MonitorSummary).show(self.query_one(GpuPanel).text, self.query_one(OutputsTable).paths,
                                            self.query_one(SamplesPanel).headline, self.progress)

    def on_status_changed(self, msg: StatusChanged) -> None:
        self.status = msg.status
        st = msg.status
        crash = self.query_one("#mon-crash", Static)
        if st.state in ("crashed", "failed", "stalled") and st.report:
            crash.border_title = {"crashed": "Crash report", "failed": "Error",
                                  "stalled": "Stalled: no progress (s stops it)"}[st.state]
            crash.update(Text("\n".join(st.report[-40:])))
            crash.add_class("shown")
        else:
            crash.remove_class("shown")
        self._render_header()

    def _render_header(self) -> None:
        st = self.status
        state = st.state if st else "…"
        detail = st.detail if st else ""
        if st and st.state == "running" and st.stop_requested:
            detail = "stopping"
        elapsed = self.progress.elapsed()
        self.query_one("#mon-header", RunHeader).show(header_text(self.run_name, state, detail, self.progress,
                                                                  elapsed, self.size.width or 80))
        self.query_one("#mon-bar", RunHeader).show(progress_bar(self.progress.fraction, self.size.width or 80))
        if self.progress.step != self.shown_step:
            self.shown_step = self.progress.step
            self.shown_at = time.time()

    # --- actions -------------------------------------------------------------------------------
    def action_back(self) -> None:
        # screen_stack[0] is the app's empty default screen: never go back to it
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()

    def action_hardest(self) -> None:
        """The images the run learns worst, in the dataset screen (often badly captioned or off-concept)."""
        from .messages import ShowImageFiles

        paths = self.query_one(ImageLossPanel).hardest
        if not paths:
            self.notify("no per-image loss yet (it comes at the end of the first epoch)", timeout=3)
            return
        self.app.post_message(ShowImageFiles(paths, f"hardest images of {self.run_name}"))

    def action_zoom(self) -> None:
        z = self.query_one(LossChart).cycle_zoom()
        self.notify(f"chart: last {z} steps" if z else "chart: whole run", timeout=2)

    def action_samples(self, delta: int) -> None:
        self.query_one(SamplesPanel).browse(delta)
        self._render_summary()

    def action_next_sample(self) -> None:
        self.query_one(SamplesPanel).next_sample()
        self._render_summary()

    def action_checkpoint(self) -> None:
        from loratui.runs import RunError, save_now

        try:
            save_now(self.run_dir)
            self.notify("checkpoint requested: it is saved after the current step")
        except RunError as e:
            self.notify(str(e), severity="warning")

    def action_stop(self) -> None:
        if time.monotonic() - self._stop_armed > 3:
            self._stop_armed = time.monotonic()
            self.notify("press s again to stop this run (it saves a checkpoint first)", timeout=3)
            return
        self._stop_armed = 0.0
        self._stop_worker()

    @work(thread=True, exclusive=True, group="stop")
    def _stop_worker(self) -> None:
        from loratui.runs import stop

        def say(text: str) -> None:
            self.app.call_from_thread(self.notify, text, timeout=5)

        res = stop(self.run_dir, grace=120, kill_after=30, progress=say)
        self.app.call_from_thread(self.notify, res.message, severity="information" if res.ok else "warning")

    def action_resume(self) -> None:
        from loratui.runs import Run, RunError

        st = run_status(self.run_dir)
        if st.state not in RESUMABLE:
            self.notify(f"{self.run_name} is {st.state}: nothing to resume", severity="warning")
            return
        try:
            Run(self.run_dir).resume()
            self.notify("resumed from the last checkpoint")
        except RunError as e:
            self.notify(str(e), severity="error")

    def action_inspect(self) -> None:
        path = self.query_one(OutputsTable).selected_path()
        if not path:
            self.notify("no saved LoRA yet", severity="warning")
            return
        from loratui.tui.screens.inspector import InspectorScreen

        self.app.push_screen(InspectorScreen(path))

    def action_compare(self) -> None:
        root = os.path.dirname(self.run_dir)
        others = [d for d in L.list_run_dirs(root) if d != self.run_dir]
        chart = self.query_one(LossChart)
        self._compare_idx += 1
        if self._compare_idx >= len(others):
            self._compare_idx = -1
            chart.set_compare("", None)
            self.notify("compare: off" if others else "no other run in this runs root to compare with", timeout=2)
            return
        self._load_compare(others[self._compare_idx])

    @work(thread=True, exclusive=True, group="compare")
    def _load_compare(self, run_dir: str) -> None:
        from loratui.runs import Run
        from loratui.tui.screens.monitor.canvas import Series

        p = Run(run_dir).progress()
        series = Series(list(p.steps), list(p.losses))
        name = os.path.basename(run_dir)
        self.app.call_from_thread(lambda: self.query_one(LossChart).set_compare(name, series))
        self.app.call_from_thread(self.notify, f"compare: {name}", timeout=2)
