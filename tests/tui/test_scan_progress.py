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
