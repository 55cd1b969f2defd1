"""Pilot tests of the main flows: keys in, caption files and app state out."""

from __future__ import annotations

from loratui.tui.dialogs.confirm_plan import ConfirmPlanScreen
from loratui.tui.screens.tag_frequency import TagFrequencyScreen
from loratui.tui.widgets.caption_editor import CaptionEditor
from loratui.tui.widgets.image_list import ImageList
from loratui.tui.widgets.status_bar import StatusBar
from loratui.tui.widgets.tag_list import TagList

from .helpers import caption, make_app, make_dataset, type_text, until, wait_edits, wait_loaded, wait_plan


async def test_open_shows_every_image(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        lst = app.screen.query_one(ImageList)
        assert len(lst.rows) == 7
        assert app.focused is lst
        assert "7/7 shown" in str(app.screen.query_one(StatusBar).render())
        editor = app.screen.query_one(CaptionEditor)
        assert editor.tags == ["mychar", "1girl", "solo", "blonde hair", "smile"]
        assert "mychar" in editor.tag_list.trigger


async def test_cursor_moves_and_caption_follows(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("down", "down")
        editor = app.screen.query_one(CaptionEditor)
        assert editor.image_id == 2
        assert editor.tags == ["1girl", "mychar", "solo", "blonde hair"]
        await pilot.press("end")
        assert editor.image_id == 6 and editor.tags == []
        await pilot.press("home")
        assert editor.image_id == 0


async def test_add_tag_by_keys_writes_the_caption(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("a")  # from the image list: add to the current caption
        await type_text(pilot, "long hair, hat")
        await pilot.press("enter")
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img00.txt") == "mychar, 1girl, solo, blonde hair, smile, long hair, hat"
        assert isinstance(app.focused, TagList)


async def test_add_tag_autocompletes_from_the_dataset(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("down", "a")
        await type_text(pilot, "sm")
        await pilot.pause()
        await pilot.press("right", "enter")  # accept the suggestion, then add
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img01.txt").endswith(", smile")


async def test_remove_and_reorder_tags_by_keys(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("e")  # focus the caption editor
        await pilot.press("down", "down", "d")  # delete `solo`
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img00.txt") == "mychar, 1girl, blonde hair, smile"
        await pilot.press("K")  # cursor is on `blonde hair`: move it up
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img00.txt") == "mychar, blonde hair, 1girl, smile"
        await pilot.press("end", "f")  # `smile` to the front
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img00.txt") == "smile, mychar, blonde hair, 1girl"
        await pilot.press("J")
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img00.txt") == "mychar, smile, blonde hair, 1girl"


async def test_edit_tag_in_place(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("e", "down", "down", "down", "enter", "ctrl+u")
        await type_text(pilot, "golden hair")
        await pilot.press("enter")
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img00.txt") == "mychar, 1girl, solo, golden hair, smile"


async def test_escape_cancels_the_tag_input(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("a")
        await type_text(pilot, "nope")
        await pilot.press("escape")
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img00.txt") == "mychar, 1girl, solo, blonde hair, smile"
        assert isinstance(app.focused, TagList)


async def test_undo_and_redo(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        before = caption(root, "10_mychar/img00.txt")
        await pilot.press("e", "d")  # delete `mychar`
        await wait_edits(app, pilot)
        after = caption(root, "10_mychar/img00.txt")
        assert after == "1girl, solo, blonde hair, smile"
        await pilot.press("u")
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img00.txt") == before
        assert app.screen.query_one(CaptionEditor).tags[0] == "mychar"
        assert "undo 0/1" in str(app.screen.query_one(StatusBar).render())
        await pilot.press("U")
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img00.txt") == after
        await pilot.press("U")  # nothing left to redo: a notification, no crash
        await wait_edits(app, pilot)
        assert any("nothing to redo" in n.message for n in app._notifications)


async def test_filter_query(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        lst = app.screen.query_one(ImageList)
        await pilot.press("slash")
        await type_text(pilot, "solo -smile")
        await pilot.press("enter")
        assert lst.rows == [2, 3]
        assert app.focused is lst
        assert "2/7 shown" in str(app.screen.query_one(StatusBar).render())
        await pilot.press("slash", "ctrl+u")
        await type_text(pilot, "no-caption")
        await pilot.press("enter")
        assert lst.rows == [6]
        await pilot.press("slash", "ctrl+u")
        await type_text(pilot, "(hat")
        await pilot.press("enter")
        assert lst.rows == [6]  # a broken query keeps the last good result
        assert app.screen.query_one("#filter").has_class("-error")


async def test_filter_as_you_type(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("slash")
        await type_text(pilot, "hat")
        await until(pilot, lambda: app.screen.query_one(ImageList).rows == [1])  # after the typing debounce


async def test_subset_list_restricts_images(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("shift+tab", "shift+tab")  # filter box, then the subset list
        await pilot.press("down", "down")
        await pilot.pause()
        assert app.screen.query_one(ImageList).rows == [5, 6]


async def test_multi_select_and_bulk_add(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        lst = app.screen.query_one(ImageList)
        await pilot.press("space", "space")  # selects 0 and 1 (space moves down)
        await pilot.press("shift+down")  # extends to 2 and 3
        assert lst.selected == {0, 1, 2, 3}
        await pilot.press("a")
        await type_text(pilot, "best quality")
        await pilot.press("enter")
        await wait_plan(app, pilot)
        assert isinstance(app.screen, ConfirmPlanScreen)
        assert "in 4 files" in app.screen.plan.summary()
        await pilot.press("y")
        await wait_edits(app, pilot)
        for i in range(4):
            assert caption(root, f"10_mychar/img{i:02d}.txt").endswith(", best quality")
        assert "best quality" not in caption(root, "10_mychar/img04.txt")
        await pilot.press("escape")
        assert lst.selected == set()


async def test_bulk_rename_from_frequency_view_with_preview(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("t")
        assert isinstance(app.screen, TagFrequencyScreen)
        await pilot.press("slash")
        await type_text(pilot, "blonde")
        await pilot.press("enter")
        assert app.screen.table.rows == ["blonde hair"]
        await pilot.press("r", "ctrl+u")
        await type_text(pilot, "yellow hair")
        await pilot.press("enter")
        await wait_plan(app, pilot)
        assert isinstance(app.screen, ConfirmPlanScreen)
        summary = app.screen.plan.summary()
        assert "rename `blonde hair` -> `yellow hair` in 4 files" in summary
        assert "1 already had `yellow hair` (merged)" in summary
        await pilot.press("n")  # cancel: nothing written
        await wait_edits(app, pilot)
        assert "blonde hair" in caption(root, "10_mychar/img00.txt")
        await pilot.press("r", "ctrl+u")
        await type_text(pilot, "yellow hair")
        await pilot.press("enter")
        await wait_plan(app, pilot)
        await pilot.press("y")
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img00.txt") == "mychar, 1girl, solo, yellow hair, smile"
        assert caption(root, "10_mychar/img03.txt") == "mychar, 1girl, solo, yellow hair"
        assert isinstance(app.screen, TagFrequencyScreen)
        assert "blonde hair" not in app.screen.table.rows


async def test_merge_remove_front_and_show_images(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("t", "slash")
        await type_text(pilot, "hair")
        await pilot.press("enter", "ctrl+a", "r", "ctrl+u")
        await type_text(pilot, "hair colour")
        await pilot.press("enter")
        await wait_plan(app, pilot)
        assert isinstance(app.screen, ConfirmPlanScreen)
        await pilot.press("y")
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img03.txt") == "mychar, 1girl, solo, hair colour"
        assert caption(root, "10_mychar/img04.txt") == "mychar, 1girl, hair colour, sitting"
        assert app.screen.table.selected == set()  # the merged tags are gone
        await pilot.press("slash", "ctrl+u")
        await type_text(pilot, "sitting")
        await pilot.press("enter", "f")
        await wait_plan(app, pilot)
        await pilot.press("y")
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img04.txt") == "sitting, mychar, 1girl, hair colour"
        await pilot.press("d")
        await wait_plan(app, pilot)
        await pilot.press("y")
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img04.txt") == "mychar, 1girl, hair colour"
        await pilot.press("slash", "ctrl+u")
        await type_text(pilot, "hat")
        await pilot.press("enter", "enter")  # show these images
        await pilot.pause()
        assert not isinstance(app.screen, TagFrequencyScreen)
        assert app.screen.query_one(ImageList).rows == [1]


async def test_edit_refused_when_changed_outside_names_the_file(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        (root / "10_mychar/img00.txt").write_text("edited, elsewhere, meanwhile", encoding="utf-8")
        await pilot.press("e", "d")
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img00.txt") == "edited, elsewhere, meanwhile"
        assert any("10_mychar/img00.txt" in n.message for n in app._notifications)
        assert app.screen.query_one(CaptionEditor).tags == ["edited", "elsewhere", "meanwhile"]


async def test_refresh_picks_up_outside_changes(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        (root / "10_mychar/img00.txt").write_text("changed", encoding="utf-8")
        (root / "10_mychar/img09.png").write_bytes(b"")
        await pilot.press("f5")
        await wait_edits(app, pilot)
        assert len(app.screen.query_one(ImageList).rows) == 8
        assert app.screen.query_one(CaptionEditor).tags == ["changed"]
        assert any("1 added" in n.message for n in app._notifications)


async def test_quit_is_immediate(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("q")
        await pilot.pause()
        assert app._exit


async def test_quit_waits_for_pending_edits(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("e", "d", "q")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert caption(root, "10_mychar/img00.txt") == "1girl, solo, blonde hair, smile"


async def test_help_and_palette_list_actions(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("question_mark")
        from loratui.tui.screens.help import HelpScreen

        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for want in ("Edit: undo", "Caption: add tag", "Dataset: tag frequencies", "Images: filter",
                     "Theme: next loratui theme"):
            assert want in titles


async def test_layout_at_80x24(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(app, pilot)
        screen = app.screen
        assert screen.has_class("-narrow")
        assert not screen.query_one("#subsets").display or screen.query_one("#subsets").region.width == 0
        lst = screen.query_one(ImageList)
        editor = screen.query_one(CaptionEditor)
        assert lst.region.width >= 30 and lst.region.height >= 10
        assert editor.region.width >= 30 and editor.region.height >= 5
        assert screen.query_one(StatusBar).region.y == 22
        await pilot.press("b")  # the subset pane can still be shown
        await pilot.pause()
        assert screen.query_one("#subsets").region.width > 0
        await pilot.press("b", "t")
        await pilot.pause()
        assert app.screen.table.region.height >= 15


async def test_sort_cycles_name_tags_modified(tmp_path):
    import os

    root = make_dataset(tmp_path / "ds")
    os.utime(root / "4_bg/bg1.png", (1, 2_000_000_000))  # the newest file
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        lst = app.screen.query_one(ImageList)
        await pilot.press("s")
        assert app.screen.sort_mode == "tags"
        assert len(app.dataset.images[lst.rows[0]].tags) == 5 and lst.rows[-1] == 6
        await pilot.press("s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.sort_mode == "modified" and lst.rows[0] == 6
        await pilot.press("s")
        assert lst.rows == list(range(7))


async def test_journal_position_survives_a_restart(tmp_path):
    from loratui.dataset import Dataset, RemoveTags

    root = make_dataset(tmp_path / "ds")
    Dataset.open(str(root)).run(RemoveTags(["smile"]))
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        assert "undo 1/1" in str(app.screen.query_one(StatusBar).render())
        await pilot.press("u")
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img00.txt").endswith(", smile")


async def test_empty_folder_opens(tmp_path):
    (tmp_path / "empty").mkdir()
    app = make_app(tmp_path / "empty")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(app, pilot)
        assert app.screen.query_one(ImageList).rows == []
        await pilot.press("down", "space", "a", "escape", "t")
        await pilot.pause()
        assert app.screen.table.rows == []
        await pilot.press("r", "d", "escape")


async def test_missing_folder_is_reported(tmp_path):
    import asyncio

    app = make_app(tmp_path / "nope")
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            if app._notifications:
                break
            await asyncio.sleep(0.02)
        await pilot.pause()
        assert any("no such folder" in n.message for n in app._notifications)
        assert "no such folder" in str(app.screen.query_one(StatusBar).render())
        await pilot.press("down", "a", "t", "u")  # nothing loaded: keys are harmless
