"""Every failure is a message: inspector odd values, disk full, read-only datasets, odd paths."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from loratui.cli.main import main
from loratui.dataset import AddTags, Dataset, JournalError
from tests.lora.lorafiles import write_lora


def test_inspect_survives_infinite_and_nan_tag_counts(tmp_path, capsys):
    freq = '{"10_x": {"good": 3, "huge": 1e999, "nan": NaN}}'
    p = write_lora(tmp_path / "x.safetensors", metadata={"ss_tag_frequency": freq})
    assert main(["inspect", str(p)]) == 0
    out = capsys.readouterr()
    assert "invalid count" in out.out + out.err and "Traceback" not in out.err


def _ds(tmp_path, n=3):
    d = tmp_path / "ds" / "10_x"
    d.mkdir(parents=True)
    for i in range(n):
        (d / f"{i}.png").write_bytes(b"")
        (d / f"{i}.txt").write_text(f"a{i}")
    return tmp_path / "ds"


def test_disk_full_while_recording_the_journal_is_a_message(tmp_path, monkeypatch, capsys):
    root = _ds(tmp_path)
    import loratui.dataset.journal as jmod

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jmod, "write_atomic", full)
    rc = main(["tags", str(root), "--add", "new"])
    err = capsys.readouterr().err
    assert rc == 1 and "No space left on device" in err and "nothing was written" in err
    assert "Traceback" not in err
    assert [(root / "10_x" / f"{i}.txt").read_text() for i in range(3)] == ["a0", "a1", "a2"]


def test_disk_full_at_commit_is_rolled_back_on_next_open(tmp_path, monkeypatch):
    root = _ds(tmp_path)
    ds = Dataset.open(root)
    import loratui.dataset.journal as jmod

    real = jmod.Journal.commit

    def full(self):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jmod.Journal, "commit", full)
    with pytest.raises(JournalError, match="rolled back"):
        ds.run(AddTags(["new"]))
    monkeypatch.setattr(jmod.Journal, "commit", real)
    again = Dataset.open(root)
    assert any("rolled back" in p.message for p in again.recovery)
    assert [(root / "10_x" / f"{i}.txt").read_text() for i in range(3)] == ["a0", "a1", "a2"]


def test_non_utf8_file_names_in_a_real_cli_rename(tmp_path):
    root = _ds(tmp_path)
    bad = os.fsencode(str(root / "10_x")) + b"/bad\xff"
    open(bad + b".png", "wb").close()
    with open(bad + b".txt", "wb") as f:
        f.write(b"a0")
    p = subprocess.run([sys.executable, "-m", "loratui", "tags", str(root), "--rename", "a0=b0"],
                       capture_output=True, timeout=120)
    assert p.returncode == 0 and b"Traceback" not in p.stderr, p.stderr
    with open(bad + b".txt", "rb") as f:
        assert f.read() == b"b0"
    p = subprocess.run([sys.executable, "-m", "loratui", "undo", str(root)], capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    with open(bad + b".txt", "rb") as f:
        assert f.read() == b"a0"


def test_caption_path_that_is_a_folder_says_so(tmp_path):
    root = _ds(tmp_path, 1)
    (root / "10_x" / "0.txt").unlink()
    (root / "10_x" / "0.txt").mkdir()
    ds = Dataset.open(root)
    msgs = [p.message for p in ds.problems if p.path.endswith("0.txt")]
    assert any("folder" in m for m in msgs), [str(p) for p in ds.problems]
    r = ds.run(AddTags(["x"]))
    assert not r.written


def test_symlink_loop_image_is_reported(tmp_path):
    root = _ds(tmp_path, 1)
    os.symlink("loop.png", root / "10_x" / "loop.png")
    ds = Dataset.open(root)
    assert any(p.path.endswith("loop.png") for p in ds.problems), [str(p) for p in ds.problems]


def test_read_only_dataset_says_so_up_front_and_still_browses(tmp_path, monkeypatch, capsys):
    root = _ds(tmp_path)
    real = os.statvfs

    class RO:
        def __init__(self, st):
            self.f_flag = st.f_flag | os.ST_RDONLY

    monkeypatch.setattr(os, "statvfs", lambda p: RO(real(p)))
    for cmd in (["tags", str(root), "--add", "x"], ["undo", str(root)]):
        assert main(cmd) == 1
        err = capsys.readouterr().err
        assert "read-only here" in err and "Traceback" not in err
    assert main(["stats", str(root)]) == 0
    assert main(["tags", str(root)]) == 0
    assert [(root / "10_x" / f"{i}.txt").read_text() for i in range(3)] == ["a0", "a1", "a2"]
    assert not (root / ".loratui" / "journal").exists()


def test_inspect_refuses_headers_with_hundreds_of_thousands_of_entries(tmp_path, capsys):
    from tests.lora.lorafiles import raw_safetensors

    header = {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(400_000)}
    p = raw_safetensors(tmp_path / "many.safetensors", header)
    assert main(["inspect", str(p)]) != 0
    err = capsys.readouterr().err
    assert "400,000 tensors" in err and "Traceback" not in err
