import codecs
import os
import stat

import pytest

from loratui.dataset import AddTags, Dataset, DatasetError, RenameTag

from .helpers import make_dataset, read, simple_dataset


def kinds(ds):
    return {(p.kind, p.path) for p in ds.problems}


def test_subsets_repeats_and_class_tokens(tmp_path):
    make_dataset(tmp_path, {"10_sks dog/a.png": None, "10_sks dog/a.txt": "x", "3_style/b.JPG": None,
                            "3_style/b.txt": "y", "loose/c.webp": None, "loose/c.txt": "z"})
    ds = Dataset.open(tmp_path)
    subs = {s.path: s for s in ds.subsets}
    assert subs["10_sks dog"].repeats == 10 and subs["10_sks dog"].class_tokens == "sks dog"
    assert subs["3_style"].repeats == 3
    assert subs["loose"].repeats == 1 and "no `<repeats>_<name>` prefix" in subs["loose"].note
    assert ("no-repeats", "loose") in kinds(ds)
    assert [e.path for e in ds.images] == ["10_sks dog/a.png", "3_style/b.JPG", "loose/c.webp"]


def test_kohya_gui_layout_and_nested_folders(tmp_path):
    make_dataset(tmp_path, {"img/10_char/a.png": None, "img/10_char/deep/b.png": None, "img/2_bg/c.bmp": None,
                            "model/x.safetensors": b"0", "log/y.txt": "z"})
    ds = Dataset.open(tmp_path)
    assert [(s.path, s.repeats, s.image_count) for s in ds.subsets] == [("img/10_char", 10, 2), ("img/2_bg", 2, 1)]
    assert ("orphan-caption", "log/y.txt") in kinds(ds)


def test_opening_a_subset_folder_itself(tmp_path):
    root = tmp_path / "10_mychar"
    make_dataset(root, {"a.png": None, "a.txt": "t"})
    ds = Dataset.open(root)
    assert [(s.path, s.repeats, s.class_tokens) for s in ds.subsets] == [(".", 10, "mychar")]


def test_scan_never_decodes_images(tmp_path):
    # stand-in images are not valid images: scanning must not care
    make_dataset(tmp_path, {"1_a/x.png": b"not a png", "1_a/x.txt": "t"})
    ds = Dataset.open(tmp_path)
    assert ds.images[0].tags == ["t"]
    assert ds.images[0]._pixel_size is None
    assert ds.pixel_size(ds.images[0]) is None  # unreadable header -> None, no crash


def test_pixel_size_from_header(tmp_path):
    from PIL import Image

    (tmp_path / "1_a").mkdir()
    Image.new("RGB", (40, 24)).save(tmp_path / "1_a" / "x.png")
    ds = Dataset.open(tmp_path)
    assert ds.pixel_size(ds.images[0]) == (40, 24)


