"""``RunsScreen(roots)``: every run of these runs roots with its state; Enter opens the monitor."""

from __future__ import annotations

import time

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import get_current_worker

from loratui.runs.state import all_statuses
from loratui.runs.text import HEADERS, status_cells


class RunsScreen(Screen):
    BINDINGS = [
        Binding("enter", "open", "Monitor"),
        Binding("escape", "back", "Back"),
    ]
    DEFAULT_CSS = """
    RunsScreen #runs-title { height: 1; padding: 0 1; color: $text-muted; }
    RunsScreen DataTable { height: 1fr; }
    """

    class Loaded(Message):
        def __init__(self, statuses) -> None:
            super().__init__()
            self.statuses = statuses

    def __init__(self, roots: list[str], *, refresh_every: float = 2.0, monitor_kw: dict | None = None,
                 name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.roots = roots
        self.refresh_every = refresh_every
        self.monitor_kw = monitor_kw or {}
        self.statuses = []
        self._key = None

    def compose(self) -> ComposeResult:
        yield Static("runs in " + (", ".join(self.roots) or "(no runs root yet)"), id="runs-title")
        table = DataTable(cursor_type="row", id="runs-table")
        table.add_columns(*HEADERS)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self._watch()

    @work(thread=True, exclusive=True, group="runs")
    def _watch(self) -> None:
        worker = get_current_worker()
        while not worker.is_cancelled:
            from loratui.runs.queue import kick

            for r in self.roots:
                try:
                    kick(r)  # a queue whose supervisor died starts again when someone looks
                except OSError:
                    pass
            self.post_message(self.Loaded(all_statuses(self.roots)))
            end = time.monotonic() + self.refresh_every
            while time.monotonic() < end and not worker.is_cancelled:
                time.sleep(0.1)

    def on_runs_screen_loaded(self, msg: "RunsScreen.Loaded") -> None:
        rows = [status_cells(s) for s in msg.statuses]
        key = tuple(map(tuple, rows))
        self.statuses = msg.statuses
        if key == self._key:
            return
        self._key = key
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for s, cells in zip(msg.statuses, rows):
            table.add_row(*cells, key=s.run_dir)
        if rows:
            table.move_cursor(row=min(max(row, 0), len(rows) - 1))

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if not self.statuses or table.cursor_row < 0:
            return
        from loratui.tui.screens.monitor.screen import MonitorScreen

        st = self.statuses[min(table.cursor_row, len(self.statuses) - 1)]
        self.app.push_screen(MonitorScreen(st.run_dir, **self.monitor_kw))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_back(self) -> None:
        # screen_stack[0] is the app's empty default screen: never go back to it
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()
