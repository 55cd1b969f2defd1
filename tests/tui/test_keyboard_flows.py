"""Keyboard flows of issue 15, driven by keys; each checks the files on disk and the screen text."""

from __future__ import annotations

from loratui.tui.screens.monitor import RunsScreen
from loratui.tui.widgets.caption_editor import CaptionEditor, TagInput
from loratui.tui.widgets.image_list import ImageList

from .helpers import caption, make_app, make_dataset, type_text, until, wait_edits, wait_loaded


def editor_text(app) -> str:
    from textual.widgets import Static

    return str(app.screen.query_one(CaptionEditor).query_one("#completions", Static).render())


async def test_a_refused_add_keeps_the_input_so_keys_are_not_commands(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("a")
        await type_text(pilot, "solo")
        await pilot.press("enter")  # "already tagged solo"
        await pilot.pause()
        assert isinstance(app.focused, TagInput), "the box stays open after a refused add"
        await type_text(pilot, "rd")  # `r` would open the runs screen, `d` delete a tag
        await pilot.pause()
        assert not isinstance(app.screen, RunsScreen)
        assert app.focused.value == "rd"
        await pilot.press("escape")
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img00.txt") == "mychar, 1girl, solo, blonde hair, smile"


async def test_an_unreadable_caption_says_why_and_opens_no_input(tmp_path):
    root = make_dataset(tmp_path / "ds")
    (root / "4_bg/bg0.txt").write_bytes(b"caf\xe9, sky")  # latin-1: refused, never rewritten
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        lst = app.screen.query_one(ImageList)
        await pilot.press("end", "up")  # bg0
        await pilot.pause()
        assert app.dataset.images[lst.cursor_key].path == "4_bg/bg0.png"
        text = editor_text(app)
        assert "not editable" in text and "4_bg/bg0.txt" in text
        await pilot.press("a")
        await pilot.pause()
        assert not isinstance(app.focused, TagInput)
        await type_text(pilot, "x")
        await wait_edits(app, pilot)
        assert (root / "4_bg/bg0.txt").read_bytes() == b"caf\xe9, sky"
        await pilot.press("up")  # a readable caption clears the note
        await pilot.pause()
        assert "not editable" not in editor_text(app)


async def test_a_hidden_subsets_pane_still_shows_its_filter_in_the_status_bar(tmp_path):
    from loratui.tui.widgets.status_bar import StatusBar
    from loratui.tui.widgets.subset_list import SubsetList

    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        app.screen.query_one(SubsetList).focus()
        await pilot.press("down", "down")  # All images, 10_mychar, 4_bg
        await pilot.pause()
        status = app.screen.query_one(StatusBar)
        assert "2/7 shown" in str(status.render()) and "subset 4_bg" in str(status.render())
        assert "pane hidden" not in str(status.render())
        await pilot.press("b")  # hide the pane: the filter stays, and says so
        await pilot.pause()
        assert not app.screen.query_one(SubsetList).display or not app.screen.subsets_pane_shown()
        assert "subset 4_bg (pane hidden: b)" in str(status.render())
        assert isinstance(app.focused, ImageList), "focus leaves the hidden pane"
        await pilot.press("slash")
        await type_text(pilot, "sky")
        await pilot.press("enter")
        await pilot.pause()
        assert "filter sky" in str(status.render()) and "1/7 shown" in str(status.render())


async def test_a_bad_query_shows_the_cli_error_inline(tmp_path):
    from textual.widgets import Static

    from loratui.dataset import QueryError, parse_query

    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        line = app.screen.query_one("#filter-error", Static)
        assert not line.display or "-shown" not in line.classes
        await pilot.press("slash")
        for bad in ("(hat", "1girl -", "tags<abc"):
            try:
                parse_query(bad)
            except QueryError as e:
                expected = str(e)
            else:
                raise AssertionError(f"{bad!r} parses")
            await pilot.press("end", "ctrl+u")  # the box keeps focus while the query is wrong
            await type_text(pilot, bad)
            await pilot.press("enter")
            await pilot.pause()
            assert expected in str(line.render()), (bad, str(line.render()))
            assert "-shown" in line.classes
        await pilot.press("end", "ctrl+u")
        await type_text(pilot, "hat")
        await pilot.press("enter")
        await pilot.pause()
        assert "-shown" not in line.classes
        assert len(app.screen.query_one(ImageList).rows) == 1


async def test_remove_a_tag_from_the_selection_and_dedupe(tmp_path):
    from loratui.tui.dialogs.confirm_plan import ConfirmPlanScreen
    from loratui.tui.dialogs.prompt import PromptScreen

    from .helpers import wait_plan

    root = make_dataset(tmp_path / "ds")
    (root / "10_mychar/img04.txt").write_text("mychar, (smile:1.2), 1girl, smile, red_hair, red hair", encoding="utf-8")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        lst = app.screen.query_one(ImageList)
        await pilot.press("space", "space")  # images 0 and 1
        assert lst.selected == {0, 1}
        await pilot.press("d")
        assert isinstance(app.screen, PromptScreen)
        await type_text(pilot, "blonde hair")
        await pilot.press("enter")
        await wait_plan(app, pilot)
        assert isinstance(app.screen, ConfirmPlanScreen)
        assert "remove `blonde hair` in 2 files" in app.screen.plan.summary()
        await pilot.press("y")
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img00.txt") == "mychar, 1girl, solo, smile"
        assert caption(root, "10_mychar/img01.txt") == "mychar, 1girl, hat, outdoors"
        assert "blonde hair" in caption(root, "10_mychar/img02.txt"), "not selected: untouched"
        await pilot.press("escape")  # clear the selection: dedupe acts on every image shown
        await pilot.pause()
        await pilot.press("D")
        await wait_plan(app, pilot)
        assert isinstance(app.screen, ConfirmPlanScreen)
        assert "in 1 file" in app.screen.plan.summary()
        await pilot.press("y")
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img04.txt") == "mychar, (smile:1.2), 1girl, red_hair"
        await pilot.press("u")  # one undo step puts it back
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img04.txt") == "mychar, (smile:1.2), 1girl, smile, red_hair, red hair"


async def test_tag_frequencies_follow_the_scope_and_w_toggles_the_whole_dataset(tmp_path):
    from textual.widgets import Static

    from loratui.tui.dialogs.confirm_plan import ConfirmPlanScreen
    from loratui.tui.screens.tag_frequency import TagFrequencyScreen

    from .helpers import wait_plan

    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("slash")
        await type_text(pilot, "hat")
        await pilot.press("enter")  # one image: mychar, 1girl, blonde hair, hat, outdoors
        await pilot.pause()
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TagFrequencyScreen)
        scope = str(screen.query_one("#tag-scope", Static).render())
        assert "filter hat" in scope and "1 images" in scope
        assert set(screen.table.rows) == {"mychar", "1girl", "blonde hair", "hat", "outdoors"}
        assert screen.table.scoped["blonde hair"] == 1
        await pilot.press("enter", "w")  # from the filter to the list, where w toggles the scope
        await pilot.pause()
        assert "whole dataset" in str(screen.query_one("#tag-scope", Static).render())
        assert "sky" in screen.table.rows and screen.table.scoped is None
        await pilot.press("w")  # back to the scope: a bulk remove touches only its images
        await pilot.pause()
        await pilot.press("slash")
        await type_text(pilot, "blonde")
        await pilot.press("enter")  # to the list, on `blonde hair`
        await pilot.pause()
        assert screen.table.cursor_key == "blonde hair"
        await pilot.press("d")
        await wait_plan(app, pilot)
        assert isinstance(app.screen, ConfirmPlanScreen)
        assert "in 1 file" in app.screen.plan.summary()
        await pilot.press("y")
        await wait_edits(app, pilot)
        assert "blonde hair" not in caption(root, "10_mychar/img01.txt")
        assert "blonde hair" in caption(root, "10_mychar/img00.txt")


