"""The persisted scan index: reopening from it gives exactly the rows a fresh scan gives."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from loratui.dataset import Dataset, snapshot
from loratui.dataset import scan as scan_mod
from loratui.dataset.scan import scan

from .helpers import make_dataset

OLD = 1_600_000_000  # an mtime well in the past: snapshot keys are only trusted for settled files


def rows(ds_or_result):
    images = ds_or_result.images
    subsets = ds_or_result.subsets
    out = []
    for e in images:
        c = e.caption
        style = None if c is None else (c.tags, c.separator, c.newline, c.rest, c.lead, c.trailing_newline)
        out.append((e.id, e.path, subsets[e.subset].path, e.caption_path, style, e.state, e.encoding,
                    e.fp, e.duplicate_name))
    return out


def problems(ds_or_result):
    return sorted((p.kind, p.path, p.message, p.level) for p in ds_or_result.problems if p.kind != "recovered")


def fresh(root):
    return scan(str(root), ".txt")


def settle(root):
    """Give every file an old mtime, then let ctimes fall out of the racy window."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".loratui"]
        for f in filenames:
            os.utime(os.path.join(dirpath, f), (OLD, OLD))
    time.sleep(snapshot.RACY_CTIME_NS / 1e9 + 0.05)


def build(root):
    layout = {}
    for i in range(12):
        layout[f"10_mychar/img{i:02d}.png"] = None
        layout[f"10_mychar/img{i:02d}.txt"] = f"mychar, 1girl, pose{i % 3}, red_hair"
    layout.update({
        "10_mychar/crlf.png": None, "10_mychar/crlf.txt": "a,b\r\nsecond line\r\n",
        "10_mychar/bom.png": None, "10_mychar/bom.txt": b"\xef\xbb\xbfx, y",
        "10_mychar/u16.png": None, "10_mychar/u16.txt": "p, q".encode("utf-16"),
        "10_mychar/empty.png": None, "10_mychar/empty.txt": "",
        "10_mychar/commas.png": None, "10_mychar/commas.txt": " , ,",
        "10_mychar/bad.png": None, "10_mychar/bad.txt": b"caf\xe9",
        "10_mychar/twin.png": None, "10_mychar/twin.jpg": None, "10_mychar/twin.txt": "twin, tag",
        "10_mychar/nocap.png": None,
        "10_mychar/orphan.txt": "lonely",
        "4_bg/bg0.jpg": None, "4_bg/bg0.txt": "scenery, (sky:1.2), sky",
        "plain/p.webp": None, "plain/p.txt": "lead\n\nx",
    })
    make_dataset(root, layout)
    settle(root)
    return root


def count_reads(monkeypatch):
    calls = []
    real = scan_mod.read_caption

    def counting(path):
        calls.append(path)
        return real(path)

    monkeypatch.setattr(scan_mod, "read_caption", counting)
    return calls


def test_unchanged_dataset_reopens_from_the_snapshot(tmp_path, monkeypatch):
    root = build(tmp_path / "ds")
    first = Dataset.open(str(root))
    assert os.path.isfile(snapshot.path_of(str(root)))
    calls = count_reads(monkeypatch)
    again = Dataset.open(str(root))
    # only the caption that cannot be decoded is read again (it is never stored)
    assert [os.path.basename(p) for p in calls] == ["bad.txt"]
    assert rows(again) == rows(first) == rows(fresh(root))
    assert problems(again) == problems(first)
    assert again.index.counts() == first.index.counts()
    assert again.select("red_hair -pose1") == first.select("red_hair -pose1")
    assert again.select("tags<3") == first.select("tags<3")


def test_changes_on_disk_between_runs_give_the_rows_of_a_fresh_scan(tmp_path, monkeypatch):
    root = build(tmp_path / "ds")
    Dataset.open(str(root))
    d = root / "10_mychar"
    # added image and caption, removed image (its caption becomes an orphan), removed caption
    (d / "new.png").write_bytes(b"")
    (d / "new.txt").write_text("brand, new")
    (d / "img00.png").unlink()
    (d / "img01.txt").unlink()
    # modified with the same size and the mtime put back (only ctime tells)
    p = d / "img02.txt"
    st = p.stat()
    p.write_text(p.read_text().replace("pose2", "poze2"))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert p.stat().st_size == st.st_size
    # two captions of the same size swapped by renames (mtimes and sizes travel with them)
    os.rename(d / "img03.txt", d / "swap.tmp")
    os.rename(d / "img06.txt", d / "img03.txt")
    os.rename(d / "swap.tmp", d / "img06.txt")
    # a renamed subset folder, a caption that became unreadable, one that became readable
    os.rename(root / "4_bg", root / "5_bg")
    (d / "img04.txt").write_bytes(b"\xff\xfe\xfd")
    (d / "bad.txt").write_text("fixed, now")
    (d / "empty.txt").write_text("no longer empty")
    reopened = Dataset.open(str(root))
    assert rows(reopened) == rows(fresh(root))
    assert problems(reopened) == problems(fresh(root))
    tags = {e.path: e.tags for e in reopened.images}
    assert tags["10_mychar/img02.png"][2] == "poze2"
    assert tags["10_mychar/img03.png"] == ["mychar", "1girl", "pose0", "red_hair"]
    assert tags["5_bg/bg0.jpg"] == ["scenery", "(sky:1.2)", "sky"]
    # and the snapshot now written describes the new state: a third open reads nothing again
    settle(root)
    Dataset.open(str(root))
    calls = count_reads(monkeypatch)
    third = Dataset.open(str(root))
    assert [os.path.basename(c) for c in calls] == ["img04.txt"]
    assert rows(third) == rows(fresh(root))


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped", "one-byte", "empty", "huge-count",
                                    "bad-path"])
