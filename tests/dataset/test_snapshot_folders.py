"""Reopening without listing folders that did not change: the scan index keeps each settled
folder's listing with the folder's (mtime, ctime, inode); a folder whose key is unchanged is not
listed again, and whatever changed on disk, the reopened dataset equals a fresh scan exactly."""

from __future__ import annotations

import os
import time

import pytest

from loratui.dataset import Dataset, snapshot

from .test_scan_partial import collect
from .test_snapshot import OLD, build, count_reads, fresh, problems, rows


def settle_all(root):
    """Old mtimes for files and folders (the state folder aside), then let ctimes settle."""
    for dirpath, _dirnames, filenames in os.walk(root, topdown=False):
        if ".loratui" in dirpath.split(os.sep):
            continue
        for f in filenames:
            os.utime(os.path.join(dirpath, f), (OLD, OLD))
        os.utime(dirpath, (OLD, OLD))
    time.sleep(snapshot.RACY_CTIME_NS / 1e9 + 0.05)


def built(tmp_path):
    root = build(tmp_path / "ds")
    for rel in ("10_mychar/extra/e0.png", "10_mychar/extra/e1.png", "4_bg/deeper/more/m.jpg"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"")
    (root / "10_mychar/extra/e0.txt").write_text("extra, zero")
    (root / "4_bg/deeper/more/m.txt").write_text("deep")
    settle_all(root)
    Dataset.open(str(root))  # writes the index (and creates .loratui: the root changes)
    settle_all(root)
    Dataset.open(str(root))  # the root relisted, settled now: the index is written again
    return root


def count_listings(monkeypatch, root):
    listed: list[str] = []
    real = os.scandir

    def counting(path="."):
        listed.append(os.path.relpath(os.fspath(path), root))
        return real(path)

    monkeypatch.setattr(os, "scandir", counting)
    return listed


def reopen_equals_fresh(root):
    ds = Dataset.open(str(root))
    assert rows(ds) == rows(fresh(root))
    assert problems(ds) == problems(fresh(root))
    return ds


def test_unchanged_folders_are_not_listed_again(tmp_path, monkeypatch):
    root = built(tmp_path)
    snap = snapshot.load(str(root), ".txt")
    assert set(snap.dirs) == {".", "10_mychar", "10_mychar/extra", "4_bg", "4_bg/deeper",
                              "4_bg/deeper/more", "plain"}
    # simple folders (one image per stem, each with its caption) keep only their image names
    # (and folders with no image or caption at all)
    assert {rel for rel, d in snap.dirs.items() if d[3]} == {".", "4_bg", "4_bg/deeper", "4_bg/deeper/more", "plain"}
    assert snap.dirs["4_bg"][1] == ["bg0.jpg"]
    listed = count_listings(monkeypatch, root)
    ds = Dataset.open(str(root))
    assert listed == []
    monkeypatch.undo()
    assert rows(ds) == rows(fresh(root))
    assert problems(ds) == problems(fresh(root))


def test_file_added_in_a_subfolder(tmp_path, monkeypatch):
    root = built(tmp_path)
    (root / "4_bg/deeper/more/n.png").write_bytes(b"")
    (root / "4_bg/deeper/more/n.txt").write_text("new, one")
    listed = count_listings(monkeypatch, root)
    ds = Dataset.open(str(root))
    assert listed == ["4_bg/deeper/more"]  # only the folder that changed
    monkeypatch.undo()
    assert rows(ds) == rows(fresh(root)) and problems(ds) == problems(fresh(root))
    assert {e.path: e.tags for e in ds.images}["4_bg/deeper/more/n.png"] == ["new", "one"]


@pytest.mark.parametrize("what", ["image", "caption", "both", "to-orphan"])
def test_file_renamed(tmp_path, what):
    root = built(tmp_path)
    d = root / "10_mychar"
    if what in ("image", "both"):
        os.rename(d / "img05.png", d / "zz05.png")
    if what in ("caption", "both"):
        os.rename(d / "img05.txt", d / "zz05.txt")
    if what == "to-orphan":
        os.rename(d / "nocap.png", d / "nocap.gif")
    ds = reopen_equals_fresh(root)
    paths = [e.path for e in ds.images]
    assert ("10_mychar/zz05.png" in paths) == (what in ("image", "both"))


def test_subfolder_added_and_removed(tmp_path, monkeypatch):
    root = built(tmp_path)
    (root / "3_new").mkdir()
    (root / "3_new/a.png").write_bytes(b"")
    (root / "3_new/a.txt").write_text("added")
    (root / "10_mychar/extra/e1.png").unlink()
    (root / "10_mychar/extra/e0.png").unlink()
    (root / "10_mychar/extra/e0.txt").unlink()
    os.rmdir(root / "10_mychar/extra")
    for f in (root / "plain").iterdir():
        f.unlink()
    os.rmdir(root / "plain")
    ds = reopen_equals_fresh(root)
    assert [s.path for s in ds.subsets] == [s.path for s in fresh(root).subsets]
    assert "3_new" in [s.path for s in ds.subsets] and "plain" not in [s.path for s in ds.subsets]
    # a subset folder replaced by another of the same name between runs
    settle_all(root)
    Dataset.open(str(root))
    os.rename(root / "4_bg", root / "old_bg")
    (root / "4_bg").mkdir()
    (root / "4_bg/other.png").write_bytes(b"")
    reopen_equals_fresh(root)


