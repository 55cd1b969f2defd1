"""While a dataset opens, the status bar counts the captions loaded."""

from __future__ import annotations

from loratui.dataset import Dataset
from loratui.dataset import scan as scan_mod
from loratui.tui.messages import ScanProgress
from loratui.tui.widgets.status_bar import StatusBar

from .helpers import make_app, make_dataset, wait_loaded


def test_open_reports_progress(tmp_path, monkeypatch):
    root = make_dataset(tmp_path / "ds")
    monkeypatch.setattr(scan_mod, "PROGRESS_EVERY", 2)
    seen = []
    Dataset.open(str(root), progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 6) and seen[-1] == (6, 6)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert (2, 6) in seen and (4, 6) in seen


async def test_status_bar_shows_scanning_counts(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        bar = app.screen.query_one(StatusBar)
        assert "scanning" not in bar.info.message
        ds, app.state.dataset = app.state.dataset, None  # as while the scan is still running
        app.post_message(ScanProgress(41_000, 100_000))
        await pilot.pause()
        assert bar.info.message == "scanning 41,000 / 100,000 captions …"
        app.state.dataset = ds


async def test_rows_shown_and_cursor_moves_while_the_scan_runs(tmp_path, monkeypatch):
    """The scan is held between two batches of captions (a seam, not timing): the rows are
    on screen, the cursor moves, edits are refused with a message; released, the dataset is
    exactly what a normal open gives and the cursor stays where it was."""
    import threading

    from loratui.tui.widgets.image_list import ImageList, ScanView

    from .helpers import until

    root = make_dataset(tmp_path / "ds")
    before = {p.name: p.read_bytes() for p in (root / "10_mychar").iterdir()}
    monkeypatch.setattr(scan_mod, "PROGRESS_EVERY", 2)
    held, release = threading.Event(), threading.Event()

    def hold(p):
        if 0 < p.captions_done < p.captions_total and not held.is_set():
            held.set()
            assert release.wait(10), "the test never released the scan"

    app = make_app(root)
    app.scan_hold = hold
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, held.is_set)
            lst = app.screen.query_one(ImageList)
            await until(pilot, lambda: isinstance(lst.dataset, ScanView))
            await pilot.pause()
            assert app.dataset is None  # still scanning
            assert len(lst.rows) == 7
            text = "".join(s.text for s in lst.render_row(0, 60, lst.rich_style))
            assert "img00.png" in text
            assert lst.cursor_key == 0
            await pilot.press("down", "down")
            assert lst.cursor_key == 2
            await pilot.press("a")  # add a tag: refused until the scan is done
            await pilot.pause()
            assert any("still scanning" in str(n.message) for n in app._notifications)
            assert {p.name: p.read_bytes() for p in (root / "10_mychar").iterdir()} == before
            release.set()
            await wait_loaded(app, pilot)
            await until(pilot, lambda: lst.dataset is app.dataset)
            normal = Dataset.open(str(root))
            assert [(e.id, e.path, e.state, e.tags, e.subset) for e in app.dataset.images] == \
                   [(e.id, e.path, e.state, e.tags, e.subset) for e in normal.images]
            assert [s.path for s in app.dataset.subsets] == [s.path for s in normal.subsets]
            assert list(lst.rows) == list(range(7))
            assert lst.cursor_key == 2
            assert "scanning" not in app.screen.query_one(StatusBar).info.message
    finally:
        release.set()


async def test_filter_while_the_scan_runs_shows_the_loaded_matches(tmp_path, monkeypatch):
    """Held after two captions (a seam, not timing): a typed filter narrows the rows loaded so
    far and the status says so; a bad query is reported under the box; edits stay refused; when
    the scan is released the same filter covers the whole dataset."""
    import threading

    from loratui.tui.messages import ScanRows
    from loratui.tui.widgets.image_list import ImageList

    from .helpers import type_text, until

    root = make_dataset(tmp_path / "ds")
    monkeypatch.setattr(scan_mod, "PROGRESS_EVERY", 2)
    held, release = threading.Event(), threading.Event()
    app = make_app(root)

    def hold(p):
        if 0 < p.captions_done < p.captions_total and not held.is_set():
            app.post_message(ScanRows(p))  # these rows on screen, whatever the refresh throttle did
            held.set()
            assert release.wait(10), "the test never released the scan"

    app.scan_hold = hold
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, held.is_set)
            screen = app.screen
            lst = screen.query_one(ImageList)
            await until(pilot, lambda: screen._scan is not None and screen._scan.ready == 2)
            assert app.dataset is None and len(lst.rows) == 7
            await pilot.press("slash")
            await type_text(pilot, "solo")
            await until(pilot, lambda: list(lst.rows) == [0])  # img00 (solo) of img00, img01 loaded
            bar = screen.query_one(StatusBar)
            assert bar.info.shown == 1 and bar.info.total == 7
            assert "filter: 1 of the 2 images loaded so far" in bar.info.message
            assert bar.info.message.startswith("scanning 2 / 6 captions")
            await type_text(pilot, " | hat")
            await until(pilot, lambda: list(lst.rows) == [0, 1])
            await type_text(pilot, " | (")
            await until(pilot, lambda: "--where:" in str(screen.query_one("#filter-error").render()))
            assert list(lst.rows) == [0, 1]  # the last valid filter stays
            for _ in range(4):
                await pilot.press("backspace")
            await pilot.press("enter")  # back to the list
            await until(pilot, lambda: lst.has_focus)
            await pilot.press("down")
            assert lst.cursor_key == 1
            await pilot.press("a")
            await pilot.pause()
            assert any("still scanning" in str(n.message) for n in app._notifications)
            release.set()
            await wait_loaded(app, pilot)
            # the whole dataset through the same filter: solo (0, 2, 3) or hat (1)
            await until(pilot, lambda: list(lst.rows) == [0, 1, 2, 3])
            assert lst.cursor_key == 1
            assert bar.info.shown == 4 and "scanning" not in bar.info.message
            assert bar.info.filters == "filter solo | hat"
    finally:
        release.set()
