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


def test_trainer_loads_and_buckets_the_oriented_image(tmp_path):
    # stored 60x30 with orientation 6: the trainer must see it as 30x60 (kohya applies exif_transpose)
    from loratui.train.data import BucketManager, build_train_data, load_pixels
    from loratui.train.spec import SubsetSpec, TrainSpec

    d = tmp_path / "ds" / "1_x"
    d.mkdir(parents=True)
    im = Image.new("RGB", (60, 30), (220, 10, 10))  # stored: red on the left, blue on the right
    im.paste((10, 10, 220), (30, 0, 60, 30))
    ex = Image.Exif()
    ex[0x0112] = 6
    im.save(d / "a.png", exif=ex.tobytes())
    (d / "a.txt").write_text("x\n")
    spec = TrainSpec(base_model="m", output_dir=str(tmp_path / "out"), subsets=[SubsetSpec(path=str(d))],
                     resolution=(48, 48), min_bucket_reso=16, max_bucket_reso=64, bucket_reso_steps=16)
    bm = BucketManager(spec)
    assert bm.select(30, 60)[0] != bm.select(60, 30)[0]  # the orientation changes the bucket
    (item,) = build_train_data(spec).items
    assert item.size == (30, 60)
    assert (item.bucket, item.resized) == bm.select(30, 60)
    a = load_pixels(item)
    bw, bh = item.bucket
    assert a.shape == (3, bh, bw) and bh > bw
    # upright, the stored left (red) half is on top and the blue half at the bottom
    assert a[0, 2, bw // 2] > 0.5 and a[2, 2, bw // 2] < -0.5
    assert a[2, bh - 3, bw // 2] > 0.5 and a[0, bh - 3, bw // 2] < -0.5
