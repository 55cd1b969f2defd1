"""Snapshots of the main screens on a fixed small dataset (images off: deterministic).

Update with ``pytest tests/tui/test_snapshots.py --snapshot-update`` after a deliberate UI change.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .helpers import make_app, make_dataset, wait_loaded

SNAP_ROOT = Path("/tmp/loratui-snapshots")


def fixed_dataset(name: str) -> Path:
    """The status bar shows the dataset path, so it must not vary between runs."""
    root = SNAP_ROOT / name
    shutil.rmtree(root, ignore_errors=True)
    return make_dataset(root)


def settle(app, *keys):
    async def run_before(pilot):
        await wait_loaded(app, pilot)
        for k in keys:
            await pilot.press(k)
            await pilot.pause()
        await pilot.pause(0.2)  # the preview's debounce
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.screen.clear_notifications() if hasattr(app.screen, "clear_notifications") else None
        app.clear_notifications()

    return run_before


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_dataset_screen(snap_compare, size):
    app = make_app(fixed_dataset(f"main-{size[0]}"))
    assert snap_compare(app, terminal_size=size, run_before=settle(app, "down"))


def test_tag_frequency_screen(snap_compare):
    app = make_app(fixed_dataset("tags"))
    assert snap_compare(app, terminal_size=(100, 30), run_before=settle(app, "t", "enter", "space"))


def test_rename_preview(snap_compare):
    app = make_app(fixed_dataset("rename"))
    keys = ["t", "slash", *"blonde", "enter", "r", "ctrl+u", *"yellow", "space", *"hair", "enter"]
    assert snap_compare(app, terminal_size=(100, 30), run_before=settle(app, *keys))


def test_high_contrast_80x24(snap_compare):
    app = make_app(fixed_dataset("contrast"), theme="loratui-high-contrast")
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle(app, "e"))


def test_help_screen(snap_compare):
    app = make_app(fixed_dataset("help"))
    assert snap_compare(app, terminal_size=(100, 40), run_before=settle(app, "question_mark"))
