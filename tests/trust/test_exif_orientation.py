"""EXIF orientation: an image stored 600x300 with orientation 6 is 300x600 everywhere (kohya and
every trainer apply ImageOps.exif_transpose)."""

from __future__ import annotations

from PIL import Image

from loratui.dataset import Dataset
from loratui.dataset.training_images import probe_image


def rotated_jpeg(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new("RGB", (600, 300), (220, 10, 10))  # left half red, right half blue
    im.paste((10, 10, 220), (300, 0, 600, 300))
    ex = Image.Exif()
    ex[0x0112] = 6
    im.save(path, exif=ex.tobytes())
    return path


def test_header_size_honours_the_orientation_tag(tmp_path):
    p = rotated_jpeg(tmp_path / "ds" / "10_x" / "a.jpg")
    assert probe_image(str(p)).size == (300, 600)  # what the buckets use
    ds = Dataset.open(tmp_path / "ds")
    assert ds.pixel_size(ds.images[0]) == (300, 600)


def test_pixels_are_transposed_for_the_trainer_tagger_and_preview(tmp_path):
    p = rotated_jpeg(tmp_path / "a.jpg")
    from loratui.tagging.preprocessing import load_image
    from loratui.tui.services.thumbnails import decode_thumbnail

    th = decode_thumbnail(str(p))
    assert (th.facts.width, th.facts.height) == (300, 600) and th.image.size[0] < th.image.size[1]
    a = load_image(str(p), 64)  # BGR: shown upright, the red half is on top (stored: on the left)
    assert a[12, 32, 2] > 150 and a[12, 32, 0] < 100
    assert a[52, 32, 0] > 150 and a[52, 32, 2] < 100
