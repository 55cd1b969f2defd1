from __future__ import annotations

import os

from loratui.check import CheckOptions, check_folder
from loratui.config import TrainConfig

from .helpers import character_dataset, save


def test_clean_character_dataset_has_no_errors_or_warnings(tmp_path):
    character_dataset(tmp_path, 24)
    r = check_folder(str(tmp_path))
    assert r.errors == [], r.errors
    assert r.warnings == [], [str(w) for w in r.warnings]
    assert not r.blocks_launch
    assert r.stats["training_images"] == 24


def test_corrupt_truncated_zero_byte_are_errors_naming_the_file(tmp_path):
    character_dataset(tmp_path, 20)
    good = (tmp_path / "10_mychar" / "img000.png").read_bytes()
    (tmp_path / "10_mychar" / "trunc.png").write_bytes(good[: len(good) // 3])
    (tmp_path / "10_mychar" / "zero.png").write_bytes(b"")
    (tmp_path / "10_mychar" / "garbage.jpg").write_bytes(b"not a jpeg at all" * 10)
    for n in ("trunc", "zero", "garbage"):
        (tmp_path / "10_mychar" / f"{n}.txt").write_text("mychar, 1girl")
    r = check_folder(str(tmp_path))
    corrupt = r.find("corrupt-image")[0]
    assert set(corrupt.paths) == {"10_mychar/trunc.png", "10_mychar/garbage.jpg"}
    assert all(p in "\n".join(corrupt.detail) for p in corrupt.paths)
    zero = r.find("zero-byte-image")[0]
    assert zero.paths == ["10_mychar/zero.png"] and "zero.png" in zero.message
    assert r.blocks_launch
    # a second check reads the cache and says the same
    r2 = check_folder(str(tmp_path))
    assert r2.stats["image_facts"]["decoded"] == 0
    assert set(r2.find("corrupt-image")[0].paths) == set(corrupt.paths)


def test_scan_problems_are_reused_and_grouped(tmp_path):
    character_dataset(tmp_path, 20)
    save(tmp_path, "10_mychar/nocap.png", seed=5)
    (tmp_path / "10_mychar" / "orphan.txt").write_text("a, b")
    save(tmp_path, "10_mychar/empty.png", seed=6)
    (tmp_path / "10_mychar" / "empty.txt").write_text("")
    save(tmp_path, "10_mychar/twin.png", seed=7, caption="mychar")
    save(tmp_path, "10_mychar/twin.jpg", seed=8)
    (tmp_path / "10_mychar" / "anim.gif").write_bytes(b"GIF89a")
    (tmp_path / "10_mychar" / "bad.txt").write_bytes(b"\xff\xfe\x00bad\x00\xff")
    save(tmp_path, "10_mychar/bad.png", seed=9)
    r = check_folder(str(tmp_path))
    codes = set(r.codes())
    for c in ("no-caption", "orphan-caption", "empty-caption", "duplicate-stem", "unsupported-extension"):
        assert c in codes, (c, codes)
    assert "10_mychar/nocap.png" in r.find("no-caption")[0].paths
    assert r.find("orphan-caption")[0].paths == ["10_mychar/orphan.txt"]
    stem = r.find("duplicate-stem")[0]
    assert len(stem.image_ids) == 2


def test_few_images_overall_and_per_subset(tmp_path):
    character_dataset(tmp_path, 8)
    r = check_folder(str(tmp_path))
    assert "only 8 training images" in r.find("few-images")[0].message
    character_dataset(tmp_path, 25, folder="5_more")
    r = check_folder(str(tmp_path))
    assert not r.find("few-images")
    sub = r.find("few-images-subset")
    assert len(sub) == 1 and "`10_mychar` has only 8 images" in sub[0].message


def test_no_images_and_missing_folder(tmp_path):
    r = check_folder(str(tmp_path))
    assert r.codes() == ["no-images"] and r.blocks_launch
    r = check_folder(str(tmp_path / "nope"))
    assert r.codes() == ["no-dataset"] and "nope" in r.findings[0].message


def test_steps_from_config(tmp_path):
    character_dataset(tmp_path / "ds", 20)
    cfg = TrainConfig()
    cfg.base_dir = str(tmp_path)
    cfg.dataset.root = "ds"
    from loratui.config import SubsetConfig

    cfg.dataset.subsets = [SubsetConfig("10_mychar", 10)]
    cfg.optim.batch_size = 2
    cfg.schedule.epochs = 10
    r = check_folder(str(tmp_path / "ds"), CheckOptions.from_config(cfg, root=str(tmp_path / "ds")))
    steps = r.find("steps")[0]
    assert steps.message.startswith("100 steps per epoch, 1,000 in total")
    assert r.stats["total_steps"] == 1000


def test_unwritable_cache_is_a_note_not_a_crash(tmp_path):
    character_dataset(tmp_path, 20)
    (tmp_path / ".loratui").mkdir(exist_ok=True)
    (tmp_path / ".loratui" / "cache").write_text("a file where the cache folder should be")
    r = check_folder(str(tmp_path))
    assert r.find("cache") and r.errors == []


def test_corrupt_cache_file_is_ignored(tmp_path):
    character_dataset(tmp_path, 20)
    check_folder(str(tmp_path))
    cache = tmp_path / ".loratui" / "cache" / "image_facts.json"
    cache.write_text("{ not json")
    r = check_folder(str(tmp_path))
    assert r.stats["image_facts"]["decoded"] == 20
    assert r.errors == []


def test_cache_invalidated_when_a_file_changes(tmp_path):
    character_dataset(tmp_path, 20)
    check_folder(str(tmp_path))
    p = tmp_path / "10_mychar" / "img003.png"
    save(tmp_path, "10_mychar/img003.png", seed=77, size=(256, 256))
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))
    r = check_folder(str(tmp_path))
    assert r.stats["image_facts"]["decoded"] == 1
    assert "10_mychar/img003.png" in r.find("upscaled")[0].paths


