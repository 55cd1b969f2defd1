"""The dataset screen reaches every other screen by key: auto-tag, training config, inspector."""

from __future__ import annotations

from loratui.tui.config_screen import ConfigScreen
from loratui.tui.inspector_screen import InspectorScreen
from loratui.tui.screens.dataset_screen import DatasetScreen
from loratui.tui.tagging_dialog import TaggingDialog

from .helpers import make_app, make_dataset, wait_loaded


async def test_auto_tag_dialog_opens_with_the_trigger_word(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("T")
        await pilot.pause()
        assert isinstance(app.screen, TaggingDialog)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DatasetScreen)


async def test_training_config_is_prefilled_from_the_dataset_and_kept(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConfigScreen)
        cfg = screen.config
        assert [(s.image_dir, s.repeats) for s in cfg.dataset.subsets] == [("10_mychar", 10), ("4_bg", 4)]
        assert cfg.dataset.root == str(root)
        cfg.network.dim = 8  # an edit made in the form...
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DatasetScreen)
        await pilot.press("c")
        await pilot.pause()
        assert app.screen.config.network.dim == 8  # ...is still there on the next visit


async def test_inspector_opens_from_the_dataset_screen(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, InspectorScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DatasetScreen)


async def test_runs_list_opens_from_the_dataset_screen(tmp_path):
    from loratui.tui.monitor import RunsScreen

    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)
        assert app.screen.roots == [str(root / ".loratui" / "runs")]


async def test_launch_of_an_unusable_config_is_a_notification(tmp_path):
    root = make_dataset(tmp_path / "ds")
    bad = tmp_path / "bad.toml"
    bad.write_text("schema_version = 1\n[model]\nbase = 3\n")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        app._launch(str(bad))
        await app.workers.wait_for_complete()
        await pilot.pause()
        notes = [n.message for n in app._notifications]
        assert any("bad.toml" in m for m in notes), notes
        assert isinstance(app.screen, DatasetScreen)
