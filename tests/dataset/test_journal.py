import json
import subprocess
import sys
import textwrap

from loratui.dataset import AddTags, Dataset, RemoveTags, RenameTag

from .helpers import make_dataset, read, simple_dataset, snapshot


def test_undo_redo_across_restarts(tmp_path):
    simple_dataset(tmp_path)
    original = snapshot(tmp_path)
    ds = Dataset.open(tmp_path)
    ds.run(RenameTag("blonde hair", "yellow hair"))
    ds.run(AddTags(["extra"], "front"))
    after_both = snapshot(tmp_path)

    ds = Dataset.open(tmp_path)  # a new process would see the same journal
    assert ds.history() == (["rename `blonde hair` -> `yellow hair`", "add `extra` at the front"], 2)
    r = ds.undo()
    assert r.description == "undo add `extra` at the front" and len(r.written) == 7
    ds = Dataset.open(tmp_path)
    ds.undo()
    assert snapshot(tmp_path) == original
    assert ds.undo() is None
    assert ds.index.count("blonde hair") == 6
    ds = Dataset.open(tmp_path)
    ds.redo()
    ds.redo()
    assert ds.redo() is None
    assert snapshot(tmp_path) == after_both
    assert ds.index.count("extra") == 7


def test_new_edit_after_undo_drops_redo_history(tmp_path):
    simple_dataset(tmp_path)
    ds = Dataset.open(tmp_path)
    ds.run(AddTags(["one"]))
    ds.run(AddTags(["two"]))
    ds.undo()
    ds.run(AddTags(["three"]))
    assert ds.history() == (["add `one`", "add `three`"], 2)
    assert ds.redo() is None
    ops = list((tmp_path / ".loratui/journal/ops").iterdir())
    assert len(ops) == 2  # the dropped entry's file is gone too


def test_undo_refuses_files_changed_since(tmp_path):
    simple_dataset(tmp_path)
    ds = Dataset.open(tmp_path)
    ds.run(RemoveTags(["solo"]))
    (tmp_path / "10_mychar/img01.txt").write_text("hand edit")
    r = Dataset.open(tmp_path).undo()
    assert [p.path for p in r.refused] == ["10_mychar/img01.txt"]
    assert "changed outside" in r.refused[0].message
    assert read(tmp_path, "10_mychar/img01.txt") == b"hand edit"
    assert b"solo" in read(tmp_path, "10_mychar/img03.txt")


def test_byte_exact_restore(tmp_path):
    make_dataset(tmp_path, {"1_a/x.png": None, "1_a/x.txt": "a ,b,, c  \r\nsecond line\r\n"})
    ds = Dataset.open(tmp_path)
    ds.run(RenameTag("b", "z"))
    assert read(tmp_path, "1_a/x.txt") == b"a, z, c\r\nsecond line\r\n"
    ds.undo()
    assert read(tmp_path, "1_a/x.txt") == b"a ,b,, c  \r\nsecond line\r\n"


CRASH = textwrap.dedent("""
    import os, sys
    import loratui.dataset.dataset as mod
    import loratui.dataset.caption_file as cf
    from loratui.dataset import Dataset, RenameTag, AddTags
    real = mod.atomic_write
    n = 0
    def crashing(*a, **kw):
        global n
        n += 1
        if n > int(sys.argv[2]):
            os._exit(9)  # like SIGKILL: no cleanup, no finally
        return real(*a, **kw)
    ds = Dataset.open(sys.argv[1])
    if sys.argv[3] == "undo":
        mod.atomic_write = crashing
        ds.undo()
    else:
        cf.atomic_write = crashing
        ds.run(RenameTag("blonde hair", "yellow hair"))
""")


def crash(root, after, what):
    p = subprocess.run([sys.executable, "-c", CRASH, str(root), str(after), what], capture_output=True, text=True)
    assert p.returncode == 9, p.stderr


def test_crash_mid_apply_is_rolled_back_on_open(tmp_path):
    simple_dataset(tmp_path)
    original = snapshot(tmp_path)
    crash(tmp_path, 3, "apply")
    state = json.loads((tmp_path / ".loratui/journal/state.json").read_text())
    assert state["pending"]["direction"] == "apply"
    assert snapshot(tmp_path) != original  # three files were half-way renamed
    ds = Dataset.open(tmp_path)
    assert snapshot(tmp_path) == original
    assert ds.recovery[0].kind == "recovered" and "3 caption file(s) restored" in ds.recovery[0].message
    assert ds.history() == ([], 0)
    assert ds.index.count("blonde hair") == 6
    ds.run(RenameTag("blonde hair", "yellow hair"))  # and the dataset works normally again
    assert ds.index.count("yellow hair") == 6


def test_crash_mid_undo_is_rolled_back_on_open(tmp_path):
    simple_dataset(tmp_path)
    Dataset.open(tmp_path).run(RenameTag("blonde hair", "yellow hair"))
    renamed = snapshot(tmp_path)
    crash(tmp_path, 2, "undo")
    ds = Dataset.open(tmp_path)
    assert snapshot(tmp_path) == renamed
    assert ds.history() == (["rename `blonde hair` -> `yellow hair`"], 1)
    ds.undo()
    assert ds.index.count("yellow hair") == 0


def test_corrupt_journal_state_is_reported_not_fatal(tmp_path):
    simple_dataset(tmp_path)
    (tmp_path / ".loratui/journal").mkdir(parents=True)
    (tmp_path / ".loratui/journal/state.json").write_text("{not json")
    ds = Dataset.open(tmp_path)
    assert any(p.kind == "journal" and "state.json" in p.message for p in ds.problems)
    assert len(ds.images) == 7


def test_one_gesture_on_several_tags_is_one_undo_step(tmp_path):
    """Merging three tags into one, or removing three tags, is one journal entry: one undo restores
    every caption byte for byte (BOM, CRLF, weights kept), one redo reapplies all of it."""
    from loratui.dataset import MergeTags

    make_dataset(tmp_path, {
        "5_x/a.png": b"", "5_x/a.txt": "\ufeffred hair, (smile:1.2), 1girl\r\n",
        "5_x/b.png": b"", "5_x/b.txt": "red_hair, crimson hair, solo",
        "5_x/c.png": b"", "5_x/c.txt": "1girl, scarlet hair, hat, smile",
    })
    original = snapshot(tmp_path)
    ds = Dataset.open(tmp_path)
    ds.run(MergeTags(["red_hair", "crimson hair", "scarlet hair"], "red hair"))
    merged = snapshot(tmp_path)
    assert read(tmp_path, "5_x/b.txt") == b"red hair, solo"
    assert read(tmp_path, "5_x/c.txt") == b"1girl, red hair, hat, smile"
    ds.run(RemoveTags(["red hair", "smile", "hat"]))
    removed = snapshot(tmp_path)
    assert read(tmp_path, "5_x/a.txt") == "\ufeff1girl\r\n".encode()
    assert ds.history()[1] == 2  # two gestures, two entries
    ds.undo()
    assert snapshot(tmp_path) == merged
    ds.undo()
    assert snapshot(tmp_path) == original
    assert ds.index.count("smile") == 2 and ds.index.count("red_hair") == 1
    ds = Dataset.open(tmp_path)  # the journal is durable: redo from a new process
    ds.redo()
    assert snapshot(tmp_path) == merged
    ds.redo()
    assert snapshot(tmp_path) == removed
