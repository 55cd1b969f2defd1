"""The live training monitor: ``MonitorScreen(run_dir)`` and ``RunsScreen(roots)``.

Host apps push them like any screen::

    from loratui.tui.screens.monitor import MonitorScreen, RunsScreen
    app.push_screen(MonitorScreen(run_dir, images=app.images_mode))
    app.push_screen(RunsScreen(loratui.runs.roots_for(dataset_dir), monitor_kw={"images": mode}))
"""

from loratui.tui.screens.monitor.app import MonitorApp, run_monitor
from loratui.tui.screens.monitor.runs_screen import RunsScreen
from loratui.tui.screens.monitor.screen import MonitorScreen

__all__ = ["MonitorApp", "MonitorScreen", "RunsScreen", "run_monitor"]