def test_corrupt_snapshot_is_ignored_and_rebuilt(tmp_path, monkeypatch, damage):
    root = build(tmp_path / "ds")
    Dataset.open(str(root))
    path = snapshot.path_of(str(root))
    data = open(path, "rb").read()
    if damage == "garbage":
        data = os.urandom(len(data))
    elif damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "flipped":
        data = data[:-40] + bytes(b ^ 0xFF for b in data[-40:])
    elif damage == "one-byte":
        # one tag id in the flat section moved to another valid id: only the checksum tells
        at = len(data) - 8
        data = data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]
    elif damage == "empty":
        data = b""
    elif damage == "huge-count":
        data = data.replace(b'"rows": ', b'"rows": 9', 1)
    else:
        data = data.replace(b"10_mychar/img05.txt", b"../mychar/img05.txt", 1)
    with open(path, "wb") as f:
        f.write(data)
    assert snapshot.load(str(root), ".txt") is None
    calls = count_reads(monkeypatch)
    ds = Dataset.open(str(root))
    assert len(calls) > 20  # everything was read again
    assert rows(ds) == rows(fresh(root))
    assert snapshot.load(str(root), ".txt") is not None  # rebuilt


def test_snapshot_from_another_folder_is_not_used(tmp_path, monkeypatch):
    a = build(tmp_path / "a")
    b = build(tmp_path / "b")
    for f in (b / "10_mychar").glob("img*.txt"):
        f.write_text("other, dataset")
    settle(b)
    Dataset.open(str(a))
    os.makedirs(os.path.dirname(snapshot.path_of(str(b))), exist_ok=True)
    shutil.copy(snapshot.path_of(str(a)), snapshot.path_of(str(b)))
    assert snapshot.load(str(b), ".txt") is None
    ds = Dataset.open(str(b))
    assert rows(ds) == rows(fresh(b))
    assert {e.path: e.tags for e in ds.images}["10_mychar/img05.png"] == ["other", "dataset"]
    # a copied folder (same relative paths, snapshot names the old root) is rescanned too
    shutil.copytree(a, tmp_path / "copy", symlinks=True)
    assert snapshot.load(str(tmp_path / "copy"), ".txt") is None
    # another caption extension is another index
    assert snapshot.load(str(a), ".caption") is None


def test_recent_captions_are_stored_without_a_key(tmp_path):
    root = build(tmp_path / "ds")
    (root / "10_mychar" / "img00.txt").write_text("just, written")
    Dataset.open(str(root))
    snap = snapshot.load(str(root), ".txt")
    row = snap.row_of["10_mychar/img00.txt"]
    assert snap.key(row)[0] == -1
    assert snap.key(snap.row_of["10_mychar/img01.txt"])[0] == OLD * 10**9


def test_edits_then_reopen(tmp_path):
    root = build(tmp_path / "ds")
    ds = Dataset.open(str(root))
    i = next(e.id for e in ds.images if e.path == "10_mychar/img05.png")
    assert ds.set_tags(i, ["edited", "tags"]).ok
    again = Dataset.open(str(root))
    assert again.images[i].tags == ["edited", "tags"]
    assert rows(again) == rows(fresh(root))


def test_state_folder_symlinked_out_is_not_written(tmp_path):
    root = build(tmp_path / "ds")
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, root / ".loratui")
    ds = Dataset.open(str(root))
    assert rows(ds) == rows(fresh(root))
    assert not (outside / "cache").exists()


def test_paths_read_back_must_be_clean_relative_paths():
    ok = ["10_a/x.txt", "b/c d/e.txt", "x.txt", "ü/ö.txt"]
    assert snapshot._all_clean(ok, "\x00".join(ok).encode())
    for bad in ["../x.txt", "/etc/passwd", "a/../../x.txt", "a//x.txt", "./x.txt", "a/./x.txt", "a/", "..",
                "", "a/.."]:
        paths = ok + [bad]
        assert not snapshot._all_clean(paths, "\x00".join(paths).encode()), bad
