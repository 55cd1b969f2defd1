"""Loss masks (NAME.mask.png) are not images: the scan lists them apart, so the dataset screen,
`stats`, the health check, the step math and the trainer all count the same images."""

from __future__ import annotations

import json
import subprocess
import sys

from loratui.dataset import Dataset
from loratui.dataset.scan import mask_stem, scan
from loratui.dataset.training_images import folder_images, training_image_ids

from .helpers import TINY_PNG, make_dataset
from .test_snapshot import problems, rows, settle


def masked(root):
    return make_dataset(root, {
        "10_mychar/a.png": TINY_PNG, "10_mychar/a.txt": "mychar, smile", "10_mychar/a.mask.png": TINY_PNG,
        "10_mychar/b.jpg": TINY_PNG, "10_mychar/b.txt": "mychar", "10_mychar/b.Mask.PNG": TINY_PNG,
        "10_mychar/c.png": TINY_PNG, "10_mychar/c.txt": "mychar",
        "10_mychar/gone.mask.png": TINY_PNG,  # its image was deleted: an orphan, never an image
        "2_only_masks/x.mask.png": TINY_PNG,  # a folder of nothing but masks is no subset
    })


def test_mask_stem_is_the_one_rule():
    assert mask_stem("a.mask.png") == "a"
    assert mask_stem("A.MASK.PNG") == "A"
    assert mask_stem("my.photo.mask.png") == "my.photo"
    assert mask_stem(".mask.png") is None and mask_stem("mask.png") is None
    assert mask_stem("a.mask.jpg") is None and mask_stem("a.png") is None


def test_masks_are_listed_apart_and_orphans_reported(tmp_path):
    root = masked(tmp_path / "ds")
    ds = Dataset.open(str(root))
    assert [e.path for e in ds.images] == ["10_mychar/a.png", "10_mychar/b.jpg", "10_mychar/c.png"]
    assert [s.path for s in ds.subsets] == ["10_mychar"]
    assert ds.masks == {"10_mychar/a.png": "10_mychar/a.mask.png", "10_mychar/b.jpg": "10_mychar/b.Mask.PNG"}
    orphans = sorted(p.path for p in ds.problems if p.kind == "orphan-mask")
    assert orphans == ["10_mychar/gone.mask.png", "2_only_masks/x.mask.png"]
    assert not any(p.kind == "orphan-caption" for p in ds.problems)
    # the training images (stats, step math, worker) are the dataset's images
    assert sorted(training_image_ids(ds)) == [0, 1, 2]
    assert sorted(r for r, _ in folder_images(str(root)).images) == ["10_mychar/a.png", "10_mychar/b.jpg",
                                                                    "10_mychar/c.png"]


def test_masks_survive_the_snapshot_and_changes_are_seen(tmp_path):
    root = masked(tmp_path / "ds")
    settle(root)
    first = Dataset.open(str(root))  # writes the snapshot (folders settled: listings stored)
    again = Dataset.open(str(root))
    assert rows(again) == rows(first) == rows(scan(str(root), ".txt"))
    assert again.masks == first.masks and problems(again) == problems(first)
    (root / "10_mychar" / "c.mask.png").write_bytes(TINY_PNG)  # a new mask: the folder changed
    (root / "10_mychar" / "a.mask.png").unlink()
    third = Dataset.open(str(root))
    assert third.masks == {"10_mychar/b.jpg": "10_mychar/b.Mask.PNG", "10_mychar/c.png": "10_mychar/c.mask.png"}
    assert [e.path for e in third.images] == [e.path for e in first.images]


def test_stats_and_check_count_masks_apart(tmp_path):
    root = masked(tmp_path / "ds")
    out = subprocess.run([sys.executable, "-m", "loratui", "stats", str(root), "--json"],
                         capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    assert data["images"] == 3 and data["training_images"] == 3 and data["masks"] == 2  # with an image
    assert data["subsets"][0]["images"] == 3
    text = subprocess.run([sys.executable, "-m", "loratui", "stats", str(root)],
                          capture_output=True, text=True, check=True).stdout
    assert "images    3 (3 with a caption" in text
    assert "masks     4 loss masks (NAME.mask.png); 2 without an image (not trained on)" in text

    from loratui.check.run import check_dataset

    report = check_dataset(Dataset.open(str(root)))
    orphan = report.find("orphan-mask")
    assert orphan and orphan[0].paths == ["10_mychar/gone.mask.png", "2_only_masks/x.mask.png"]
    assert "2 loss masks without an image" in orphan[0].message
    assert "2 image(s) have a loss mask" in report.find("masks")[0].message
