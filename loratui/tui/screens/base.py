"""The base of the loratui app's own screens: ``self.app`` typed once, and the bulk-edit flow
(plan in a worker, preview, queue) every screen that edits tags shares."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, cast

from textual import work
from textual.screen import Screen
from textual.widgets import Footer

from loratui.tui.dialogs.confirm_plan import ConfirmPlanScreen

if TYPE_CHECKING:
    from loratui.dataset import Operation, Plan
    from loratui.tui.app import LoraTuiApp
    from loratui.tui.state import AppState


def fit_footer(screen: Screen, width: int, narrow_below: int = 100) -> bool:
    """Narrow (below ``narrow_below`` columns): the compact footer without the palette's key
    (Ctrl+P still works), so that every key shows at 80 columns. Returns whether narrow."""
    narrow = 0 < width < narrow_below
    footer = screen.query_one(Footer)
    footer.compact, footer.show_command_palette = narrow, not narrow
    return narrow


class LoraScreen(Screen):
    @property
    def app(self) -> LoraTuiApp:  # type: ignore[override]
        # declared once here: screens reach the app's state and edit queue through it
        return cast("LoraTuiApp", super().app)

    @property
    def state(self) -> AppState:
        return self.app.state

    def fit_footer(self, width: int, narrow_below: int = 100) -> bool:
        return fit_footer(self, width, narrow_below)

    def refuse_if_read_only(self) -> bool:
        """True (and the reason on screen) when the dataset cannot be edited here."""
        if self.state.read_only:
            self.notify(self.state.read_only_message(), severity="error")
            return True
        return False

    def submit_edit(self, label: str, fn: Callable[[], object], *, writes: bool = True, **kw) -> None:
        """Queue an edit on the app's writer thread; its ``EditDone`` comes back to this screen
        (and bubbles up to the app, which reports refused files). ``writes=False``: a re-read."""
        if writes and self.refuse_if_read_only():
            return
        self.app.edits.submit(label, fn, reply_to=self, **kw)
        self.edit_queued()

    def edit_queued(self) -> None:
        """Hook: show that an edit is pending."""

    def show_busy(self, text: str) -> None:
        """Hook: say what is being computed ("" when done)."""

    def preview_and_apply(self, op: Operation, ids: Iterable[int]) -> None:
        """Plan ``op`` over ``ids`` (in a worker: 100k files take a second), preview, queue if confirmed."""
        if self.state.dataset is None or self.refuse_if_read_only():
            return
        self.show_busy(f"planning: {op.describe()} …")
        self._plan(op, list(ids))

    @work(thread=True, exclusive=True, group="plan")
    def _plan(self, op: Operation, ids: list[int]) -> None:
        ds = self.state.dataset
        if ds is None:
            return
        t0 = time.perf_counter()
        try:
            plan = ds.plan(op, ids)
        except Exception as e:  # an operation that fails on some caption (bad regex replacement)
            self.app.call_from_thread(self._plan_failed, f"{op.describe()}: {e}")
            return
        self.log(f"planned {op.describe()} in {time.perf_counter() - t0:.3f}s")
        self.app.call_from_thread(self._show_plan, plan)

    def _plan_failed(self, message: str) -> None:
        self.show_busy("")
        self.notify(message, severity="error")

    def _show_plan(self, plan: Plan) -> None:
        self.show_busy("")
        if not plan.changes:
            self.notify(f"nothing to change: {plan.summary()}", severity="warning")
            return
        ds = self.state.dataset

        def confirmed(ok: bool | None) -> None:
            if ok and ds is not None:
                self.submit_edit(plan.op.describe(), lambda: ds.apply(plan))

        self.app.push_screen(ConfirmPlanScreen(plan), confirmed)
