from __future__ import annotations

from loratui.check import CheckOptions, check_folder
from loratui.check.resolution import bucket_manager

from .helpers import character_dataset, save


def test_tiny_images_are_upscaled_warnings_slightly_small_are_notes(tmp_path):
    character_dataset(tmp_path, 20)
    save(tmp_path, "10_mychar/tiny.png", seed=1, size=(128, 160), caption="mychar, 1girl")
    save(tmp_path, "10_mychar/almost.png", seed=2, size=(448, 448), caption="mychar, 1girl")
    r = check_folder(str(tmp_path))
    up = r.find("upscaled")[0]
    assert up.paths == ["10_mychar/tiny.png"] and "128x160" in up.message
    assert r.find("upscaled-slightly")[0].paths == ["10_mychar/almost.png"]
    # with bucket_no_upscale the small image is not upscaled: a note about its small bucket
    r = check_folder(str(tmp_path), CheckOptions(bucket_no_upscale=True))
    assert not r.find("upscaled")
    assert "10_mychar/tiny.png" in r.find("small-no-upscale")[0].paths


def test_extreme_aspect_ratio_and_single_image_buckets(tmp_path):
    character_dataset(tmp_path, 20)
    save(tmp_path, "10_mychar/wide.png", seed=3, size=(1600, 400), caption="mychar, 1girl")
    save(tmp_path, "10_mychar/tall.png", seed=4, size=(512, 768), caption="mychar, 1girl")
    r = check_folder(str(tmp_path))
    assert r.find("aspect-ratio")[0].paths == ["10_mychar/wide.png"]
    single = r.find("single-image-buckets")[0]
    assert single.level == "note" and set(single.paths) == {"10_mychar/wide.png", "10_mychar/tall.png"}
    r = check_folder(str(tmp_path), CheckOptions(batch_size=4))
    assert r.find("single-image-buckets")[0].level == "warning"
    buckets = {b["bucket"]: b["images"] for b in r.stats["buckets"]}
    assert buckets["512x512"] == 20


def test_bucket_distribution_follows_the_trainers_bucketing(tmp_path):
    character_dataset(tmp_path, 20)
    for i, size in enumerate([(600, 900), (610, 905), (900, 600)]):
        save(tmp_path, f"10_mychar/p{i}.png", seed=50 + i, size=size, caption="mychar, 1girl")
    opts = CheckOptions(resolution=(512, 512))
    r = check_folder(str(tmp_path), opts)
    bm = bucket_manager(opts)
    want: dict[str, int] = {}
    for size in [(512, 512)] * 20 + [(600, 900), (610, 905), (900, 600)]:
        b = bm.select(*size)[0]
        want[f"{b[0]}x{b[1]}"] = want.get(f"{b[0]}x{b[1]}", 0) + 1
    assert {b["bucket"]: b["images"] for b in r.stats["buckets"]} == want
    table = r.find("buckets")[0]
    assert len(table.detail) == len(want)


def test_bucketing_off_crops_non_square_images(tmp_path):
    character_dataset(tmp_path, 20)
    save(tmp_path, "10_mychar/wide.png", seed=3, size=(900, 512), caption="mychar, 1girl")
    r = check_folder(str(tmp_path), CheckOptions(enable_bucket=False))
    f = r.find("aspect-ratio")[0]
    assert f.paths == ["10_mychar/wide.png"] and "cropped" in f.message
