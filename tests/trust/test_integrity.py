"""Smaller integrity fixes: modes, nothing-to-do, no empty journal entries, legacy .ckpt."""

from __future__ import annotations

import os
import stat

import pytest

from loratui.cli.main import main
from loratui.dataset import AddTags, Dataset
from loratui.fileio import write_atomic


def _ds(tmp_path, n=2):
    d = tmp_path / "ds" / "10_x"
    d.mkdir(parents=True)
    for i in range(n):
        (d / f"{i}.png").write_bytes(b"")
    (d / "0.txt").write_text("a")
    return tmp_path / "ds"


def mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


@pytest.fixture
def umask000():
    import loratui.dataset.caption_file as cf
    import loratui.fileio as fio

    old = os.umask(0)
    saved = (fio._UMASK, cf._UMASK)
    fio._UMASK = cf._UMASK = None
    yield
    os.umask(old)
    fio._UMASK, cf._UMASK = saved


def test_files_and_folders_loratui_creates_follow_one_rule_under_umask_000(tmp_path, umask000):
    write_atomic(str(tmp_path / "out" / "x.safetensors"), b"data", fsync=True)
    assert mode(tmp_path / "out" / "x.safetensors") == 0o644
    assert mode(tmp_path / "out") == 0o755
    root = _ds(tmp_path)
    Dataset.open(root).run(AddTags(["b"]))  # creates 1.txt and the journal
    assert mode(root / "10_x" / "1.txt") == 0o644
    for d in (".loratui", ".loratui/journal", ".loratui/journal/ops"):
        assert mode(root / d) == 0o755, d
    assert all(mode(p) == 0o644 for p in (root / ".loratui/journal/ops").iterdir())
    assert mode(root / ".loratui/journal/state.json") == 0o644


def test_a_replaced_file_keeps_its_mode(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("x")
    os.chmod(p, 0o600)
    write_atomic(str(p), "y")
    assert mode(p) == 0o600 and p.read_text() == "y"


def test_tags_with_nothing_to_change_exits_1(tmp_path, capsys):
    root = _ds(tmp_path)
    assert main(["tags", str(root), "--remove", "not-there"]) == 1
    assert "nothing to do" in capsys.readouterr().err
    assert main(["tags", str(root), "--remove", "a"]) == 0


def test_no_empty_journal_entry_when_every_file_is_refused(tmp_path, monkeypatch):
    root = _ds(tmp_path)
    ds = Dataset.open(root)
    import loratui.dataset.dataset as dmod
    from loratui.dataset.caption_file import CaptionError

    monkeypatch.setattr(dmod, "write_many", lambda jobs: [CaptionError(j[0], "write-failed", "no") for j in jobs])
    r = ds.run(AddTags(["b"]))
    assert not r.written and r.refused
    assert ds.history() == ([], 0)
    assert Dataset.open(root).undo() is None


def test_legacy_pickle_ckpt_is_refused_with_a_clear_message(tmp_path):
    import pickle

    from loratui.train.models import ModelError, _load_ckpt_safely

    p = tmp_path / "old.ckpt"
    p.write_bytes(pickle.dumps({"state_dict": {}}, protocol=2))
    with pytest.raises(ModelError, match="legacy pickle checkpoints are not loaded for safety"):
        _load_ckpt_safely(str(p))
