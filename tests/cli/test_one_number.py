"""One definition of a training image: stats, check, the config's step math and the worker count
the same images on an awkward dataset (broken symlink, zero-byte, corrupt, uncaptioned, nested)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from PIL import Image


def _awkward(root) -> str:
    char = root / "10_mychar"
    (char / "more").mkdir(parents=True)
    for i, size in enumerate([(512, 512), (512, 768), (768, 512), (640, 640), (300, 900), (512, 512)]):
        Image.new("RGB", size, (i * 30, 80, 120)).save(char / f"ok{i}.png")
        (char / f"ok{i}.txt").write_text("mychar, 1girl", encoding="utf-8")
    Image.new("RGB", (600, 400)).save(char / "uncaptioned.jpg")  # no caption: trains on class tokens
    Image.new("RGB", (400, 600)).save(char / "more" / "nested.png")  # the scan (and the worker) recurse
    (char / "zero.png").write_bytes(b"")
    (char / "corrupt.webp").write_bytes(b"RIFF....WEBPnope")
    os.symlink(root / "gone.png", char / "dangling.png")
    bg = root / "2_bg"
    bg.mkdir()
    for i in range(3):
        Image.new("RGB", (768, 432), (10, 20, 30 + i)).save(bg / f"bg{i}.png")
    (bg / "empty.jpg").write_bytes(b"")
    return str(root)


def test_stats_check_stepmath_and_worker_agree(tmp_path):
    from loratui.check import check_folder
    from loratui.config import new_config, step_math
    from loratui.train.data import build_train_data
    from loratui.train.spec import spec_from_config

    root = _awkward(tmp_path / "data")
    p = subprocess.run([sys.executable, "-m", "loratui", "stats", root, "--json"], capture_output=True, text=True,
                       timeout=120)
    stats = json.loads(p.stdout)
    report = check_folder(root)
    cfg = new_config(root, "character", base=str(tmp_path / "model.safetensors"))
    math = step_math(cfg, seconds_per_step=0.0)
    data = build_train_data(spec_from_config(cfg))

    want = 6 + 1 + 1 + 3  # readable images, captioned or not, nested included
    assert stats["training_images"] == want
    assert report.stats["training_images"] == want
    assert math.images == want and sum(s.images for s in math.subsets) == want
    assert len(data.items) == want
    per_subset = {s["path"]: s["training_images"] for s in stats["subsets"]}
    assert per_subset == {"10_mychar": 8, "2_bg": 3}
    assert [s.images for s in math.subsets] == [8, 3]
    assert stats["images_x_repeats"] == math.views_per_epoch == data.num_train_images() == 8 * 10 + 3 * 2
    # the config check's own count says the same number
    findings = cfg.validate()
    assert not any("only" in f.message and "training images" in f.message and str(want) not in f.message
                   for f in findings)
    assert "only 11 training images" in [f.message for f in findings]


def test_weighted_tag_one_count_in_cli_and_index(tmp_path):
    """`(smile:1.2)` counts as `smile`: `loratui stats` says what the tag view's index says."""
    from loratui.dataset import Dataset

    sub = tmp_path / "data" / "3_x"
    sub.mkdir(parents=True)
    for i, c in enumerate(["(smile:1.2), solo", "smile", "solo, (smile:0.8), smile"]):
        Image.new("RGB", (8, 8)).save(sub / f"{i}.png")
        (sub / f"{i}.txt").write_text(c, encoding="utf-8")
    root = str(tmp_path / "data")
    p = subprocess.run([sys.executable, "-m", "loratui", "stats", root, "--json"], capture_output=True, text=True,
                       timeout=120)
    top = {d["tag"]: d["count"] for d in json.loads(p.stdout)["top_tags"]}
    assert top == {"smile": 3, "solo": 2}
    assert Dataset.open(root).index.counts() == top
