"""The torch-free data pipeline: buckets, batch plans, caption processing, unusable images."""

from __future__ import annotations

import os
import random
from collections import Counter

import pytest

from loratui.train.data import (
    BucketManager,
    DataError,
    build_train_data,
    load_pixels,
    make_bucket_resolutions,
    process_caption,
)
from loratui.train.spec import SubsetSpec, TrainSpec

from .conftest import TWO_SUBSETS, make_dataset, tiny_spec


def test_bucket_resolutions_match_kohya_for_512():
    # sd-scripts' make_bucket_resolutions: widths 256..1024 step 64, height = floor(area / w) to 64, capped
    assert make_bucket_resolutions((512, 512), 256, 1024, 64) == [
        (256, 832), (256, 896), (256, 960), (256, 1024), (320, 704), (320, 768), (384, 640), (448, 576), (512, 512),
        (576, 448), (640, 384), (704, 320), (768, 320), (832, 256), (896, 256), (960, 256), (1024, 256)]


def test_bucket_sides_are_steps_within_bounds_and_area():
    for w, h in make_bucket_resolutions((768, 768), 320, 1536, 64):
        assert w % 64 == 0 and h % 64 == 0
        assert 320 <= w <= 1536 and 320 <= h <= 1536
        assert w * h <= 768 * 768


def _spec(**kw) -> TrainSpec:
    return TrainSpec(base_model="m", output_dir="o", **kw)


def test_select_nearest_aspect_and_cover_resize():
    bm = BucketManager(_spec(resolution=(512, 512)))
    assert bm.select(1000, 500) == ((704, 320), (704, 352))  # nearest ratio 2.2 (640x384 is 1.67)
    assert bm.select(512, 512) == ((512, 512), (512, 512))
    bucket, resized = bm.select(300, 900)
    assert bucket == (256, 832)  # ratio 0.308, nearest to 0.333
    assert resized[0] >= bucket[0] and resized[1] >= bucket[1]


def test_no_upscale_keeps_small_images_small():
    bm = BucketManager(_spec(resolution=(512, 512), bucket_no_upscale=True))
    assert bm.select(300, 200) == ((256, 192), (300, 200))
    bucket, resized = bm.select(2000, 1000)  # too big: scaled down to the area first
    assert bucket[0] * bucket[1] <= 512 * 512 and bucket[0] % 64 == 0 and bucket[1] % 64 == 0
    assert resized[0] >= bucket[0] and resized[1] >= bucket[1]


def test_bucketing_disabled_uses_the_resolution():
    bm = BucketManager(_spec(resolution=(512, 512), enable_bucket=False))
    assert bm.select(1000, 500) == ((512, 512), (1024, 512))


def test_caption_keep_tokens_shuffle_and_dropouts():
    tags = ["mychar", "1girl", "smile", "hat", "sky"]
    sub = SubsetSpec(path="x", keep_tokens=1, shuffle_caption=True)
    seen = set()
    for k in range(30):
        out = process_caption(tags, sub, random.Random(k)).split(", ")
        assert out[0] == "mychar" and sorted(out) == sorted(tags)
        seen.add(tuple(out))
    assert len(seen) > 5
    # no shuffle: unchanged
    assert process_caption(tags, SubsetSpec(path="x"), random.Random(0)) == ", ".join(tags)
    # whole-caption dropout
    assert process_caption(tags, SubsetSpec(path="x", caption_dropout_rate=1.0), random.Random(0)) == ""
    # tag dropout never drops kept tokens
    assert process_caption(tags, SubsetSpec(path="x", keep_tokens=2, caption_tag_dropout_rate=1.0),
                           random.Random(0)) == "mychar, 1girl"
    rates = Counter(len(process_caption(tags, SubsetSpec(path="x", keep_tokens=1, caption_tag_dropout_rate=0.5),
                                        random.Random(k)).split(", ")) for k in range(400))
    assert 1.5 < sum(n * c for n, c in rates.items()) / 400 < 4.5


