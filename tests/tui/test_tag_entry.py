"""Typing tags: the suggestion dropdown and writing tags in the dataset's style (issue 15)."""

from __future__ import annotations

from loratui.tui.dialogs.confirm_plan import ConfirmPlanScreen
from loratui.tui.services.settings import Settings
from loratui.tui.widgets.caption_editor import CaptionEditor, TagInput
from loratui.tui.widgets.tag_entry import TagDropdown
from loratui.tui.widgets.tag_list import TagList

from .helpers import caption, make_app, make_dataset, type_text, until, wait_edits, wait_loaded, wait_plan


def dropdown_lines(app) -> list[str]:
    dd = app.screen.query_one(TagDropdown)
    if not dd.has_class("-shown"):
        return []
    return [str(dd.get_option_at_index(i).prompt) for i in range(dd.option_count)]


async def test_dropdown_lists_matches_with_counts_and_keys_pick_one(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("down", "a")  # img01: mychar, 1girl, blonde hair, hat, outdoors
        await type_text(pilot, "hair")
        await until(pilot, lambda: len(dropdown_lines(app)) == 3)
        # no tag starts with "hair": substring matches, most frequent first, with counts
        assert dropdown_lines(app) == ["blonde hair  4", "red hair  1", "yellow hair  1"]
        assert "red hair" in str(app.screen.query_one(TagDropdown).render_line(1).text)
        await pilot.press("down", "down")  # to `red hair`
        await pilot.press("enter")  # Enter takes the picked suggestion...
        inp = app.screen.query_one(TagInput)
        assert inp.value == "red hair" and app.focused is inp and not dropdown_lines(app)
        await pilot.press("enter")  # ...and Enter again adds it
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img01.txt") == "mychar, 1girl, blonde hair, hat, outdoors, red hair"

        # fuzzy: letters in order find `yellow hair`; Tab accepts the first suggestion
        await pilot.press("a")
        await type_text(pilot, "ylwh")
        await until(pilot, lambda: dropdown_lines(app) == ["yellow hair  1"])
        await pilot.press("tab")
        assert inp.value == "yellow hair"
        # Esc closes the dropdown but stays in the input; the next Esc leaves it
        await pilot.press("ctrl+u")
        await type_text(pilot, "so")
        await until(pilot, lambda: dropdown_lines(app) == ["solo  3"])
        await pilot.press("escape")
        assert not dropdown_lines(app) and app.focused is inp
        await type_text(pilot, "l")  # typing goes on in the input, never to commands
        assert inp.value == "sol"
        await pilot.press("escape", "escape")
        assert isinstance(app.focused, TagList)
        assert caption(root, "10_mychar/img01.txt").endswith(", red hair")


async def test_typed_tag_is_written_in_the_datasets_style(tmp_path):
    root = make_dataset(tmp_path / "ds")  # captions use spaces: `blonde hair`
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("down", "a")
        await type_text(pilot, "long_hair, ^_^")
        note = app.screen.query_one(CaptionEditor).query_one("#tag-note")
        await until(pilot, lambda: "long_hair → long hair" in str(note.render()))
        assert "^_^ →" not in str(note.render())  # kaomoji keep their underscores
        await pilot.press("enter")
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img01.txt").endswith(", outdoors, long hair, ^_^")
        await pilot.press("u")  # one undo takes it back, byte for byte
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img01.txt") == "mychar, 1girl, blonde hair, hat, outdoors"


async def test_tag_style_off_keeps_what_was_typed(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root, settings=Settings(tag_style="off"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("down", "a")
        await type_text(pilot, "long_hair")
        await pilot.press("enter")
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img01.txt").endswith(", outdoors, long_hair")


async def test_add_to_selection_prompt_has_dropdown_and_style(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("space", "space", "a")  # images 0 and 1
        await type_text(pilot, "looking_at_viewer, blo")
        await until(pilot, lambda: dropdown_lines(app) == ["blonde hair  4"])
        await pilot.press("escape")  # closes the dropdown only: the prompt stays
        assert not isinstance(app.screen, ConfirmPlanScreen) and not dropdown_lines(app)
        await pilot.press("backspace", "backspace", "backspace")
        await type_text(pilot, "smi")
        await pilot.press("tab")
        assert app.screen.query_one("#answer").value == "looking_at_viewer, smile"
        await pilot.press("enter")
        await wait_plan(app, pilot)
        assert isinstance(app.screen, ConfirmPlanScreen)
        await pilot.press("y")
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img00.txt") == "mychar, 1girl, solo, blonde hair, smile, looking at viewer"
        assert caption(root, "10_mychar/img01.txt").endswith(", outdoors, looking at viewer, smile")
