"""The dHash is of the image as shown: EXIF orientation applied, and only when there is one."""

from __future__ import annotations

from PIL import Image

from loratui.check.image_facts import decode_facts


def _picture() -> Image.Image:
    im = Image.new("RGB", (160, 96), "white")
    im.paste((0, 0, 0), (0, 0, 60, 96))
    im.paste((128, 128, 128), (100, 20, 160, 60))
    return im


def test_rotated_by_exif_hashes_like_the_upright_picture(tmp_path):
    upright = _picture()
    upright.save(tmp_path / "upright.png")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # stored turned; orientation 6 turns it back
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(tmp_path / "turned.png", exif=exif)
    stored.save(tmp_path / "turned_no_exif.png")
    w, h, dh_up, err = decode_facts(str(tmp_path / "upright.png"))
    assert (w, h, err) == (160, 96, "")
    w, h, dh_turned, err = decode_facts(str(tmp_path / "turned.png"))
    assert (w, h, err) == (160, 96, "")  # the size as shown
    assert dh_turned == dh_up
    _, _, dh_plain, _ = decode_facts(str(tmp_path / "turned_no_exif.png"))
    assert dh_plain != dh_up  # without the tag the stored pixels are what is hashed
