"""The dataset screen reaches every other screen by key: auto-tag, training config, inspector."""

from __future__ import annotations

from loratui.tui.dialogs.tagging import TaggingDialog
from loratui.tui.screens.config import ConfigScreen
from loratui.tui.screens.dataset import DatasetScreen
from loratui.tui.screens.inspector import InspectorScreen

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
    from loratui.tui.screens.monitor import RunsScreen

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


async def _wait_for(pilot, cond, timeout=20.0):
    import asyncio

    for _ in range(int(timeout / 0.05)):
        if cond():
            return
        await asyncio.sleep(0.05)
        await pilot.pause()
    raise AssertionError("condition not reached")


async def test_health_check_from_the_dataset_screen_shows_findings_and_their_images(tmp_path):
    from loratui.check import Report
    from loratui.tui.screens.health import HealthPane, HealthScreen
    from loratui.tui.widgets.image_list import ImageList

    root = make_dataset(tmp_path / "ds")
    (root / "10_mychar" / "img00.png").write_bytes(b"not an image")  # a corrupt image: an error finding
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, HealthScreen)
        pane = app.screen.query_one(HealthPane)
        await _wait_for(pilot, lambda: isinstance(pane.report, Report))
        corrupt = [f for f in pane.report.errors if "img00.png" in f.message or "10_mychar/img00.png" in str(f.paths)]
        assert corrupt, [f.message for f in pane.report.findings]
        app.post_message(HealthPane.ShowImages(corrupt[0].image_ids, "corrupt images"))
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, DatasetScreen)
        assert app.screen.query_one(ImageList).rows == corrupt[0].image_ids == [0]
        app.screen.set_query("")  # clearing the filter shows everything again
        assert len(app.screen.query_one(ImageList).rows) == 7


async def test_launch_runs_the_check_and_errors_need_the_override(tmp_path, monkeypatch):
    from loratui.config import new_config
    from loratui.tui.screens.health import HealthScreen

    root = make_dataset(tmp_path / "ds")
    (root / "4_bg" / "bg0.png").write_bytes(b"")  # zero-byte image: an error
    cfg = new_config(str(root), "character", base=str(tmp_path / "model"))
    path = str(tmp_path / "run.toml")
    cfg.save(path)
    app = make_app(root)
    launched = []
    monkeypatch.setattr(type(app), "_launch", lambda self, p: launched.append(p))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        app._check_then_launch(cfg, path)
        await _wait_for(pilot, lambda: isinstance(app.screen, HealthScreen))
        assert app.screen.gate and app.screen.report.blocks_launch
        await pilot.press("l")  # greyed out: errors block
        await pilot.pause()
        assert launched == [] and isinstance(app.screen, HealthScreen)
        await pilot.press("ctrl+o")  # the explicit override
        await pilot.pause()
        assert launched == [path]


async def test_config_screen_stacks_its_side_panel_at_80x24(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConfigScreen) and screen.has_class("-narrow")
        side = screen.query_one("#cfg-side")
        form = screen.query_one("#cfg-form")
        assert side.region.y > form.region.y and side.region.width == 80  # under the form, full width
