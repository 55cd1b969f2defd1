"""Outside changes are never overwritten: content is compared, not only (mtime, size), and the
file is re-checked right before the replace."""

from __future__ import annotations

import os

import pytest

from loratui.dataset import AddTags, Dataset
from loratui.dataset import caption_file as cf
from loratui.dataset.caption_file import CaptionError, atomic_write, read_caption


def one(tmp_path, text="mychar, tag0"):
    d = tmp_path / "ds" / "10_x"
    d.mkdir(parents=True)
    (d / "a.png").write_bytes(b"")
    (d / "a.txt").write_text(text)
    return tmp_path / "ds", d / "a.txt"


def test_same_size_rewrite_with_restored_mtime_is_not_overwritten(tmp_path):
    root, cap = one(tmp_path)
    ds = Dataset.open(root)
    st = os.stat(cap)
    cap.write_text("mychar, tagX")  # same length
    os.utime(cap, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(cap).st_size == st.st_size and os.stat(cap).st_mtime_ns == st.st_mtime_ns
    r = ds.run(AddTags(["new"]))
    assert not r.written and r.refused and "changed outside" in r.refused[0].message
    assert cap.read_text() == "mychar, tagX"
    assert ds.images[0].tags == ["mychar", "tagX"]  # reloaded


@pytest.mark.parametrize("how", ["in-place", "rename"])
def test_a_write_during_the_edit_is_caught_before_the_replace(tmp_path, monkeypatch, how):
    root, cap = one(tmp_path)
    ct = read_caption(str(cap), digest=True)
    real_write = os.write
    done = []

    def racing_write(fd, data):
        if not done:  # another program writes the caption while loratui writes its temporary file
            done.append(1)
            if how == "in-place":
                with open(cap, "r+b") as f:
                    f.write(b"OUTSIDE!!!!!")
            else:
                tmp = str(cap) + ".other"
                with open(tmp, "wb") as f:
                    f.write(b"outside via rename")
                os.replace(tmp, cap)
        return real_write(fd, data)

    monkeypatch.setattr(cf.os, "write", racing_write)
    with pytest.raises(CaptionError, match="outside loratui"):
        atomic_write(str(cap), b"mychar, tag0, new", ct.fingerprint, expect_digest=ct.digest)
    monkeypatch.setattr(cf.os, "write", real_write)
    assert cap.read_bytes() in (b"OUTSIDE!!!!!", b"outside via rename")
    assert not [p for p in os.listdir(cap.parent) if cf.TMP_MARKER in p]  # no temporary left


def test_undo_compares_content_too(tmp_path):
    root, cap = one(tmp_path)
    ds = Dataset.open(root)
    ds.run(AddTags(["new"]))
    st = os.stat(cap)
    text = cap.read_text()
    cap.write_text(text.replace("new", "NEW"))
    os.utime(cap, ns=(st.st_atime_ns, st.st_mtime_ns))
    r = Dataset.open(root).undo()
    assert r.refused and cap.read_text() == "mychar, tag0, NEW"


def test_symlinked_captions_leading_outside_are_not_written(tmp_path):
    root, cap = one(tmp_path)
    outside = tmp_path / "outside.txt"
    outside.write_text("mychar, private")
    cap.unlink()
    cap.symlink_to(outside)
    (root / "10_x" / "in.png").write_bytes(b"")
    (root / "10_x" / "in_target.txt").write_text("x")
    (root / "10_x" / "in.txt").symlink_to(root / "10_x" / "in_target.txt")
    ds = Dataset.open(root)
    r = ds.run(AddTags(["new"]))
    assert outside.read_text() == "mychar, private"
    assert any("outside the dataset" in p.message for p in r.refused)
    assert (root / "10_x" / "in_target.txt").read_text() == "x, new"  # a link inside the dataset is fine


@pytest.mark.parametrize("when", ["before the journal", "before the replace"])
def test_a_caption_swapped_for_a_symlink_during_the_edit_is_not_written_through(tmp_path, monkeypatch, when):
    """Another program replaces a caption, after loratui read it, by a symlink to a file outside
    the dataset that holds the very same bytes (so no content check can tell): the edit refuses
    it and the outside file keeps its text."""
    root, cap = one(tmp_path)
    outside = tmp_path / "victim.txt"
    outside.write_bytes(cap.read_bytes())
    st = os.stat(cap)
    os.utime(outside, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime as the caption
    ds = Dataset.open(root)

    def swap():
        cap.unlink()
        cap.symlink_to(outside)

    if when == "before the journal":
        real_begin = ds.journal.begin_apply

        def begin(*a, **k):
            swap()
            return real_begin(*a, **k)

        monkeypatch.setattr(ds.journal, "begin_apply", begin)
    else:
        real_lstat = cf.os.lstat

        def lstat(p, *a, **k):  # the writer's first look at the file: swap right after it
            r = real_lstat(p, *a, **k)
            if str(p) == str(cap) and not cap.is_symlink():
                swap()
            return r

        monkeypatch.setattr(cf.os, "lstat", lstat)
    r = ds.run(AddTags(["new"]))
    assert not r.written and r.refused and r.refused[0].path == "10_x/a.txt"
    assert "symlink" in r.refused[0].message or "outside loratui" in r.refused[0].message
    assert outside.read_text() == "mychar, tag0"
    assert cap.is_symlink()  # left as the other program made it
    assert not [p for p in os.listdir(cap.parent) if cf.TMP_MARKER in p]


def test_undo_does_not_write_through_a_symlink_leading_outside(tmp_path, monkeypatch):
    """After an edit, once undo has checked the journal's paths, the caption is replaced by a link
    to an outside file holding the edited text: undo leaves both as they are and says why. (A
    link already there when the journal is read makes the journal unusable: it is set aside.)"""
    root, cap = one(tmp_path)
    ds = Dataset.open(root)
    ds.run(AddTags(["new"]))
    outside = tmp_path / "victim.txt"
    outside.write_bytes(cap.read_bytes())
    ds = Dataset.open(root)
    real_begin = ds.journal.begin_undo

    def begin():
        rec = real_begin()
        cap.unlink()
        cap.symlink_to(outside)
        return rec

    monkeypatch.setattr(ds.journal, "begin_undo", begin)
    r = ds.undo()
    assert r is not None and not r.written and r.refused
    assert "outside the dataset" in r.refused[0].message
    assert outside.read_text() == "mychar, tag0, new" and cap.is_symlink()


def test_undo_writes_through_a_symlink_inside_the_dataset(tmp_path):
    root, cap = one(tmp_path)
    target = root / "10_x" / "shared.txt"
    target.write_text("mychar, tag0")
    cap.unlink()
    cap.symlink_to(target)
    ds = Dataset.open(root)
    assert ds.run(AddTags(["new"])).written
    assert target.read_text() == "mychar, tag0, new"
    r = Dataset.open(root).undo()
    assert r is not None and r.written and cap.is_symlink()
    assert target.read_text() == "mychar, tag0"