async def test_config_form_keeps_its_modified_marker_and_quit_asks(tmp_path):
    from textual.widgets import Input, Static

    from loratui.tui.dialogs.confirm import ConfirmDialog
    from loratui.tui.screens.config import ConfigScreen
    from loratui.tui.widgets.config_fields import field_id

    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConfigScreen)
        assert not isinstance(app.focused, Input), "no field focused with its value selected"
        await pilot.press("x")  # a stray key changes nothing
        await pilot.pause()
        assert not screen.dirty
        screen.show_field("optim.unet_lr")  # its tab may be composed only now
        await until(pilot, lambda: app.focused is not None and app.focused.id == field_id("optim.unet_lr"))
        await pilot.press("end", "backspace")
        await type_text(pilot, "5")
        await pilot.pause()
        assert screen.dirty
        await pilot.press("escape")  # back to the images: the edit and its marker are kept
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        screen = app.screen
        screen.flush()
        assert screen.dirty and str(screen.query_one("#cfg-title", Static).render()).endswith(" *")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")  # stay
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, ConfigScreen)
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert not app.is_running


async def test_checkbox_and_radio_state_shows_without_colour(tmp_path):
    from textual.widgets import Checkbox, RadioButton

    from loratui.tui.dialogs.tagging import TaggingDialog

    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("T")
        await pilot.pause()
        assert isinstance(app.screen, TaggingDialog)
        boxes = list(app.screen.query(Checkbox))
        on = [b for b in boxes if b.value]
        off = [b for b in boxes if not b.value]
        assert on and off
        assert all("▐X▌" in str(b.render()) for b in on)
        assert all("▐ ▌" in str(b.render()) for b in off)
        radios = list(app.screen.query(RadioButton))
        assert any("▐●▌" in str(r.render()) for r in radios if r.value)
        assert all("▐ ▌" in str(r.render()) for r in radios if not r.value)
        off[0].value = True  # the mark follows the value
        await pilot.pause()
        assert "▐X▌" in str(off[0].render())


