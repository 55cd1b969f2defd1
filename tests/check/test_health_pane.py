"""Pilot tests of the health pane in a minimal host app (the main app wires it the same way)."""

from __future__ import annotations

import shutil

from textual.app import App

from loratui.check import check_dataset
from loratui.dataset import Dataset
from loratui.tui.screens.health import HealthPane, HealthScreen

from .helpers import character_dataset


class Host(App):
    def __init__(self, ds):
        super().__init__()
        self.ds = ds
        self.report = check_dataset(ds)
        self.shown: list[list[int]] = []
        self.fixed: list[str] = []
        self.rechecks = 0

    def compose(self):
        yield HealthPane(self.report)

    def on_health_pane_show_images(self, m: HealthPane.ShowImages) -> None:
        self.shown.append(m.image_ids)

    def on_health_pane_fix_requested(self, m: HealthPane.FixRequested) -> None:
        m.finding.fix.apply(self.ds)
        self.fixed.append(m.finding.code)

    def on_health_pane_recheck_requested(self, m) -> None:
        self.rechecks += 1
        self.report = check_dataset(self.ds)
        self.query_one(HealthPane).set_report(self.report)


def _dataset(tmp_path):
    character_dataset(tmp_path, 20, extra=lambda i, t: t[1:] + ["mychar"] if i == 2 else t)
    shutil.copy(tmp_path / "10_mychar" / "img000.png", tmp_path / "10_mychar" / "dup.png")
    (tmp_path / "10_mychar" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    return Dataset.open(str(tmp_path))


async def _goto(pilot, pane: HealthPane, code: str) -> None:
    for _ in range(60):
        if pane.current is not None and pane.current.code == code:
            return
        await pilot.press("down")
    raise AssertionError(f"finding {code} not reached")


async def test_findings_grouped_show_images_and_one_key_fix(tmp_path):
    ds = _dataset(tmp_path)
    app = Host(ds)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(HealthPane)
        pane.query_one("OptionList").focus()
        await pilot.pause()
        # errors come first within their group; group headers are not selectable
        assert pane.current is not None
        await _goto(pilot, pane, "corrupt-image")
        await pilot.press("enter")
        await pilot.pause()
        bad = next(e.id for e in ds.images if e.path == "10_mychar/bad.png")
        assert app.shown[-1] == [bad]
        await _goto(pilot, pane, "trigger-not-first")
        await pilot.press("s")
        await pilot.pause()
        assert [ds.images[i].path for i in app.shown[-1]] == ["10_mychar/img002.png"]
        await pilot.press("f")
        await pilot.pause()
        assert app.fixed == ["trigger-not-first"]
        assert (tmp_path / "10_mychar" / "img002.txt").read_text().startswith("mychar, ")
        await pilot.press("f")  # a second press does not apply it twice
        await pilot.pause()
        assert app.fixed == ["trigger-not-first"]
        await pilot.press("r")
        await pilot.pause()
        assert app.rechecks == 1
        assert "trigger-not-first" not in [f.code for f in pane._findings]
        # duplicates: the fix moves the copy out of the dataset, never deleting it
        pane.query_one("OptionList").focus()
        await _goto(pilot, pane, "exact-duplicates")
        await pilot.press("f")
        await pilot.pause()
        assert app.fixed[-1] == "exact-duplicates"
        moved = [p for p in ("dup.png", "img000.png") if (tmp_path / ".loratui" / "excluded" / "10_mychar" / p).exists()]
        assert len(moved) == 1


async def test_gate_blocks_on_errors_until_explicit_override(tmp_path):
    ds = _dataset(tmp_path)
    report = check_dataset(ds)
    results: list[bool] = []

    class GateHost(App):
        def on_mount(self) -> None:
            self.push_screen(HealthScreen(report, gate=True), callback=results.append)

    app = GateHost()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "block the launch" in str(app.screen.query_one("#health-gate").render())
        await pilot.press("l")
        await pilot.pause()
        assert results == []  # errors: plain launch refused
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert results == [True]


async def test_gate_without_errors_launches_and_escape_goes_back(tmp_path):
    character_dataset(tmp_path, 20)
    report = check_dataset(Dataset.open(str(tmp_path)))
    results: list[bool] = []

    class GateHost(App):
        def on_mount(self) -> None:
            self.push_screen(HealthScreen(report, gate=True), callback=results.append)

    app = GateHost()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert results == [False]
        app.push_screen(HealthScreen(report, gate=True), callback=results.append)
        await pilot.pause()
        await pilot.press("l")
        await pilot.pause()
        assert results == [False, True]


async def test_progress_while_checking(tmp_path):
    character_dataset(tmp_path, 20)

    class P(App):
        def compose(self):
            yield HealthPane(None)

    app = P()
    async with app.run_test() as pilot:
        pane = app.query_one(HealthPane)
        pane.set_progress("decoding", 256, 20000)
        await pilot.pause()
        assert "256/20,000" in str(pane.query_one("#health-summary").render())
        pane.set_report(check_dataset(Dataset.open(str(tmp_path))))
        await pilot.pause()
        assert "0 errors" in str(pane.query_one("#health-summary").render())
