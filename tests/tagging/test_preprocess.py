from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from loratui.tagging import ImageSkipped, load_image, preprocess, reference_preprocess

# Pinned output of the reference preprocessing for a 6x4 RGBA gradient, half transparent on the
# right, at size 8: white padding rows, alpha composited on white, bicubic, BGR order.
GOLDEN_B = np.array([
    [255, 255, 255, 255, 255, 255, 255, 255],
    [222, 210, 193, 184, 207, 205, 195, 190],
    [198, 178, 149, 134, 173, 169, 153, 143],
    [202, 183, 156, 142, 179, 175, 160, 151],
    [202, 183, 156, 142, 179, 175, 160, 151],
    [198, 178, 149, 134, 173, 169, 153, 143],
    [222, 210, 193, 184, 207, 205, 195, 190],
    [255, 255, 255, 255, 255, 255, 255, 255],
], dtype=np.float32)


def gradient_rgba() -> Image.Image:
    a = np.zeros((4, 6, 4), np.uint8)
    for y in range(4):
        for x in range(6):
            a[y, x] = (40 * x, 60 * y, 200 - 30 * x, 255 if x < 3 else 128)
    return Image.fromarray(a, "RGBA")


def test_golden_values():
    out = preprocess(gradient_rgba(), 8)
    assert out.shape == (8, 8, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, :, 0], GOLDEN_B)
    assert out[4, 2].tolist() == [156.0, 109.0, 52.0]  # B, G, R
    assert out[3, 5].tolist() == [175.0, 165.0, 203.0]
    assert float(out.sum()) == 34238.0
    np.testing.assert_array_equal(out, reference_preprocess(gradient_rgba(), 8))


def test_bgr_order_and_white_padding():
    im = Image.new("RGB", (10, 4), (255, 0, 0))  # pure red, wide
    out = preprocess(im, 10)
    assert out[5, 5].tolist() == [0.0, 0.0, 255.0]  # red is last in BGR
    assert out[0, 5].tolist() == [255.0, 255.0, 255.0]  # padded rows are white


def test_transparent_is_white():
    im = Image.new("RGBA", (8, 8), (10, 20, 30, 0))
    assert (preprocess(im, 8) == 255).all()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "PA", "CMYK", "1", "I;16", "I", "F"])
@pytest.mark.parametrize("size", [(23, 17), (17, 23), (20, 20), (64, 40)])
def test_fast_path_matches_reference(mode, size):
    rng = np.random.default_rng(sum(size))
    base = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 4), dtype=np.uint8), "RGBA")
    if mode == "P":
        im = base.convert("RGB").quantize(16)
    else:
        im = base.convert(mode)
    np.testing.assert_array_equal(preprocess(im, 32), reference_preprocess(im, 32))


def test_palette_with_transparency_matches_reference():
    im = Image.new("P", (12, 9), 0)
    im.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    im.paste(1, (0, 0, 6, 9))
    im.info["transparency"] = 1
    np.testing.assert_array_equal(preprocess(im, 16), reference_preprocess(im, 16))


def test_load_image_formats(tmp_path):
    for fmt, ext in [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp"), ("BMP", "bmp")]:
        p = tmp_path / f"a.{ext}"
        Image.new("RGB", (30, 20), (1, 2, 3)).save(p, format=fmt)
        out = load_image(str(p), 16)
        assert out.shape == (16, 16, 3)


def write_bytes(tmp_path, name, data: bytes) -> str:
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


def png_bytes(size=(64, 64)) -> bytes:
    b = io.BytesIO()
    Image.new("RGB", size, (9, 9, 9)).save(b, format="PNG")
    return b.getvalue()


def test_bad_images_are_skipped_with_a_reason(tmp_path):
    cases = {
        "empty.png": (b"", "empty"),
        "garbage.png": (b"not an image at all" * 10, "not a readable image"),
        "truncated.png": (png_bytes()[:-40], "truncated"),
    }
    for name, (data, why) in cases.items():
        with pytest.raises(ImageSkipped, match=why):
            load_image(write_bytes(tmp_path, name, data), 16)
    with pytest.raises(ImageSkipped, match="not found"):
        load_image(str(tmp_path / "gone.png"), 16)


def test_truncated_jpeg(tmp_path):
    b = io.BytesIO()
    Image.new("RGB", (200, 200), (200, 10, 10)).save(b, format="JPEG")
    p = write_bytes(tmp_path, "t.jpg", b.getvalue()[: len(b.getvalue()) // 2])
    with pytest.raises(ImageSkipped):
        load_image(p, 16)


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    # a 1-bit PNG of 20000x20000 is a few KB on disk but 400 MP decoded
    p = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000), 0).save(p, format="PNG")
    with pytest.raises(ImageSkipped, match="too large"):
        load_image(str(p), 16)
    with pytest.raises(ImageSkipped, match="too large"):
        load_image(write_bytes(tmp_path, "small.png", png_bytes((100, 100))), 16, max_pixels=5000)


def test_fast_decode_is_close_to_the_reference(tmp_path):
    rng = np.random.default_rng(3)
    im = Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).resize((1600, 1200), Image.BILINEAR)
    p = tmp_path / "big.jpg"
    im.save(p, quality=92)
    exact = load_image(str(p), 64)
    fast = load_image(str(p), 64, fast=True)
    assert fast.shape == exact.shape
    assert float(np.abs(fast - exact).mean()) < 3.0
    # small images are untouched by the fast path
    small = tmp_path / "small.jpg"
    im.resize((50, 40)).save(small)
    np.testing.assert_array_equal(load_image(str(small), 64, fast=True), load_image(str(small), 64))
