from __future__ import annotations

import shutil

from loratui.check import check_folder, excluded_entries, restore_excluded
from loratui.check.duplicates import near_groups, near_pairs
from loratui.dataset import Dataset

from .helpers import character_dataset, picture, save


def _dup_dataset(root):
    character_dataset(root, 20)
    d = root / "10_mychar"
    shutil.copy(d / "img000.png", d / "copy_a.png")
    shutil.copy(d / "img000.png", d / "copy_b.png")
    (d / "copy_a.txt").write_text("mychar, 1girl, solo")
    # near-duplicates of img001: resized, re-encoded as JPEG, both
    src = picture(1001, (512, 512))
    save(root, "10_mychar/small.png", im=src.resize((256, 256)), caption="mychar, 1girl")
    save(root, "10_mychar/recode.jpg", im=src, quality=70, caption="mychar, 1girl")
    save(root, "10_mychar/both.jpg", im=src.resize((384, 384)), quality=60)
    return root


def test_exact_and_near_duplicates_are_grouped_with_the_group_shown(tmp_path):
    _dup_dataset(tmp_path)
    r = check_folder(str(tmp_path))
    exact = r.find("exact-duplicates")
    assert len(exact) == 1
    assert set(exact[0].paths) == {"10_mychar/img000.png", "10_mychar/copy_a.png", "10_mychar/copy_b.png"}
    assert len(exact[0].fix.image_ids) == 2  # keeps one
    assert any(line.startswith("keep") for line in exact[0].detail)
    near = r.find("near-duplicates")
    assert len(near) == 1
    assert set(near[0].paths) == {"10_mychar/img001.png", "10_mychar/small.png", "10_mychar/recode.jpg",
                                  "10_mychar/both.jpg"}
    ds = Dataset.open(str(tmp_path))
    kept = set(near[0].image_ids) - set(near[0].fix.image_ids)
    assert [ds.images[i].path for i in kept] == ["10_mychar/img001.png"]  # the largest original is kept
    # the other 19 distinct pictures are in no group
    assert r.stats["duplicate_images"] == 2 + 3


def test_exclude_moves_images_with_captions_and_restore_brings_them_back(tmp_path):
    _dup_dataset(tmp_path)
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if ".loratui" not in p.parts)
    ds = Dataset.open(str(tmp_path))
    from loratui.check import check_dataset

    r = check_dataset(ds)
    fix = r.find("exact-duplicates")[0].fix
    moved_paths = {ds.images[i].path for i in fix.image_ids}
    counts = fix.apply(ds)
    assert counts["removed"] == 2
    for p in moved_paths:
        assert not (tmp_path / p).exists()
        assert (tmp_path / ".loratui" / "excluded" / p).exists()
    assert (tmp_path / ".loratui" / "excluded" / "10_mychar" / "copy_a.txt").exists()  # caption went along
    assert not (tmp_path / "10_mychar" / "copy_a.txt").exists()
    assert len(excluded_entries(str(tmp_path))) == 1
    r2 = check_dataset(ds)
    assert not r2.find("exact-duplicates")
    restored, problems = restore_excluded(str(tmp_path))
    assert problems == [] and len(restored) == 3
    after = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if ".loratui" not in p.parts)
    assert after == before
    assert excluded_entries(str(tmp_path)) == []


def test_restore_leaves_a_file_whose_place_is_taken(tmp_path):
    _dup_dataset(tmp_path)
    ds = Dataset.open(str(tmp_path))
    from loratui.check import exclude_images

    i = next(e.id for e in ds.images if e.path == "10_mychar/copy_b.png")
    exclude_images(ds, [i])
    save(tmp_path, "10_mychar/copy_b.png", seed=5)
    restored, problems = restore_excluded(str(tmp_path))
    assert restored == [] and "copy_b.png" in problems[0]
    assert len(excluded_entries(str(tmp_path))) == 1


def test_shared_caption_is_copied_not_moved(tmp_path):
    character_dataset(tmp_path, 20)
    save(tmp_path, "10_mychar/twin.png", seed=3, caption="mychar, twin")
    save(tmp_path, "10_mychar/twin.jpg", seed=4)
    ds = Dataset.open(str(tmp_path))
    from loratui.check import exclude_images

    i = next(e.id for e in ds.images if e.path == "10_mychar/twin.jpg")
    exclude_images(ds, [i])
    assert (tmp_path / "10_mychar" / "twin.txt").exists()
    assert (tmp_path / ".loratui" / "excluded" / "10_mychar" / "twin.txt").exists()
    restore_excluded(str(tmp_path))
    assert (tmp_path / "10_mychar" / "twin.jpg").exists()
    assert not (tmp_path / ".loratui" / "excluded" / "10_mychar" / "twin.txt").exists()