def test_unreadable_and_odd_images_are_findings(tmp_path):
    import pytest

    if os.geteuid() == 0:
        pytest.skip("root reads everything")
    character_dataset(tmp_path, 20)
    p = tmp_path / "10_mychar" / "img001.png"
    p.chmod(0)
    try:
        r = check_folder(str(tmp_path))
    finally:
        p.chmod(0o644)
    f = r.find("corrupt-image")[0]
    assert f.paths == ["10_mychar/img001.png"] and "cannot be read" in f.message


def test_palette_16bit_and_cmyk_images_decode(tmp_path):
    import numpy as np
    from PIL import Image

    character_dataset(tmp_path, 20)
    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).resize((512, 512))
    pal = rgb.convert("P")
    pal.info["transparency"] = 0
    pal.save(tmp_path / "10_mychar" / "pal.png", transparency=0)
    Image.fromarray((np.arange(512 * 512, dtype=np.uint32).reshape(512, 512) % 65535).astype(np.uint16)).save(
        tmp_path / "10_mychar" / "deep.png")
    rgb.convert("CMYK").save(tmp_path / "10_mychar" / "cmyk.jpg")
    rgb.convert("RGBA").save(tmp_path / "10_mychar" / "alpha.webp")
    r = check_folder(str(tmp_path))
    assert r.errors == [], [str(e) for e in r.errors]


def test_truncated_files_of_every_format_never_crash(tmp_path):
    import io
    import random

    from .helpers import picture

    character_dataset(tmp_path, 20)
    rnd = random.Random(0)
    im = picture(7, (200, 150))
    for fmt, ext in (("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp"), ("BMP", "bmp")):
        buf = io.BytesIO()
        (im.convert("RGB") if fmt == "JPEG" else im).save(buf, fmt)
        data = buf.getvalue()
        for k, cut in enumerate(sorted(rnd.sample(range(1, len(data)), 8))):
            (tmp_path / "10_mychar" / f"cut_{ext}_{k}.{ext}").write_bytes(data[:cut])
        flipped = bytearray(data)
        for _ in range(20):
            flipped[rnd.randrange(len(flipped))] ^= 0xFF
        (tmp_path / "10_mychar" / f"noise_{ext}.{ext}").write_bytes(bytes(flipped))
    (tmp_path / "10_mychar" / "random.png").write_bytes(bytes(rnd.getrandbits(8) for _ in range(3000)))
    r = check_folder(str(tmp_path))  # must not raise
    bad = {p for f in r.find("corrupt-image") for p in f.paths}
    assert "10_mychar/random.png" in bad
    assert sum(1 for p in bad if "/cut_" in p) >= 24  # most truncations are caught by decoding
    # training images are the one definition (header readable), so a truncated file whose header
    # reads is counted (as the step math and the worker's first count do) and reported as an error
    from loratui.dataset.training_images import probe_image

    files = [p for p in os.listdir(tmp_path / "10_mychar") if not p.endswith(".txt")]
    assert r.stats["usable_images"] == sum(probe_image(str(tmp_path / "10_mychar" / p)).ok for p in files)
    assert r.stats["usable_images"] + len(bad) >= r.stats["images"]