def test_build_data_counts_repeats_buckets_and_captions(dataset_dir, tmp_path):
    spec = tiny_spec("model", dataset_dir, str(tmp_path / "out"))
    data = build_train_data(spec)
    assert len(data.items) == 6 and not data.skipped
    assert data.num_train_images() == 4 * 2 + 2 * 1
    no_caption = [it for it in data.items if it.path.endswith("2_mychar/img03.png")][0]
    assert no_caption.tags == ["mychar"]  # class tokens stand in for a missing caption
    assert set(data.buckets()) == {(48, 48), (32, 64), (64, 32)}
    for it in data.items:
        assert it.resized[0] >= it.bucket[0] and it.resized[1] >= it.bucket[1]
    assert data.dataset_dirs() == {"2_mychar": {"n_repeats": 2, "img_count": 4},
                                   "1_bg": {"n_repeats": 1, "img_count": 2}}
    assert data.tag_frequency()["2_mychar"]["mychar"] == 4
    assert data.tag_frequency()["1_bg"] == {"scenery": 2, "sky": 1, "tree": 1}
    # batches: one bucket each, every image drawn `repeats` times per epoch
    for epoch in range(2):
        batches = data.epoch_batches(epoch)
        assert len(batches) == data.batches_per_epoch()
        drawn = Counter(i for b in batches for i, _ in b)
        for it in data.items:
            assert drawn[it.index] == data.subsets[it.subset].repeats
        for b in batches:
            assert len({data.items[i].bucket for i, _ in b}) == 1 and 1 <= len(b) <= 2
            for i, flip in b:
                assert not flip or data.subsets[data.items[i].subset].flip_aug
    # the plan is a pure function of (seed, epoch)
    assert data.epoch_batches(1) == build_train_data(spec).epoch_batches(1)
    assert data.epoch_batches(0) != data.epoch_batches(1)
    assert data.captions(data.epoch_batches(0)[0], 0, 0) == data.captions(data.epoch_batches(0)[0], 0, 0)


def test_load_pixels_shape_range_and_flip(dataset_dir, tmp_path):
    data = build_train_data(tiny_spec("model", dataset_dir, str(tmp_path / "out")))
    it = data.items[1]
    a = load_pixels(it)
    assert a.shape == (3, it.bucket[1], it.bucket[0]) and a.dtype.name == "float32"
    assert -1.0 <= a.min() and a.max() <= 1.0
    assert (load_pixels(it, flip=True) == a[:, :, ::-1]).all()


def test_corrupt_images_are_skipped_with_a_reason(dataset_dir, tmp_path):
    bg = os.path.join(dataset_dir, "1_bg")
    with open(os.path.join(bg, "garbage.png"), "wb") as f:
        f.write(b"not an image at all" * 10)
    with open(os.path.join(bg, "img00.png"), "rb") as f:
        png = f.read()
    with open(os.path.join(bg, "truncated.png"), "wb") as f:
        f.write(png[: len(png) // 2])
    with open(os.path.join(bg, "zero.png"), "wb"):
        pass
    data = build_train_data(tiny_spec("model", dataset_dir, str(tmp_path / "out")))
    # a training image is one whose header reads (loratui.dataset.training_images): the truncated
    # file counts here, as in the step math; its pixels fail when latents are cached, and the
    # worker drops it then (and says so in a second `dataset` event)
    assert len(data.items) == 7
    assert sorted(os.path.basename(p) for p, _ in data.skipped) == ["garbage.png", "zero.png"]
    why = dict((os.path.basename(p), w) for p, w in data.skipped)
    assert "cannot be decoded" in why["garbage.png"] and "zero-byte" in why["zero.png"]


def test_empty_dataset_is_an_error(tmp_path):
    make_dataset(str(tmp_path / "d"), {"3_x": []})
    os.makedirs(tmp_path / "d" / "3_x", exist_ok=True)
    spec = tiny_spec("model", str(tmp_path / "d"), str(tmp_path / "o"),
                     subsets=[SubsetSpec(path=str(tmp_path / "d" / "3_x"), repeats=3)])
    with pytest.raises(DataError, match="no usable training images"):
        build_train_data(spec)
    with pytest.raises(DataError, match="no such folder"):
        build_train_data(tiny_spec("model", "", "", subsets=[SubsetSpec(path=str(tmp_path / "missing"))]))


def test_steps_with_accumulation_and_max_steps(dataset_dir, tmp_path):
    data = build_train_data(tiny_spec("model", dataset_dir, str(tmp_path / "o"), grad_accumulation=2, epochs=3))
    assert data.steps_per_epoch() == -(-data.batches_per_epoch() // 2)
    assert data.total_steps() == 3 * data.steps_per_epoch()
    data.spec.max_train_steps = 2
    assert data.total_steps() == 2
    assert TWO_SUBSETS  # the fixture layout the counts above rely on
