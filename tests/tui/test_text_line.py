"""TextLine: the preview's one-line labels (name, facts) drawn without Static's machinery."""

from __future__ import annotations

from textual.app import App

from loratui.tui.widgets.text_line import TextLine


class LineApp(App):
    def compose(self):
        yield TextLine(id="line")


async def test_text_line_cuts_long_text_and_colours_warnings():
    app = LineApp()
    async with app.run_test(size=(20, 3)) as pilot:
        line = app.query_one(TextLine)
        line.update("12×3 px", "  ", ("empty file", True))
        await pilot.pause()
        assert line.text == "12×3 px  empty file"
        strip = line.render_line(0)
        assert strip.text == "12×3 px  empty file "
        segments = list(strip)
        plain, warn = segments[0].style, segments[-2].style
        assert warn.color != plain.color  # the warning part in the warning colour
        line.update("a-very-long-file-name-that-does-not-fit.png")
        await pilot.pause()
        text = line.render_line(0).text
        assert len(text) == 20 and text.endswith("…") and text.startswith("a-very-long")
        assert line.render_line(1).text.strip() == ""
