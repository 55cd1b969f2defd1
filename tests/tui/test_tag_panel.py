"""The all-tags panel (p): toggle tags on the current image or the selection by keys (issue 15)."""

from __future__ import annotations

from loratui.tui.widgets.image_list import ImageList
from loratui.tui.widgets.tag_panel import TagPanel, TagPanelList

from .helpers import caption, make_app, make_dataset, type_text, until, wait_edits, wait_loaded


def panel_lines(app) -> list[str]:
    lst = app.screen.query_one(TagPanelList)
    return [lst.render_line(y).text.rstrip() for y in range(min(len(lst.rows), lst.size.height))]


def row(app, tag: str) -> str:
    return next(line for line in panel_lines(app) if line.endswith(" " + tag))


async def test_panel_toggles_a_tag_on_the_current_image(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        panel = app.screen.query_one(TagPanel)
        assert not panel.display  # hidden until asked for
        await pilot.press("down", "p")  # img01: mychar, 1girl, blonde hair, hat, outdoors
        lst = app.screen.query_one(TagPanelList)
        assert panel.display and app.focused is lst
        # the preview gives the panel its room: the image list stays readable beside it
        assert app.screen.query_one(ImageList).size.width >= 25
        # most frequent first, with counts, marked without colour
        assert lst.rows[:3] == ["1girl", "mychar", "blonde hair"]
        assert row(app, "1girl").startswith("[x]") and "5" in row(app, "1girl")
        assert row(app, "solo").startswith("[ ]")
        # typing narrows (letters are never commands here), Space toggles on
        await type_text(pilot, "solo")
        assert lst.rows == ["solo"] and "filter: solo" in str(panel.query_one("#tagpanel-filter").render())
        await pilot.press("space")
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img01.txt") == "mychar, 1girl, blonde hair, hat, outdoors, solo"
        await until(pilot, lambda: row(app, "solo").startswith("[x]"))
        assert "4" in row(app, "solo")  # the count follows the edit (no rescan)
        await pilot.press("enter")  # and off again
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img01.txt") == "mychar, 1girl, blonde hair, hat, outdoors"
        await pilot.press("backspace", "backspace", "backspace", "backspace")
        assert len(lst.rows) > 5
        await pilot.press("u")  # `u` is typing here: narrows to tags with a u
        assert all("u" in t for t in lst.rows)
        await pilot.press("escape")  # back to the images; the undo key works again there
        assert isinstance(app.focused, ImageList)
        await pilot.press("u")
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img01.txt").endswith(", solo")


async def test_panel_toggles_on_the_selection_add_then_remove(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("space", "space")  # img00 (solo) and img01 (no solo)
        await pilot.press("p")
        await type_text(pilot, "solo")
        await until(pilot, lambda: row(app, "solo").startswith("[-]"))  # some of the selection
        await pilot.press("space")  # some have it: add to those missing it
        await wait_edits(app, pilot)
        assert caption(root, "10_mychar/img00.txt") == "mychar, 1girl, solo, blonde hair, smile"
        assert caption(root, "10_mychar/img01.txt").endswith(", outdoors, solo")
        await until(pilot, lambda: row(app, "solo").startswith("[x]"))
        await pilot.press("space")  # all have it: remove from all
        await wait_edits(app, pilot)
        assert "solo" not in caption(root, "10_mychar/img00.txt")
        assert "solo" not in caption(root, "10_mychar/img01.txt")
        assert "solo" in caption(root, "10_mychar/img02.txt")  # not selected: untouched


async def test_panel_at_80x24_keeps_the_layout(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("p")
        panel = app.screen.query_one(TagPanel)
        images = app.screen.query_one(ImageList)
        assert panel.display and panel.size.width >= 20 and images.size.width >= 20
        assert panel.region.right <= 80
        await pilot.press("p")  # inside the panel, p is typing
        assert panel.display and panel.typed == "p"
        await pilot.press("escape", "p")  # Esc back to the images, p hides the panel
        assert not panel.display and app.focused is images


async def test_panel_narrowing_key_by_key_matches_ranking_every_tag(tmp_path):
    """Typing narrows from the last result and backspace reuses earlier ones; the rows are always
    exactly what ranking every tag afresh gives (one-letter queries match prefixes only, so `r`
    then `re` must still find `bare feet`)."""
    from loratui.dataset.tag_style import rank_matches

    root = tmp_path / "ds"
    (root / "10_x").mkdir(parents=True)
    tags = ["red hair", "bare feet", "rare_red", "green eyes", "dress", "^_^", "r", "re", "arm rest", "red_eyes"]
    for i in range(len(tags)):
        (root / "10_x" / f"{i}.png").write_bytes(b"")
        (root / "10_x" / f"{i}.txt").write_text(", ".join(tags[: i + 1]), encoding="utf-8")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("p")
        panel = app.screen.query_one(TagPanel)
        lst = app.screen.query_one(TagPanelList)

        def fresh(typed: str) -> list[str]:
            return [t for t, _ in rank_matches(typed, panel._ranked, limit=len(panel._ranked))]

        typed = ""
        for key in ["r", "e", "d", "backspace", "backspace", "_", "e", "backspace", "backspace",
                    "backspace", "^", "_", "^", "backspace", "backspace", "backspace", "a", "r", "m"]:
            await pilot.press(key)
            typed = typed[:-1] if key == "backspace" else typed + key
            assert panel.typed == typed
            assert lst.rows == (fresh(typed) if typed.strip() else [t for t, _, _ in panel._ranked]), typed
        assert "bare feet" in fresh("re") and "bare feet" not in fresh("r")