def test_caption_edited_in_an_unchanged_folder(tmp_path, monkeypatch):
    root = built(tmp_path)
    p = root / "10_mychar/img07.txt"
    key = os.stat(root / "10_mychar")
    st = p.stat()
    with open(p, "r+", encoding="utf-8") as f:  # in place: the folder's key does not move
        text = f.read()
        f.seek(0)
        f.write(text.replace("pose1", "pozz"))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, mtime put back: ctime tells
    assert snapshot.dir_key(os.stat(root / "10_mychar")) == snapshot.dir_key(key)
    listed = count_listings(monkeypatch, root)
    calls = count_reads(monkeypatch)
    ds = Dataset.open(str(root))
    assert "10_mychar" not in listed  # the listing came from the index ...
    assert "img07.txt" in [os.path.basename(c) for c in calls]  # ... the caption from the disk
    monkeypatch.undo()
    assert rows(ds) == rows(fresh(root)) and problems(ds) == problems(fresh(root))
    assert {e.path: e.tags for e in ds.images}["10_mychar/img07.png"][2] == "pozz"


def test_entry_added_with_the_folder_mtime_put_back(tmp_path):
    """A change the mtime does not show (put back, as a coarse clock would): the ctime tells."""
    root = built(tmp_path)
    d = root / "10_mychar"
    st = d.stat()
    (d / "hidden.png").write_bytes(b"")
    os.unlink(d / "img09.png")
    os.utime(d, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert d.stat().st_mtime_ns == st.st_mtime_ns
    ds = reopen_equals_fresh(root)
    assert "10_mychar/hidden.png" in [e.path for e in ds.images]


def test_recently_changed_folders_are_not_stored(tmp_path, monkeypatch):
    """Same-second changes: a folder modified within two seconds of its listing (or in the same
    second) is listed again next time, whatever its key says then."""
    root = built(tmp_path)
    d = root / "10_mychar"
    (d / "late.png").write_bytes(b"")  # the folder's mtime is now: not settled
    Dataset.open(str(root))
    snap = snapshot.load(str(root), ".txt")
    assert "10_mychar" not in snap.dirs and "4_bg" in snap.dirs
    # another change in the same second, the mtime equal to the one seen when listing
    m = d.stat().st_mtime_ns
    (d / "later.png").write_bytes(b"")
    os.utime(d, ns=(m, m))
    listed = count_listings(monkeypatch, root)
    ds = Dataset.open(str(root))
    assert "10_mychar" in listed
    monkeypatch.undo()
    assert rows(ds) == rows(fresh(root)) and problems(ds) == problems(fresh(root))
    assert "10_mychar/later.png" in [e.path for e in ds.images]
    now = time.time_ns()
    s = 1_000_000_000
    assert not snapshot.settled_dir((now // s * s, 0, 1), now)  # same second, truncated
    assert not snapshot.settled_dir((now - s, 0, 1), now)  # within 2 s
    assert not snapshot.settled_dir((now + 5 * s, 0, 1), now)  # in the future
    assert snapshot.settled_dir((now - 3 * s, now - 3 * s, 1), now)


def test_folders_with_symlinks_or_problems_are_always_listed(tmp_path):
    root = build(tmp_path / "ds")
    (root / "10_mychar/anim.gif").write_bytes(b"")
    os.symlink(root / "4_bg/bg0.jpg", root / "plain/link.jpg")
    settle_all(root)
    Dataset.open(str(root))
    settle_all(root)
    Dataset.open(str(root))
    snap = snapshot.load(str(root), ".txt")
    assert "10_mychar" not in snap.dirs and "plain" not in snap.dirs and "4_bg" in snap.dirs
    os.unlink(root / "4_bg/bg0.jpg")  # the link breaks, its folder untouched
    reopen_equals_fresh(root)


@pytest.mark.parametrize("every", [1, 3, 1000])
def test_partial_rows_from_stored_listings(tmp_path, monkeypatch, every):
    root = built(tmp_path)
    (root / "4_bg/deeper/more/n.png").write_bytes(b"")
    chunks, calls, partial = collect(monkeypatch, every)
    ds = Dataset.open(str(root), partial=partial)
    assert [r for c in chunks for r in c] == rows(ds) == rows(fresh(root))
    assert calls[-1][0] == len(ds.images)
    walks = collect.walks  # type: ignore[attr-defined]
    assert walks == sorted(walks) and len(walks) == 5 and walks[-1] == len(ds.images)


def test_forged_listings_are_refused():
    ok = b'{"10_a":[1,2,3,["x.png","x.txt"],["sub"],false]}'
    assert snapshot._load_dirs(ok) == {"10_a": ((1, 2, 3), ["x.png", "x.txt"], ["sub"], False)}
    for bad in [b'{"10_a":[1,2,3,["../x.png"],[],false]}', b'{"10_a":[1,2,3,["a/b.png"],[],false]}',
                b'{"10_a":[1,2,3,[],[".."],false]}', b'{"10_a":[1,2,3,[],[""],false]}', b'{"../up":[1,2,3,[],[],false]}',
                b'{"/abs":[1,2,3,[],[],false]}', b'{"10_a":[1,2,3,["x\\u0000.png"],[],false]}',
                b'{"10_a":[1,"2",3,[],[],false]}', b'{"10_a":[1,2,3,[],false]}', b'{"10_a":[1,2,3,[5],[],false]}',
                b'{"10_a":[1,2,3,[".loratui"],[],false]}', b'[1]']:
        assert snapshot._load_dirs(bad) is None, bad
