"""Cold opens of many captions read them in a helper process (bulk_read): the rows, states and
problems are exactly those of reading each file here, whatever the files hold, and whether the
helper starts, answers, or dies half-way."""

from __future__ import annotations

import os

import pytest

from loratui.dataset import bulk_read
from loratui.dataset.scan import scan

from .test_snapshot import build, problems, rows


def odd_files(root) -> None:
    """What the helper must hand back to be read here: a folder where a caption should be, a
    caption that is a symlink to nothing, one that is a FIFO."""
    build(root)
    (root / "10_mychar" / "dir.png").write_bytes(b"")
    (root / "10_mychar" / "dir.txt").mkdir()
    (root / "10_mychar" / "gone.png").write_bytes(b"")
    os.symlink(root / "nowhere.txt", root / "10_mychar" / "gone.txt")
    (root / "10_mychar" / "fifo.png").write_bytes(b"")
    os.mkfifo(root / "10_mychar" / "fifo.txt")


@pytest.fixture
def reference(tmp_path, monkeypatch):
    root = tmp_path / "ds"
    odd_files(root)
    monkeypatch.setattr(bulk_read, "MIN_FILES", 10**9)  # every caption read here
    ref = scan(str(root), ".txt")
    monkeypatch.setattr(bulk_read, "MIN_FILES", 1)
    return root, rows(ref), problems(ref)


def used_helper(monkeypatch) -> list[int]:
    started = []
    real = bulk_read.subprocess.Popen

    def popen(*a, **kw):
        started.append(1)
        return real(*a, **kw)
    monkeypatch.setattr(bulk_read.subprocess, "Popen", popen)
    return started


def test_the_helper_reads_what_reading_here_reads(reference, monkeypatch):
    root, want_rows, want_problems = reference
    started = used_helper(monkeypatch)
    got = scan(str(root), ".txt")
    assert started  # the helper did the reading
    assert rows(got) == want_rows and problems(got) == want_problems
    states = {e.path.rsplit("/", 1)[1]: e.state for e in got.images}
    assert states["bad.png"] == "encoding" and states["dir.png"] == "unreadable" and states["gone.png"] == "missing"


def test_a_helper_that_cannot_start_changes_nothing(reference, monkeypatch):
    root, want_rows, want_problems = reference

    def fail(*a, **kw):
        raise OSError("no processes left")
    monkeypatch.setattr(bulk_read.subprocess, "Popen", fail)
    got = scan(str(root), ".txt")
    assert rows(got) == want_rows and problems(got) == want_problems


@pytest.mark.parametrize("answers", [0, 3, 7])
def test_a_helper_that_dies_half_way_changes_nothing(reference, monkeypatch, answers):
    """The helper answers ``answers`` files, then exits: the rest is read here."""
    root, want_rows, want_problems = reference
    dying = bulk_read._CHILD.replace("for p in sys.stdin.buffer.read().split(b\"\\0\"):",
                                     f"for i, p in enumerate(sys.stdin.buffer.read().split(b\"\\0\")):\n"
                                     f"    if i == {answers}: out.write(b'xx'); out.flush(); sys.exit(1)")
    assert dying != bulk_read._CHILD
    monkeypatch.setattr(bulk_read, "_CHILD", dying)
    got = scan(str(root), ".txt")
    assert rows(got) == want_rows and problems(got) == want_problems


def test_few_files_are_read_here(tmp_path, monkeypatch):
    started = used_helper(monkeypatch)
    assert list(bulk_read.read_many([str(tmp_path / "a.txt")] * 3)) == [None] * 3
    assert not started


def test_a_fifo_where_a_caption_was_is_refused_not_waited_on(tmp_path):
    """A caption replaced by a FIFO after the folder was listed: refused at once, here and in the
    helper (a blocking open would wait for a writer forever)."""
    from loratui.dataset.caption_file import CaptionError, read_caption

    fifo = tmp_path / "a.txt"
    os.mkfifo(fifo)
    with pytest.raises(CaptionError, match="not a regular file"):
        read_caption(str(fifo))
    plain = tmp_path / "b.txt"
    plain.write_text("x, y", encoding="utf-8")
    got = list(bulk_read.read_many([str(fifo), str(plain)] * 3000))
    assert got[0] is None and got[1] is not None and got[1][0] == b"x, y"
