"""The preview shows an image's loss mask (``m``): its alpha channel or ``NAME.mask.png``, as the trainer reads it."""

from __future__ import annotations

from PIL import Image

from loratui.tui.services.thumbnails import decode_mask_thumbnail

from .helpers import make_app, until, wait_loaded


def _rgba_half_transparent(path, size=(64, 32)):
    im = Image.new("RGBA", size, (200, 10, 10, 255))
    im.paste((200, 10, 10, 0), (0, 0, size[0] // 2, size[1]))  # left half ignored by the loss
    im.save(path)


def test_mask_from_alpha_file_none_and_wrong_size(tmp_path):
    _rgba_half_transparent(tmp_path / "a.png")
    th = decode_mask_thumbnail(str(tmp_path / "a.png"))
    assert th.facts.error is None and th.facts.mask_source == "alpha channel"
    assert th.image.mode == "L" and th.image.getpixel((2, 16)) == 0 and th.image.getpixel((60, 16)) == 255

    Image.new("RGB", (64, 32), "white").save(tmp_path / "b.jpg")
    m = Image.new("L", (64, 32), 0)
    m.paste(255, (0, 0, 64, 16))  # top half trained
    m.save(tmp_path / "b.mask.png")
    th = decode_mask_thumbnail(str(tmp_path / "b.jpg"))
    assert th.facts.mask_source == "b.mask.png" and th.image.getpixel((5, 2)) == 255 and th.image.getpixel((5, 30)) == 0

    Image.new("RGB", (64, 32), "white").save(tmp_path / "c.png")
    th = decode_mask_thumbnail(str(tmp_path / "c.png"))
    assert th.image is None and "no mask" in th.facts.error and "c.mask.png" in th.facts.error

    Image.new("RGB", (64, 32), "white").save(tmp_path / "d.png")
    Image.new("L", (10, 10), 255).save(tmp_path / "d.mask.png")
    th = decode_mask_thumbnail(str(tmp_path / "d.png"))
    assert th.image is None and "10x10" in th.facts.error and "64x32" in th.facts.error


async def test_m_toggles_the_preview_between_image_and_mask(tmp_path):
    sub = tmp_path / "5_thing"
    sub.mkdir()
    _rgba_half_transparent(sub / "a.png")
    (sub / "a.txt").write_text("thing, red", encoding="utf-8")
    Image.new("RGB", (64, 32), "white").save(sub / "b.png")
    (sub / "b.txt").write_text("thing", encoding="utf-8")
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        from loratui.tui.widgets.preview import Preview
        from loratui.tui.widgets.text_line import TextLine

        preview = app.screen.query_one(Preview)
        facts = preview.query_one("#facts", TextLine)
        await until(pilot, lambda: "64×32" in facts.text)
        assert "mask" not in facts.text
        await pilot.press("m")
        await until(pilot, lambda: "mask (alpha channel)" in facts.text)
        assert preview.show_mask
        await pilot.press("down")  # the mask view stays on while moving; a maskless image says why, first
        await until(pilot, lambda: facts.text.startswith("mask  no mask: no alpha channel and no b.mask.png"))
        await pilot.press("up")
        await until(pilot, lambda: "mask (alpha channel)" in facts.text)
        await pilot.press("m")
        await until(pilot, lambda: "mask" not in facts.text and "64×32" in facts.text)
        assert not preview.show_mask
