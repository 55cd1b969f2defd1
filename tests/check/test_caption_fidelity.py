"""The health check reports repeated tags inside one caption and two caption files for one image."""

from __future__ import annotations

from PIL import Image

from loratui.check import check_folder
from loratui.dataset import Dataset


def _dataset(root):
    d = root / "10_mychar"
    d.mkdir(parents=True)
    for name in ("a", "b", "c"):
        Image.new("RGB", (64, 64), (10, 20, 30)).save(d / f"{name}.png")
    (d / "a.txt").write_text("mychar, long hair, smile, long hair, Long_Hair", encoding="utf-8")
    (d / "b.txt").write_text("mychar, smile", encoding="utf-8")
    (d / "b.caption").write_text("mychar, frown", encoding="utf-8")
    (d / "c.txt").write_text("mychar, hat", encoding="utf-8")
    return root


def test_duplicate_tags_in_one_caption_are_reported_and_fixable(tmp_path):
    root = _dataset(tmp_path)
    r = check_folder(str(root))
    dup = r.find("duplicate-tags")
    assert len(dup) == 1 and dup[0].paths == ["10_mychar/a.txt"]
    assert "long hair" in dup[0].message.lower()
    ds = Dataset.open(str(root))
    dup[0].fix.apply(ds)
    assert (root / "10_mychar" / "a.txt").read_text(encoding="utf-8") == "mychar, long hair, smile"
    assert not check_folder(str(root)).find("duplicate-tags")


def test_caption_beside_txt_says_which_is_used(tmp_path):
    root = _dataset(tmp_path)
    f = check_folder(str(root)).find("two-caption-files")
    assert len(f) == 1 and f[0].paths == ["10_mychar/b.caption"]
    assert "`10_mychar/b.txt` is used" in f[0].message and "`10_mychar/b.caption` is ignored" in f[0].message
    r = check_folder(str(root), caption_ext=".caption")
    f = r.find("two-caption-files")
    assert "`10_mychar/b.caption` is used" in f[0].message and "`10_mychar/b.txt` is ignored" in f[0].message
    # images whose only caption has the other extension train without it: said too
    assert sorted(r.find("caption-other-extension")[0].paths) == ["10_mychar/a.txt", "10_mychar/c.txt"]