def test_near_pairs_band_search_matches_brute_force():
    import random

    rnd = random.Random(3)
    hashes = [rnd.getrandbits(64) for _ in range(300)]
    for k in range(60):  # plant close pairs
        h = hashes[k]
        for _ in range(rnd.randint(0, 7)):
            h ^= 1 << rnd.randrange(64)
        hashes.append(h)
    ids = list(range(len(hashes)))
    for t in (0, 3, 6, 7):
        got = {(a, b) for a, b, _ in near_pairs(ids, hashes, t)}
        want = {(a, b) for a in ids for b in ids if a < b and bin(hashes[a] ^ hashes[b]).count("1") <= t}
        assert got == want
    groups = near_groups(dict(enumerate(hashes)), 6)
    assert all(len(g) >= 2 for g, _ in groups)


def test_fixes_find_their_images_by_path_after_an_exclusion_shifted_ids(tmp_path):
    from loratui.check import check_dataset

    _dup_dataset(tmp_path)
    (tmp_path / "10_mychar" / "img010.txt").write_text("1girl, mychar, solo")
    ds = Dataset.open(str(tmp_path))
    r = check_dataset(ds)
    late = r.find("trigger-not-first")[0].fix
    r.find("exact-duplicates")[0].fix.apply(ds)  # rescans: copy_a/copy_b gone, ids below shift
    late.apply(ds)
    assert (tmp_path / "10_mychar" / "img010.txt").read_text() == "mychar, 1girl, solo"
    assert sum(1 for p in (tmp_path / "10_mychar").glob("*.txt") if p.read_text().startswith("1girl")) == 0


def test_different_flat_pictures_are_not_near_duplicates(tmp_path):
    from PIL import Image, ImageDraw

    # a clear sky, a night sky, a sunset: nearly flat images all dHash to almost 0
    for name, colour in (("sky", (135, 190, 240)), ("night", (20, 24, 60)), ("sunset", (240, 140, 70))):
        im = Image.new("RGB", (512, 384), colour)
        ImageDraw.Draw(im).rectangle([0, 300, 512, 384], fill=(40, 40, 40))
        save(tmp_path, f"4_bg/{name}.png", im=im, caption="scenery")
    r = check_folder(str(tmp_path))
    assert r.find("near-duplicates") == []


def test_exclude_preview_then_mask_and_caption_twins_leave_and_come_back(tmp_path):
    from loratui.check.excluded import exclude_images, plan_exclude

    _dup_dataset(tmp_path)
    d = tmp_path / "10_mychar"
    save(tmp_path, "10_mychar/copy_a.mask.png", im=picture(4242, (64, 64)).convert("L"))  # a loss mask
    r = check_folder(str(tmp_path))
    fix = r.find("exact-duplicates")[0].fix
    ds = Dataset.open(str(tmp_path))
    keep = (set(r.find("exact-duplicates")[0].image_ids) - set(fix.image_ids)).pop()
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    lines = plan_exclude(ds, fix.image_ids, keep)
    # the preview touched nothing, and says what goes where and what stays
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == before
    assert lines[0] == "keep     10_mychar/img000.png"
    assert "move     10_mychar/copy_a.png -> .loratui/excluded/10_mychar/copy_a.png" in lines
    assert "  move   10_mychar/copy_a.txt -> .loratui/excluded/10_mychar/copy_a.txt" in lines
    assert "  move   10_mychar/copy_a.mask.png -> .loratui/excluded/10_mychar/copy_a.mask.png" in lines
    moved, problems = exclude_images(ds, fix.image_ids, reason=fix.label)
    assert problems == []
    ex = tmp_path / ".loratui" / "excluded" / "10_mychar"
    assert (ex / "copy_a.mask.png").exists() and not (d / "copy_a.mask.png").exists()
    assert (ex / "copy_a.txt").exists() and not (d / "copy_a.txt").exists()
    restored, problems = restore_excluded(str(tmp_path))
    assert problems == []
    assert (d / "copy_a.mask.png").exists() and (d / "copy_a.txt").read_text() == "mychar, 1girl, solo"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                  if p.is_file() and ".loratui" not in p.parts) == [p for p in before if not p.startswith(".loratui")]