async def test_bulk_preview_lists_read_only_files_as_refused(tmp_path):
    import os

    from textual.widgets import Static

    from loratui.tui.dialogs.confirm_plan import ConfirmPlanScreen

    from .helpers import wait_plan

    root = make_dataset(tmp_path / "ds")
    locked = root / "10_mychar/img01.txt"
    os.chmod(locked, 0o444)
    try:
        app = make_app(root)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_loaded(app, pilot)
            await pilot.press("space", "space")  # images 0 and 1
            await pilot.press("a")
            await type_text(pilot, "best quality")
            await pilot.press("enter")
            await wait_plan(app, pilot)
            assert isinstance(app.screen, ConfirmPlanScreen)
            assert "1 will be refused (read-only)" in app.screen.plan.summary()
            shown = " ".join(str(s.render()) for s in app.screen.query(Static))
            assert "refused 10_mychar/img01.txt" in shown and "read-only" in shown
            await pilot.press("y")
            await wait_edits(app, pilot)
            assert caption(root, "10_mychar/img00.txt").endswith(", best quality")
            assert not caption(root, "10_mychar/img01.txt").endswith("best quality")
    finally:
        os.chmod(locked, 0o644)


async def test_a_read_only_dataset_or_file_says_read_only_not_unreadable(tmp_path, monkeypatch):
    import os

    from loratui.dataset import Dataset

    root = make_dataset(tmp_path / "ds")
    locked = root / "10_mychar/img01.txt"
    os.chmod(locked, 0o444)
    try:
        app = make_app(root)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_loaded(app, pilot)
            await pilot.press("down")  # img01: its caption file is read-only
            await pilot.pause()
            text = editor_text(app)
            assert "not editable" in text and "10_mychar/img01.txt is read-only" in text
            assert "cannot read" not in text
            await pilot.press("a")
            await pilot.pause()
            assert not isinstance(app.focused, TagInput)
    finally:
        os.chmod(locked, 0o644)
    monkeypatch.setattr(Dataset, "read_only", lambda self: "it is on a read-only file system")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        text = editor_text(app)
        assert "not editable" in text and "read-only" in text and "read-only file system" in text
        assert "cannot read" not in text
