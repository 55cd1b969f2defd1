"""A standalone app around the monitor (``loratui attach --tui``), and ``active_runs`` for hosts."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from loratui.tui.services.key_gate import KeyGate


class MonitorApp(KeyGate, App):
    TITLE = "loratui monitor"
    BINDINGS = [Binding("q", "quit", "Quit")]

    def __init__(self, run_dir: str | None = None, roots: list[str] | None = None, **monitor_kw) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.roots = roots or []
        self.monitor_kw = monitor_kw

    def on_mount(self) -> None:
        import os

        from loratui.tui.screens.monitor.runs_screen import RunsScreen
        from loratui.tui.screens.monitor.screen import MonitorScreen
        from loratui.tui.services.hangup import watch_terminal

        watch_terminal(self)

        # the runs list is always underneath: Back from a run shows it (and Back there quits),
        # instead of leaving the app's empty default screen
        roots = self.roots or ([os.path.dirname(os.path.abspath(self.run_dir))] if self.run_dir else [])
        self.push_screen(RunsScreen(roots, monitor_kw=self.monitor_kw))
        if self.run_dir:
            self.push_screen(MonitorScreen(self.run_dir, **self.monitor_kw))

    def on_show_image_files(self, event) -> None:
        names = ", ".join(p.rsplit("/", 1)[-1] for p in event.paths[:5])
        self.notify(f"{event.title}: {names}. Open the dataset (`loratui DATASET`, then r) to browse them there.",
                    timeout=8)


def run_monitor(run_dir: str | None = None, roots: list[str] | None = None, images: str = "auto") -> int:
    if images != "none":
        import textual_image.renderable  # noqa: F401 - probe the terminal before Textual owns it
        import textual_image.widget  # noqa: F401
    app = MonitorApp(run_dir, roots, images=images)
    app.run()
    return app.return_code or 0
