"""A dataset folder from a stranger may ship a crafted `.loratui/journal/`: it must never make
loratui create, change or delete anything outside the dataset, and it is set aside, not replayed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loratui.dataset import AddTags, Dataset, JournalError
from loratui.dataset.journal import FileRecord, Journal, OpRecord

from .helpers import simple_dataset

NAME = "00000000000000000001-1"


def tree(root: Path) -> dict[str, object]:
    """Everything under ``root`` (bytes of files, targets of links), without following links."""
    out: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_file():
                out[rel] = p.read_bytes()
            else:
                out[rel] = "dir"
    return out


def outside_snapshot(base: Path) -> dict[str, object]:
    return {k: v for k, v in tree(base).items() if not k.startswith("ds")}


def plant(ds: Path, files: list, pending: str | None = "apply", history=None, position=0) -> None:
    j = ds / ".loratui" / "journal"
    (j / "ops").mkdir(parents=True, exist_ok=True)
    (j / "ops" / f"{NAME}.json").write_text(json.dumps(
        {"name": NAME, "time": 1.0, "description": "evil", "files": files}))
    (j / "state.json").write_text(json.dumps(
        {"version": 1, "history": history or [], "position": position,
         "pending": {"name": NAME, "direction": pending} if pending else None}))


@pytest.fixture
def setup(tmp_path):
    ds = tmp_path / "ds"
    ds.mkdir()
    simple_dataset(ds)
    (tmp_path / "sibling.txt").write_text("victim")
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "x.txt").write_text("keep me")
    return tmp_path, ds


@pytest.mark.parametrize("files", [
    [["../sibling.txt", None, "victim", "utf-8"]],          # rollback would delete it
    [["../sibling.txt", "attacker", "victim", "utf-8"]],    # would overwrite it
    [["../created.txt", "attacker", None, "utf-8"]],        # would create it
    [["ABS/sibling.txt", None, "victim", "utf-8"]],         # absolute path
    [["out/x.txt", None, "keep me", "utf-8"]],              # through a symlink leaving the root
    [[".loratui/journal/state.json", None, "x", "utf-8"]],  # loratui's own state
])
def test_crafted_pending_apply_touches_nothing_outside(setup, files):
    base, ds = setup
    (ds / "out").symlink_to(base / "keep")
    files = [[f[0].replace("ABS", str(base)), *f[1:]] for f in files]
    plant(ds, files)
    before = outside_snapshot(base)
    d = Dataset.open(ds)
    assert outside_snapshot(base) == before
    msgs = [p.message for p in d.recovery]
    assert any("ops/" in m and "not replayed" in m and "set aside" in m for m in msgs), msgs
    assert not (ds / ".loratui" / "journal").exists()
    assert list((ds / ".loratui").glob("journal.bad-*"))
    # edits work again on a fresh history
    d.run(AddTags(["new"]))
    assert d.history() == (["add `new`"], 1)


def test_crafted_history_entry_is_not_undone(setup):
    base, ds = setup
    plant(ds, [[str(base / "sibling.txt"), "attacker", "victim", "utf-8"]], pending=None,
          history=[NAME], position=1)
    before = outside_snapshot(base)
    d = Dataset.open(ds)
    with pytest.raises(JournalError, match="absolute"):
        d.undo()
    assert outside_snapshot(base) == before
    assert list((ds / ".loratui").glob("journal.bad-*"))


@pytest.mark.parametrize("what", ["state-dir", "journal-dir", "ops-dir", "lock"])
def test_journal_folders_that_are_symlinks_out_are_not_followed(setup, what):
    base, ds = setup
    target = base / "keep"
    if what == "state-dir":
        (ds / ".loratui").symlink_to(target)
    elif what == "journal-dir":
        (ds / ".loratui").mkdir()
        (ds / ".loratui" / "journal").symlink_to(target)
    elif what == "ops-dir":
        (ds / ".loratui" / "journal").mkdir(parents=True)
        (ds / ".loratui" / "journal" / "ops").symlink_to(target)
    else:
        (ds / ".loratui" / "journal").mkdir(parents=True)
        (ds / ".loratui" / "journal" / "lock").symlink_to(base / "created-by-lock")
    before = outside_snapshot(base)
    d = Dataset.open(ds)
    try:
        d.run(AddTags(["new"]))
    except JournalError:
        pass
    assert outside_snapshot(base) == before


@pytest.mark.parametrize("content", [
    b"{not json", b'{"version": 1, "history": "x", "position": 0}', b"[" * 50_000 + b"]" * 50_000,
    b'{"version":1,"history":["../../x"],"position":1,"pending":null}',
    b'{"version":1,"history":[],"position":7,"pending":null}',
    b'{"version":1,"history":[],"position":0,"pending":{"name":"../x","direction":"apply"}}',
    b"\xff\xfe garbage",
], ids=["truncated", "wrong-type", "deep", "bad-name", "bad-position", "bad-pending", "not-utf8"])
def test_bad_state_is_set_aside_with_a_message_naming_it(setup, content):
    base, ds = setup
    (ds / ".loratui/journal").mkdir(parents=True)
    (ds / ".loratui/journal/state.json").write_bytes(content)
    d = Dataset.open(ds)
    assert any("state.json" in p.message and "set aside" in p.message for p in d.recovery)
    assert len(d.images) == 7
    d.run(AddTags(["new"]))


def test_huge_and_special_state_files_are_refused_unread(setup):
    base, ds = setup
    j = ds / ".loratui/journal"
    j.mkdir(parents=True)
    with open(j / "state.json", "wb") as f:
        f.truncate(8 << 30)  # sparse: 8 GiB that must not be read
    d = Dataset.open(ds)
    assert any("bytes" in p.message for p in d.recovery)
    j = ds / ".loratui/journal"
    j.mkdir(parents=True)
    os.mkfifo(j / "state.json")  # reading a FIFO would block forever
    d = Dataset.open(ds)
    assert any("regular file" in p.message for p in d.recovery)


def test_stray_journal_temp_files_are_cleaned_on_open(setup):
    base, ds = setup
    d = Dataset.open(ds)
    d.run(AddTags(["new"]))
    j = ds / ".loratui/journal"
    (j / ".state.json.abc123.tmp").write_text("{")
    (j / "ops" / f".{NAME}.json.xyz.tmp").write_text("{")
    (j / "ops" / "not-ours.txt").write_text("keep")
    Dataset.open(ds)
    assert not (j / ".state.json.abc123.tmp").exists()
    assert not (j / "ops" / f".{NAME}.json.xyz.tmp").exists()
    assert (j / "ops" / "not-ours.txt").exists()  # only files loratui names are deleted


segment = st.sampled_from(["a", "b.txt", "..", ".", "", "/", ".loratui", "out", "\x00", "\udcff"])
paths = st.lists(segment, min_size=1, max_size=6).map("/".join)
texts = st.one_of(st.none(), st.sampled_from(["", "x", "victim"]))
entries = st.lists(st.tuples(paths, texts, texts, st.sampled_from(["utf-8", "utf-16", "latin-1", 3])),
                   max_size=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=entries)
def test_property_every_path_a_journal_entry_can_name_resolves_inside(tmp_path, files):
    root = tmp_path / "root"
    (root / ".loratui/journal/ops").mkdir(parents=True, exist_ok=True)
    if not (root / "out").exists():
        (root / "out").symlink_to(tmp_path)
    j = Journal(str(root / ".loratui"), str(root))
    (root / ".loratui/journal/ops" / f"{NAME}.json").write_text(json.dumps(
        {"name": NAME, "time": 1, "description": "d", "files": [list(f) for f in files]}))
    try:
        rec = j.load(NAME)
    except JournalError as e:
        assert e.bad
        return
    real_root = os.path.realpath(root)
    for f in rec.files:
        p = os.path.realpath(os.path.join(root, f.path))
        assert p.startswith(real_root + os.sep)
        assert not os.path.relpath(p, real_root).startswith(".loratui")


def test_non_utf8_file_names_are_journaled_losslessly(tmp_path):
    ds = tmp_path / "ds"
    (ds / "1_a").mkdir(parents=True)
    name = os.fsdecode(b"bad\xff")
    (ds / "1_a" / f"{name}.png").write_bytes(b"")
    (ds / "1_a" / f"{name}.txt").write_text("a")
    d = Dataset.open(ds)
    r = d.run(AddTags(["b"]))
    assert r.written and (ds / "1_a" / f"{name}.txt").read_text() == "a, b"
    Dataset.open(ds).undo()
    assert (ds / "1_a" / f"{name}.txt").read_text() == "a"


def test_oprecord_roundtrip_still_valid():
    rec = OpRecord(NAME, 1.0, "d", [FileRecord("1_a/x.txt", None, "a", "utf-8")])
    assert OpRecord.from_json(rec.to_json()).files == rec.files
