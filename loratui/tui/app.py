"""The loratui Textual app and ``run_app``, the entry point the CLI calls."""

from __future__ import annotations

import os
import time

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from loratui.tui.messages import DatasetFailed, DatasetLoaded, EditDone, EditOutcome, ScanProgress, ScanRows, ShowImages
from loratui.tui.services.edit_queue import EditQueue
from loratui.tui.services.key_gate import KeyGate
from loratui.tui.services.settings import Settings, load_settings, save_settings
from loratui.tui.services.themes import DEFAULT_THEME, load_themes
from loratui.tui.state import AppState

MAX_FILE_NOTES = 5


class LoraTuiApp(KeyGate, App):
    scan_hold = None
    """Test seam: called on the opening thread after each batch of rows is posted (a test may
    block there to look at the screen halfway through a scan)."""
    CSS_PATH = "styles.tcss"
    TITLE = "loratui"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+q", "quit", "Quit", show=False),
        Binding("question_mark,f1", "help", "Help"),
        Binding("ctrl+t", "next_theme", "Next theme", show=False),
    ]

    def __init__(self, root: str, *, caption_ext: str = ".txt", images: str | None = None,
                 theme: str | None = None, settings: Settings | None = None,
                 settings_problems: list[str] | None = None, save: bool = True) -> None:
        super().__init__()
        if settings is None:
            settings, settings_problems = load_settings()
        self.settings = settings
        self.state = AppState(root, caption_ext, images or settings.images)
        self.state.vocabulary.style_setting = settings.tag_style
        self._requested_theme = theme
        self._problems = list(settings_problems or [])
        self._save = save
        self._settled = False
        self.started = time.perf_counter()
        self.edits = EditQueue(self.post_message, lambda: self.state.dataset)

    # the dataset screen's tests and the benchmarks read these
    @property
    def dataset(self):
        return self.state.dataset

    @property
    def images_mode(self) -> str:
        return self.state.images_mode

    # --- start-up ------------------------------------------------------------------------------
    def on_mount(self) -> None:
        from loratui.tui.services.hangup import watch_terminal

        watch_terminal(self)
        themes, problems = load_themes()
        for t in themes:
            self.register_theme(t)
        self._problems += problems
        wanted = self._requested_theme or self.settings.theme
        if wanted not in self.available_themes:
            self._problems.append(f"theme `{wanted}` not found; using {DEFAULT_THEME} "
                                  f"(known: {', '.join(sorted(self.loratui_themes()))})")
            wanted = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
        self.theme = wanted
        if self._requested_theme and wanted == self._requested_theme:
            self.remember(theme=wanted)
        from loratui.tui.screens.dataset import DatasetScreen

        self.push_screen(DatasetScreen(self.settings.sort, self.settings.thumbnail_cache))
        for p in self._problems:
            self.notify(p, title="settings", severity="warning", timeout=8)
        self._settled = True
        self._open_dataset()

    @work(thread=True, exclusive=True, group="open")
    def _open_dataset(self) -> None:
        from loratui.dataset import Dataset, DatasetError

        t0 = time.perf_counter()
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.perf_counter()
            if now - last[0] >= 0.1 or done == total:  # a few updates a second at most
                last[0] = now
                self.post_message(ScanProgress(done, total))

        shown = [0.0]

        def partial(p) -> None:
            # the rows as soon as the walk is done, then a few updates a second while captions load
            now = time.perf_counter()
            if not shown[0] or now - shown[0] >= 0.25 or p.captions_done == p.captions_total:
                shown[0] = now
                self.post_message(ScanRows(p))
            if self.scan_hold is not None:
                self.scan_hold(p)

        try:
            ds = Dataset.open(self.state.root, self.state.caption_ext, progress=progress, partial=partial)
        except DatasetError as e:
            self.post_message(DatasetFailed(str(e)))
            return
        self.post_message(DatasetLoaded(ds, ds.journal_position(), time.perf_counter() - t0))

    def on_scan_progress(self, event: ScanProgress) -> None:
        if self.state.dataset is None and event.total:
            for s in self.screen_stack:  # the dataset screen shows it in its status bar
                s.post_message(ScanProgress(event.done, event.total))

    def on_scan_rows(self, event: ScanRows) -> None:
        if self.state.dataset is None:
            for s in self.screen_stack:
                s.post_message(ScanRows(event.partial))

    def on_dataset_loaded(self, event: DatasetLoaded) -> None:
        self.state.dataset = event.dataset
        # A 100k-image dataset is millions of long-lived objects: every full (generation 2) garbage
        # collection walked them all, a 0.3-0.6 s freeze of the UI at a random key press (a filter,
        # a cursor move). Frozen, the collector skips them; objects made later are collected as
        # usual, and the app unfreezes them when it exits.
        import gc

        gc.freeze()
        self.call_after_refresh(gc.freeze)  # and what the first view of it built (rows, tag index)
        self.state.journal = event.journal
        self.state.read_only = event.dataset.read_only()  # a statvfs and an access(): cheap
        self.state.vocabulary.attach(event.dataset)
        for s in self.screen_stack:  # the dataset screen shows it (it asked for nothing: it was opened with the app)
            s.post_message(event)
        for p in event.dataset.recovery:
            self.notify(str(p), title="recovered", severity="warning", timeout=10)
        if self.state.read_only:
            self.notify(self.state.read_only_message(), title="read-only", severity="warning", timeout=15)
        self._load_tagger_vocabulary()
        self._find_active_runs()

    @work(thread=True, exclusive=True, group="runs")
    def _find_active_runs(self) -> None:
        """Training started earlier (this session or another one) may still be running: say so."""
        from loratui.runs import active_runs

        try:
            active = [s for root in self.state.runs_roots() for s in active_runs(root)]
        except (OSError, LookupError):
            return
        if active:
            names = ", ".join(s.name for s in active[:3])
            self.call_from_thread(self.notify, f"{len(active)} training run(s) active ({names}); press r to attach",
                                  title="runs", timeout=12)

    @work(thread=True, exclusive=True, group="vocabulary")
    def _load_tagger_vocabulary(self) -> None:
        from loratui.tui.services.tag_vocabulary import tagger_vocabulary

        tags = tagger_vocabulary()
        if tags:
            try:
                self.call_from_thread(self.state.vocabulary.add_extra, tags)
            except (RuntimeError, LookupError):
                pass  # the app closed meanwhile

    def on_dataset_failed(self, event: DatasetFailed) -> None:
        for s in self.screen_stack:
            s.post_message(DatasetFailed(event.error))
        self.notify(event.error, title="cannot open", severity="error", timeout=15)

    # --- edits ---------------------------------------------------------------------------------
    def on_edit_done(self, event: EditDone) -> None:
        """Every edit's result ends here (after the screen that asked has updated itself): report it."""
        o = event.outcome
        self.state.journal = o.journal
        if o.error:
            self.notify(o.error, title="edit failed", severity="error", timeout=10)
        elif o.result is None:
            self.notify(f"nothing to {o.label}", severity="warning")
        elif isinstance(o.result, dict):  # refresh counts
            r = o.result
            for p in r.get("problems", [])[:MAX_FILE_NOTES]:
                self.notify(p, title="not moved", severity="error", timeout=10)
            if "moved" in r:
                self.notify(f"excluded {len(r['moved']):,} image(s) to .loratui/excluded/ (u on the health screen "
                            "restores)")
            elif "restored" in r:
                self.notify(f"restored {len(r['restored']):,} file(s)")
            else:
                self.notify(f"reloaded: {r['added']:,} added, {r['removed']:,} removed, "
                            f"{r['changed']:,} changed outside")
        else:
            res = o.result
            for p in res.refused[:MAX_FILE_NOTES]:
                self.notify(f"{p.path}: {p.message}", title="not written", severity="error", timeout=10)
            if len(res.refused) > MAX_FILE_NOTES:
                self.notify(f"… and {len(res.refused) - MAX_FILE_NOTES:,} more files refused", severity="error")
            if not o.quiet and res.ok:
                self.notify(res.summary())

    def on_tagging_finished(self, event) -> None:
        """An auto-tagging run ended (see ``tagging_progress``): refresh like any other edit."""
        if event.options is not None:
            self.state.last_tagging = event.options  # the dialog reopens with the last run's options
        s = event.summary
        ds = self.state.dataset
        if s is None or s.result is None or ds is None:  # an error (the dialog shows it) or nothing written
            return
        done = EditDone(EditOutcome("auto-tag", s.result, journal=ds.journal_position(), quiet=True))
        from loratui.tui.screens.dataset import DatasetScreen

        for screen in self.screen_stack:  # the screen that opened the dialog refreshes its view
            if isinstance(screen, DatasetScreen):
                screen.post_message(done)
                return
        self.post_message(done)

    def on_config_screen_launch_requested(self, event) -> None:
        self._check_then_launch(event.config, event.path)

    @work(thread=True, exclusive=True, group="launch")
    def _check_then_launch(self, config, path: str, vram_ok: bool = False) -> None:
        """Every launch compares the VRAM estimate with the GPU's free memory (a dialog when it does not
        fit), then runs the dataset check: errors need an explicit override."""
        from loratui.check import pre_launch_check
        from loratui.runs import gpu

        if not vram_ok:
            # the same gate and suggestions as `loratui config check` / `train`; read_gpu_memory is the seam
            ok, msg = gpu.check_vram(config, reader=lambda index: gpu.read_gpu_memory(index))
            if not ok:
                self.call_from_thread(self._ask_vram, config, path, msg)
                return
        self.call_from_thread(self.notify, "checking the dataset before launch…", timeout=3)
        report = pre_launch_check(config)
        if not report.errors and not report.warnings:
            self.call_from_thread(self._launch, path)
            return
        self.call_from_thread(self._show_gate, report, path)

    def _ask_vram(self, config, path: str, message: str) -> None:
        from loratui.tui.dialogs.confirm import ConfirmDialog

        lines = [ln for ln in message.splitlines() if not ln.startswith("(or launch anyway with --ignore-vram")]
        text = ("This run may not fit in the GPU's memory (the estimate can be off by a few GB).\n"
                + "\n".join(lines))

        def answered(yes: bool | None) -> None:
            if yes:
                self._check_then_launch(config, path, vram_ok=True)
            else:
                self.notify("not launched", severity="warning")

        self.push_screen(ConfirmDialog(text, yes="launch anyway", no="cancel"), answered)

    def _show_gate(self, report, path: str) -> None:
        from loratui.tui.screens.health import HealthScreen

        def decided(launch: bool | None) -> None:
            if launch:
                self._launch(path)

        self.push_screen(HealthScreen(report, gate=True), callback=decided)

    # health pane messages (the pane works on the dataset the app has open)
    def on_health_pane_show_images(self, event) -> None:
        self.pop_screen()
        self.screen.post_message(ShowImages(list(event.image_ids), event.title))  # the dataset screen under it

    def on_show_image_files(self, event) -> None:
        """The monitor's "hardest images": back to the dataset screen, showing those files."""
        ds = self.state.dataset
        if ds is None:
            self.notify("open the run's dataset to see its images (loratui DATASET)", timeout=4)
            return
        wanted = {os.path.realpath(p) for p in event.paths}
        ids = [e.id for e in ds.images if os.path.realpath(ds.abspath(e.path)) in wanted]
        if not ids:
            self.notify("those images are not in the dataset open here", severity="warning", timeout=4)
            return
        while len(self.screen_stack) > 2:  # the default screen, then the dataset screen
            self.pop_screen()
        self.screen.post_message(ShowImages(ids, event.title))

    def on_health_pane_fix_requested(self, event) -> None:
        fix = event.finding.fix
        ds = self.state.dataset
        if fix is None or ds is None:
            return
        if self.state.read_only:
            self.notify(self.state.read_only_message(), severity="error")
            return
        if fix.kind == "exclude":
            self._confirm_exclude(fix, event.finding)
            return
        self.edits.submit(fix.label, lambda: fix.apply(ds))
        self._recheck_when_idle()

    def _dataset_screen(self):
        from loratui.tui.screens.dataset import DatasetScreen

        return next((s for s in self.screen_stack if isinstance(s, DatasetScreen)), None)

    def _confirm_exclude(self, fix, finding) -> None:
        """Preview the moves (which copy stays, what goes where, what is refused), then Apply/Cancel."""
        from loratui.check.excluded import ExcludeError, exclude_images, plan_exclude
        from loratui.tui.dialogs.confirm import ConfirmDialog

        ds = self.state.dataset
        ids = fix.current_ids(ds)
        kept = [i for i in finding.image_ids if i not in set(fix.image_ids)]
        try:
            lines = plan_exclude(ds, ids, kept[0] if len(kept) == 1 else None)
        except ExcludeError as e:
            self.notify(str(e), severity="error", timeout=10)
            return
        shown = lines[:20] + ([f"… and {len(lines) - 20} more"] if len(lines) > 20 else [])
        question = ("Exclude these duplicates (nothing is deleted)?\n" + "\n".join(shown)
                    + "\nUndo later: u on the health screen, or 'Restore excluded images' in the palette.")

        def answered(yes: bool | None) -> None:
            if not yes:
                self.notify("nothing excluded")
                return

            def run() -> dict:
                moved, problems = exclude_images(ds, ids, reason=fix.label)
                # image ids change: the dataset core rescans its folder (the one rescan after an edit)
                return {**ds.refresh(), "moved": moved, "problems": problems}

            self.edits.submit("exclude duplicates", run, reply_to=self._dataset_screen())
            self._recheck_when_idle()

        self.push_screen(ConfirmDialog(question, yes="apply", no="cancel"), answered)

    def action_restore_excluded(self) -> None:
        """Bring back every excluded image (the CLI's ``check --restore-excluded``), after asking."""
        from loratui.check.excluded import ExcludeError, excluded_entries, restore_excluded
        from loratui.tui.dialogs.confirm import ConfirmDialog

        ds = self.state.dataset
        if ds is None:
            return
        if self.state.read_only:
            self.notify(self.state.read_only_message(), severity="error")
            return
        try:
            entries = excluded_entries(ds.root)
        except ExcludeError as e:
            self.notify(str(e), severity="error", timeout=10)
            return
        moves = [m for ent in entries for m in ent["moves"]]
        if not moves:
            self.notify("nothing is excluded in this dataset")
            return
        lines = [f"{m[2]} -> {m[1]}" for m in moves if m[0] == "move"]
        shown = lines[:20] + ([f"… and {len(lines) - 20} more"] if len(lines) > 20 else [])

        def answered(yes: bool | None) -> None:
            if not yes:
                return

            def run() -> dict:
                restored, problems = restore_excluded(ds.root)
                return {**ds.refresh(), "restored": restored, "problems": problems}

            self.edits.submit("restore excluded", run, reply_to=self._dataset_screen())
            self._recheck_when_idle()

        self.push_screen(ConfirmDialog("Restore these excluded files?\n" + "\n".join(shown),
                                       yes="restore", no="cancel"), answered)

    def on_health_pane_recheck_requested(self, event) -> None:
        self._recheck_when_idle()

    @work(thread=True, exclusive=True, group="recheck")
    def _recheck_when_idle(self) -> None:
        self.edits.wait_idle(60)
        self.call_from_thread(self._recheck)

    def _recheck(self) -> None:
        from loratui.tui.screens.health import HealthPane, HealthScreen

        if isinstance(self.screen, HealthScreen) and not self.screen.gate:
            self.screen.query_one(HealthPane).set_report(None)
            self.run_health_check(self.screen)

    @work(thread=True, exclusive=True, group="health")
    def run_health_check(self, screen) -> None:
        """The dataset check off the UI thread; its progress and report go to ``screen``."""
        from loratui.check import CheckOptions, check_dataset
        from loratui.tui.screens.health import HealthPane

        ds = self.state.dataset
        if ds is None:
            return
        cfg = self.state.training_config
        opts = CheckOptions.from_config(cfg, root=ds.root) if cfg is not None else CheckOptions()
        pane = screen.query_one(HealthPane)

        def progress(phase: str, done: int, total: int) -> None:
            self.call_from_thread(pane.set_progress, phase, done, total)

        try:
            report = check_dataset(ds, opts, progress=progress)
        except Exception as e:  # a check bug must not take the app down: say what happened
            self.call_from_thread(self.notify, f"health check failed: {e}", severity="error", timeout=10)
            return
        self.call_from_thread(screen.set_report, report)

    @work(thread=True, exclusive=True, group="start-run")
    def _launch(self, config_path: str) -> None:
        from loratui.runs import RunError, launch

        try:
            run = launch(config_path)
        except RunError as e:
            self.call_from_thread(self.notify, str(e), title="not launched", severity="error", timeout=12)
            return
        self.call_from_thread(self._show_run, run.dir)

    def _show_run(self, run_dir: str) -> None:
        from loratui.tui.screens.monitor import MonitorScreen

        self.notify(f"training started: {run_dir}")
        self.push_screen(MonitorScreen(run_dir, images=self.state.images_mode))

    def on_inspector_screen_use_settings(self, event) -> None:
        """"Use these settings" in the inspector: open the config form filled from the LoRA."""
        result = event.result
        self.state.training_config, self.state.training_config_path = result.config, None
        if getattr(result, "unmapped", None):
            self.notify(f"{len(result.unmapped)} setting(s) of {event.path} could not be carried over; "
                        "the config screen lists them", severity="warning", timeout=8)
        self.pop_screen()
        self.screen.run_action("training_config")

    # --- settings and themes -------------------------------------------------------------------
    def remember(self, **changes) -> None:
        """Change settings and save them (errors become a notification)."""
        for k, v in changes.items():
            setattr(self.settings, k, v)
        if self._save:
            err = save_settings(self.settings)
            if err:
                self.notify(err, severity="warning")

    def watch_theme(self, theme: str) -> None:
        if self._settled and theme != self.settings.theme:
            self.remember(theme=theme)

    def loratui_themes(self) -> list[str]:
        return [n for n in self.available_themes if n.startswith("loratui")] or ["textual-dark"]

    def action_next_theme(self) -> None:
        names = self.loratui_themes()
        i = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(i + 1) % len(names)]
        self.notify(f"theme: {self.theme}", timeout=2)

    # --- help, palette, quit -------------------------------------------------------------------
    def action_help(self) -> None:
        from loratui.tui.screens.dataset import DatasetScreen, FilterInput
        from loratui.tui.screens.help import HelpScreen
        from loratui.tui.screens.tag_frequency import TagFrequencyScreen
        from loratui.tui.widgets.image_list import ImageList
        from loratui.tui.widgets.tag_entry import TagEntryInput
        from loratui.tui.widgets.tag_list import TagList
        from loratui.tui.widgets.tag_panel import TagPanelList

        self.push_screen(HelpScreen([
            ("Everywhere", [type(self)]),
            ("Dataset screen", [DatasetScreen, FilterInput]),
            ("Image list (and tag table)", [ImageList.__mro__[1]]),
            ("Caption editor (focus it with e or Tab)", [TagList]),
            ("Typing a tag (a, rename): a dropdown of the dataset's tags", [TagEntryInput]),
            ("All-tags panel (p; typing narrows it)", [TagPanelList]),
            ("Tag frequencies (t)", [TagFrequencyScreen]),
        ]))

    def get_system_commands(self, screen: Screen):
        yield from super().get_system_commands(screen)
        for target in (screen, *(s for s in reversed(self.screen_stack) if s is not screen)):
            commands = getattr(target, "palette_commands", None)
            if commands is not None:
                for title, help_text, callback in commands():
                    yield SystemCommand(title, help_text, callback)
                break
        if self.state.dataset is not None:
            yield SystemCommand("Restore excluded images", "Move back what the health check excluded "
                                "(the CLI's check --restore-excluded)", self.action_restore_excluded)
        yield SystemCommand("Theme: next loratui theme", "Cycle dark / light / high-contrast (saved)", self.action_next_theme)
        yield SystemCommand("Help: key map", "Every key, by screen", self.action_help)

    def unsaved_config(self) -> str | None:
        """What would be lost by quitting: the training config's unsaved edits (None: nothing)."""
        from loratui.tui.screens.config import ConfigScreen

        for s in self.screen_stack:
            if isinstance(s, ConfigScreen) and s.dirty:
                return s.path or "a new config"
        if self.state.training_config_dirty:
            return self.state.training_config_path or "a new config"
        return None

    def on_unmount(self) -> None:
        import gc

        gc.unfreeze()  # an embedding process (tests, benches) gets its collector back whole

    async def action_quit(self) -> None:
        """Ask first when the training config has unsaved edits; then immediate when nothing is
        pending, otherwise wait for the writer (edits are short)."""
        unsaved = self.unsaved_config()
        if unsaved is not None:
            from loratui.tui.dialogs.confirm import ConfirmDialog

            def answered(yes: bool | None) -> None:
                if yes:
                    self.state.training_config_dirty = False
                    self._quit_now()

            self.push_screen(ConfirmDialog(f"The training config ({unsaved}) has unsaved changes. "
                                           "Quit and lose them?", "quit", "stay (Ctrl+S saves)"), answered)
            return
        self._quit_now()

    def _quit_now(self) -> None:
        if self.edits.pending:
            self.notify(f"finishing {self.edits.pending} pending edit(s)…")
            self._finish_and_exit()
            return
        self.exit()

    @work(thread=True, exclusive=True, group="quit")
    def _finish_and_exit(self) -> None:
        self.edits.wait_idle(30)
        self.call_from_thread(self.exit)


def run_app(root: str, *, caption_ext: str = ".txt", images: str | None = None, theme: str | None = None) -> int:
    """Open the TUI on ``root``; returns the process exit code."""
    settings, problems = load_settings()
    mode = images or settings.images
    if mode != "none":
        # probe the terminal for Kitty/Sixel support before Textual takes it over
        import textual_image.renderable  # noqa: F401
        import textual_image.widget  # noqa: F401
    app = LoraTuiApp(root, caption_ext=caption_ext, images=mode, theme=theme, settings=settings,
                     settings_problems=problems)
    app.run()
    return app.return_code or 0