def test_missing_and_not_a_folder(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        Dataset.open(tmp_path / "nope")
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(DatasetError, match="not a folder"):
        Dataset.open(f)


def test_caption_extension_configurable(tmp_path):
    make_dataset(tmp_path, {"1_a/x.png": None, "1_a/x.caption": "cap tag", "1_a/x.txt": "txt tag"})
    assert Dataset.open(tmp_path, ".caption").images[0].tags == ["cap tag"]
    assert Dataset.open(tmp_path, "caption").images[0].tags == ["cap tag"]
    assert Dataset.open(tmp_path).images[0].tags == ["txt tag"]


def test_images_without_captions_and_captions_without_images(tmp_path):
    make_dataset(tmp_path, {"1_a/x.png": None, "1_a/y.txt": "orphan"})
    ds = Dataset.open(tmp_path)
    assert ("no-caption", "1_a/x.png") in kinds(ds)
    assert ("orphan-caption", "1_a/y.txt") in kinds(ds)
    assert ds.images[0].state == "missing"


def test_non_utf8_is_refused_and_never_overwritten(tmp_path):
    raw = "caf\xe9, na\xefve".encode("cp1252")
    make_dataset(tmp_path, {"1_a/x.png": None, "1_a/x.txt": raw})
    ds = Dataset.open(tmp_path)
    e = ds.images[0]
    assert e.state == "encoding"
    msg = next(p.message for p in ds.problems if p.kind == "encoding")
    assert "not valid UTF-8" in msg and "iconv" in msg
    plan = ds.plan(AddTags(["new"]))
    assert plan.changes == [] and plan.skipped[0].path == "1_a/x.txt"
    ds.apply(plan)
    assert read(tmp_path, "1_a/x.txt") == raw


def test_bom_crlf_utf16_round_trip(tmp_path):
    make_dataset(tmp_path, {
        "1_a/bom.png": None, "1_a/bom.txt": codecs.BOM_UTF8 + "a, b\r\n".encode(),
        "1_a/u16.png": None, "1_a/u16.txt": "a, b".encode("utf-16"),
        "1_a/uni.png": None, "1_a/uni.txt": "ねこ, café, a".encode(),
    })
    ds = Dataset.open(tmp_path)
    ds.run(RenameTag("a", "z"))
    assert read(tmp_path, "1_a/bom.txt") == codecs.BOM_UTF8 + b"z, b\r\n"
    assert read(tmp_path, "1_a/u16.txt") == "z, b".encode("utf-16")
    assert read(tmp_path, "1_a/uni.txt") == "ねこ, café, z".encode()


def test_empty_and_zero_byte_captions(tmp_path):
    make_dataset(tmp_path, {"1_a/x.png": None, "1_a/x.txt": "", "1_a/y.png": None, "1_a/y.txt": " , \n"})
    ds = Dataset.open(tmp_path)
    assert [e.state for e in ds.images] == ["empty", "empty"]
    msgs = {p.path: p.message for p in ds.problems if p.kind == "empty-caption"}
    assert msgs == {"1_a/x.txt": "caption file is empty", "1_a/y.txt": "caption has no tags"}
    ds.run(AddTags(["t"]))
    assert read(tmp_path, "1_a/x.txt") == b"t"
    assert read(tmp_path, "1_a/y.txt") == b"t\n"


def test_unreadable_caption(tmp_path, monkeypatch):
    make_dataset(tmp_path, {"1_a/x.png": None, "1_a/x.txt": "t", "1_a/y.png": None, "1_a/y.txt": "u"})
    real_open = os.open

    def deny(path, *a, **kw):  # tests run as root in CI, where chmod 0 would not stop a read
        if str(path).endswith("x.txt"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *a, **kw)

    monkeypatch.setattr(os, "open", deny)
    ds = Dataset.open(tmp_path)
    assert [e.state for e in ds.images] == ["unreadable", "ok"]
    assert any(p.kind == "unreadable" and "permission denied" in p.message for p in ds.problems)
    assert ds.plan(AddTags(["n"])).skipped[0].path == "1_a/x.txt"


def test_read_only_caption_refused_with_message(tmp_path):
    make_dataset(tmp_path, {"1_a/x.png": None, "1_a/x.txt": "t", "1_a/y.png": None, "1_a/y.txt": "t"})
    os.chmod(tmp_path / "1_a/x.txt", 0o444)
    ds = Dataset.open(tmp_path)
    r = ds.run(AddTags(["new"]))
    assert r.written == ["1_a/y.txt"]
    assert [(p.kind, p.path) for p in r.refused] == [("read-only", "1_a/x.txt")]
    assert "chmod" in r.refused[0].message
    assert read(tmp_path, "1_a/x.txt") == b"t"
    assert ds.images[0].tags == ["t"]


def test_permissions_kept(tmp_path):
    make_dataset(tmp_path, {"1_a/x.png": None, "1_a/x.txt": "t"})
    os.chmod(tmp_path / "1_a/x.txt", 0o640)
    Dataset.open(tmp_path).run(AddTags(["new"]))
    assert stat.S_IMODE(os.stat(tmp_path / "1_a/x.txt").st_mode) == 0o640


def test_broken_symlink_and_symlinked_caption(tmp_path):
    make_dataset(tmp_path, {"1_a/x.png": None, "real/x.txt": "t"})
    os.symlink(tmp_path / "nowhere.png", tmp_path / "1_a/broken.png")
    os.symlink(tmp_path / "real/x.txt", tmp_path / "1_a/x.txt")
    ds = Dataset.open(tmp_path)
    assert ("broken-symlink", "1_a/broken.png") in kinds(ds)
    ds.run(AddTags(["new"]), [0])
    assert os.path.islink(tmp_path / "1_a/x.txt")  # the link stays a link
    assert read(tmp_path, "real/x.txt") == b"t, new"


def test_names_with_spaces_and_non_ascii(tmp_path):
    make_dataset(tmp_path, {"5_名前 char/my image (1).png": None, "5_名前 char/my image (1).txt": "a"})
    ds = Dataset.open(tmp_path)
    assert ds.subsets[0].class_tokens == "名前 char"
    ds.run(AddTags(["b"]))
    assert read(tmp_path, "5_名前 char/my image (1).txt") == b"a, b"


def test_duplicate_stems_share_one_caption(tmp_path):
    make_dataset(tmp_path, {"1_a/x.png": None, "1_a/x.jpg": None, "1_a/x.txt": "t"})
    ds = Dataset.open(tmp_path)
    assert all(e.duplicate_name for e in ds.images)
    assert ("duplicate-name", "1_a/x") in kinds(ds)
    plan = ds.plan(AddTags(["n"]))
    assert len(plan.changes) == 1 and plan.changes[0].image_ids == [0, 1]
    ds.apply(plan)
    assert [e.tags for e in ds.images] == [["t", "n"], ["t", "n"]]
    assert ds.index.count("n") == 2


def test_unsupported_image_types_noted(tmp_path):
    make_dataset(tmp_path, {"1_a/x.gif": None, "1_a/y.png": None})
    ds = Dataset.open(tmp_path)
    assert ("unsupported", "1_a/x.gif") in kinds(ds)
    assert len(ds.images) == 1


def test_hidden_and_state_folders_skipped(tmp_path):
    make_dataset(tmp_path, {"1_a/x.png": None, ".loratui/y.png": None, "1_a/.hidden.png": None})
    assert [e.path for e in Dataset.open(tmp_path).images] == ["1_a/x.png"]


def test_changed_outside_is_refused_and_reloaded(tmp_path):
    simple_dataset(tmp_path)
    ds = Dataset.open(tmp_path)
    p = tmp_path / "10_mychar/img00.txt"
    p.write_text("edited outside, by hand, with care")
    os.utime(p, ns=(1, 1))  # make sure the stat differs even on coarse clocks
    r = ds.run(AddTags(["x"]))
    assert [(q.kind, q.path) for q in r.refused] == [("changed", "10_mychar/img00.txt")]
    assert p.read_text() == "edited outside, by hand, with care"
    e = ds.images[0]
    assert e.tags == ["edited outside", "by hand", "with care"] and e.changed_outside
    assert ds.index.count("by hand") == 1


def test_refresh_picks_up_outside_changes(tmp_path):
    simple_dataset(tmp_path)
    ds = Dataset.open(tmp_path)
    (tmp_path / "10_mychar/new.png").write_bytes(b"")
    (tmp_path / "10_mychar/img01.txt").write_text("changed")
    os.remove(tmp_path / "4_bg/bg0.jpg")
    counts = ds.refresh()
    assert counts == {"added": 1, "removed": 1, "changed": 1}
    assert ds.index.count("changed") == 1


def test_stray_temp_files_cleaned(tmp_path):
    simple_dataset(tmp_path)
    stray = tmp_path / "10_mychar" / ".img00.txt.loratui-tmp-99999"
    stray.write_text("half written")
    Dataset.open(tmp_path)
    assert not stray.exists()
