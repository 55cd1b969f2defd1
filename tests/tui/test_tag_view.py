"""The tag-frequency view by keys: typing always filters, a visible focus, Esc clears then closes,
and one gesture on several tags is one undo step (files checked byte for byte)."""

from __future__ import annotations

from loratui.tui.screens.tag_frequency import TagFilter, TagFrequencyScreen
from loratui.tui.widgets.image_list import ImageList
from loratui.tui.widgets.subset_list import SubsetList
from loratui.tui.widgets.tag_table import TagTable

from .helpers import make_app, make_dataset, type_text, until, wait_edits, wait_loaded, wait_plan


def border(widget) -> str:
    return widget.styles.border.top[0]


async def test_typing_filters_whatever_has_focus_and_esc_clears_then_closes(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TagFrequencyScreen))
        screen = app.screen
        await pilot.pause()
        # the view opens in the filter: the first keys typed filter, even command letters
        assert isinstance(app.focused, TagFilter)
        assert border(screen.filter) == "heavy" and border(screen.table) != "heavy"  # the focus marker
        await type_text(pilot, "dress")  # `d` would be "remove" on the list
        await pilot.pause()
        assert screen.filter.value == "dress" and isinstance(app.screen, TagFrequencyScreen)
        await pilot.press("ctrl+u", "enter")  # Enter: to the list, where letters are commands
        await pilot.pause()
        assert isinstance(app.focused, TagTable)
        assert border(screen.table) == "heavy" and border(screen.filter) != "heavy"
        await type_text(pilot, "blo")  # a non-command key typed on the list goes to the filter, focus with it
        await pilot.pause()
        assert screen.filter.value == "blo" and isinstance(app.focused, TagFilter)
        assert border(screen.filter) == "heavy" and border(screen.table) != "heavy"
        assert screen.table.rows == ["blonde hair"]
        await pilot.press("ctrl+u")
        await type_text(pilot, "hair")
        await pilot.pause()
        first = screen.table.cursor_key
        await pilot.press("down")  # arrows move the list's cursor; the focus stays in the filter
        assert screen.table.cursor_key != first and isinstance(app.focused, TagFilter)
        await type_text(pilot, "zzz")  # no match: Enter does nothing but say so
        await pilot.pause()
        assert screen.table.rows == []
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen and isinstance(app.focused, TagFilter)
        assert any("no tag matches" in str(n.message) for n in app._notifications)
        await pilot.press("escape")  # first Esc clears the filter, focus stays
        await pilot.pause()
        assert app.screen is screen and screen.filter.value == "" and isinstance(app.focused, TagFilter)
        assert "sky" in screen.table.rows
        await pilot.press("escape")  # then closes the view: back to the dataset screen
        await until(pilot, lambda: not isinstance(app.screen, TagFrequencyScreen))
        assert not isinstance(app.focused, SubsetList)


async def test_enter_acts_on_the_visible_row_only(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TagFrequencyScreen))
        await type_text(pilot, "hat")
        await pilot.press("enter")  # to the list, on `hat`
        await pilot.pause()
        assert isinstance(app.focused, TagTable) and app.screen.table.cursor_key == "hat"
        await pilot.press("enter")  # show these images
        await until(pilot, lambda: not isinstance(app.screen, TagFrequencyScreen))
        assert app.screen.query_one(ImageList).rows == [1]


async def test_esc_in_the_dataset_filter_returns_to_the_image_list(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("slash")
        await type_text(pilot, "hat")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.focused, ImageList)
        subset = app.screen.query_one(SubsetList)
        before = subset.cursor if hasattr(subset, "cursor") else None
        await pilot.press("down")  # moves the image cursor, never the subset
        await pilot.pause()
        assert (subset.cursor if hasattr(subset, "cursor") else None) == before
        assert isinstance(app.focused, ImageList)


def _all_captions(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.txt"))}


async def test_removing_three_marked_tags_is_one_undo_step(tmp_path):
    root = make_dataset(tmp_path / "ds")
    before = _all_captions(root)
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TagFrequencyScreen))
        screen = app.screen
        await type_text(pilot, "o")  # solo, blonde hair, outdoors, no humans
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("space", "space", "space")  # mark three tags
        marked = set(screen.table.selected)
        assert len(marked) == 3
        await pilot.press("d")
        await wait_plan(app, pilot)
        await pilot.press("y")
        await wait_edits(app, pilot)
        after = _all_captions(root)
        assert after != before
        assert not any(t in p.read_text(encoding="utf-8").split(", ") for p in root.rglob("*.txt") for t in marked)
        await pilot.press("escape", "escape")  # clear the marks, close the view
        await until(pilot, lambda: not isinstance(app.screen, TagFrequencyScreen))
        await pilot.press("u")  # one undo restores every caption byte for byte
        await wait_edits(app, pilot)
        await until(pilot, lambda: _all_captions(root) == before)
        await pilot.press("U")  # one redo reapplies the whole gesture
        await wait_edits(app, pilot)
        await until(pilot, lambda: _all_captions(root) == after)


async def test_merging_marked_tags_is_one_undo_step(tmp_path):
    root = make_dataset(tmp_path / "ds")
    before = _all_captions(root)
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TagFrequencyScreen))
        await type_text(pilot, "hair")  # blonde hair, yellow hair, red hair
        await pilot.press("enter", "ctrl+a", "r", "ctrl+u")
        await type_text(pilot, "hair colour")
        await pilot.press("enter")
        await wait_plan(app, pilot)
        await pilot.press("y")
        await wait_edits(app, pilot)
        after = _all_captions(root)
        assert after != before
        assert all("hair colour" in v.decode() for k, v in after.items() if k.startswith("10_mychar"))
        await pilot.press("escape", "escape")  # the filter, then the view (the merged tags left no marks)
        await until(pilot, lambda: not isinstance(app.screen, TagFrequencyScreen))
        await pilot.press("u")
        await wait_edits(app, pilot)
        await until(pilot, lambda: _all_captions(root) == before)
        await pilot.press("U")
        await wait_edits(app, pilot)
        await until(pilot, lambda: _all_captions(root) == after)


async def test_every_key_of_the_tag_view_shows_at_80_columns(tmp_path):
    from textual.widgets import Footer

    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TagFrequencyScreen))
        await pilot.pause()
        footer = app.screen.query_one(Footer)
        assert footer.compact and not footer.show_command_palette
        # the keys' labels fit in 80 columns (compact: "key label" pairs, a space between them)
        own = {b.action for b in TagFrequencyScreen.BINDINGS} | {"toggle_select"}
        shown: dict[str, object] = {}
        for _, b, _enabled, _ in app.screen.active_bindings.values():
            if b.show and b.action in own:
                shown.setdefault(b.action, b)  # the footer shows one key per action
        width = sum(len(app.get_key_display(b)) + 1 + len(b.description) + 1 for b in shown.values())
        assert width <= 80, [b.description for b in shown.values()]
