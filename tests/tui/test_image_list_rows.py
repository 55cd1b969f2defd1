"""The image list draws a row again whenever anything it shows changed (rows are cached between
frames, so a scroll by one draws one new row): a stale row would show a wrong tag count or mark."""

from __future__ import annotations

from loratui.tui.widgets.image_list import ImageList

from .helpers import make_app, make_dataset, wait_loaded


async def test_rows_are_drawn_again_when_what_they_show_changes(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        lst = app.screen.query_one(ImageList)
        lst.focus()
        await pilot.pause()
        key = lst.rows[1]  # not the cursor's row
        e = app.dataset.images[key]
        first = lst.render_line(1)
        assert lst.render_line(1) is first  # unchanged: the drawn row is reused
        assert first.text.rstrip().endswith(str(len(e.tags)))

        e.changed_outside = True
        assert lst.render_line(1).text[1] == "~"
        e.caption.tags.append("new tag")
        assert lst.render_line(1).text.rstrip().endswith(str(len(e.tags)))
        lst.selected.add(key)
        assert lst.render_line(1).text[0] == "✓"

        # the cursor row takes the focused or unfocused cursor colours
        focused = lst.render_line(0)
        app.screen.query_one("#filter").focus()
        await pilot.pause()
        blurred = lst.render_line(0)
        assert focused.text == blurred.text
        assert [s.style for s in focused] != [s.style for s in blurred]

        # a narrower list draws narrower rows
        width = len(first.text)
        await pilot.resize_terminal(100, 40)
        await pilot.pause()
        assert len(lst.render_line(1).text) < width


async def test_a_cursor_move_repaints_its_rows_in_a_scrolled_list(tmp_path):
    """Moving the cursor inside the page repaints the two rows it left and reached, wherever the
    list is scrolled to (the rows' screen lines, not their indexes: they differ once scrolled)."""
    from textual.geometry import Region

    root = tmp_path / "ds"
    (root / "10_many").mkdir(parents=True)
    for i in range(200):
        (root / "10_many" / f"img{i:03d}.png").write_bytes(b"")
        (root / "10_many" / f"img{i:03d}.txt").write_text(f"tag{i}", encoding="utf-8")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        lst = app.screen.query_one(ImageList)
        lst.focus()
        lst.action_jump(150)
        await pilot.pause()
        top = lst.scroll_offset.y
        assert top > 0 and top < 150 < top + lst.size.height
        painted: list[Region] = []
        real = lst.refresh

        def spy(*regions, **kw):
            painted.extend(regions)
            return real(*regions, **kw)
        lst.refresh = spy  # type: ignore[method-assign]
        await pilot.press("up")
        assert lst.cursor == 149 and lst.scroll_offset.y == top  # moved inside the page
        lines = {r.y for r in painted}
        assert {150 - top, 149 - top} <= lines, (lines, top)
