"""The live training monitor: ``MonitorScreen(run_dir)`` and ``RunsScreen(roots)``.

Host apps push them like any screen::

    from loratui.tui.monitor import MonitorScreen, RunsScreen
    app.push_screen(MonitorScreen(run_dir, images=app.images_mode))
    app.push_screen(RunsScreen(loratui.runs.roots_for(dataset_dir), monitor_kw={"images": mode}))
"""

from .app import MonitorApp, run_monitor
from .runs_screen import RunsScreen
from .screen import MonitorScreen

__all__ = ["MonitorApp", "MonitorScreen", "RunsScreen", "run_monitor"]
