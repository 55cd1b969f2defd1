"""The byte-offset follower: partial lines, truncation, replacement, a fast writer, big backlogs."""

from __future__ import annotations

import json
import os
import threading
import time

from loratui.runs.follow import EventFollower, LineFollower, last_events, tail_lines
from loratui.runs.progress import RunProgress


def test_partial_lines_are_held_until_complete(tmp_path):
    p = tmp_path / "log"
    p.write_bytes(b"")
    f = LineFollower(str(p))
    with open(p, "ab") as w:
        w.write(b"one\ntw")
        w.flush()
        assert f.poll() == (["one"], False)
        assert f.poll() == ([], False)
        w.write(b"o\nthr")
        w.flush()
        assert f.poll() == (["two"], False)
        w.write("é\n".encode())
        w.flush()
        assert f.poll() == (["thré"], False)


def test_split_multibyte_character_survives(tmp_path):
    p = tmp_path / "log"
    data = "ünïcødé\n".encode()
    p.write_bytes(data[:2])
    f = LineFollower(str(p))
    assert f.poll() == ([], False)
    with open(p, "ab") as w:
        w.write(data[2:])
    assert f.poll() == (["ünïcødé"], False)


def test_truncation_and_replacement_restart_from_zero(tmp_path):
    p = tmp_path / "log"
    p.write_text("a\nb\nc\n")
    f = LineFollower(str(p))
    assert f.poll()[0] == ["a", "b", "c"]
    p.write_text("x\n")  # truncated (shorter than the offset)
    assert f.poll() == (["x"], True)
    assert f.resets == 1
    tmp = tmp_path / "new"
    tmp.write_text("fresh file that is longer than before\n")
    os.replace(tmp, p)  # replaced (new inode)
    lines, reset = f.poll()
    assert reset and lines == ["fresh file that is longer than before"]


def test_missing_file_is_quiet(tmp_path):
    f = EventFollower(str(tmp_path / "nope.jsonl"))
    assert f.poll() == ([], False)


def test_garbled_lines_become_events(tmp_path):
    p = tmp_path / "e.jsonl"
    p.write_text('{"type": "start", "t": 1}\nnot json\n[1]\n')
    evs, _ = EventFollower(str(p)).poll()
    assert [e["type"] for e in evs] == ["start", "garbled", "garbled"]


def test_big_backlog_is_read_in_bounded_slices(tmp_path):
    p = tmp_path / "e.jsonl"
    with open(p, "w") as w:
        for i in range(5000):
            w.write(json.dumps({"type": "step", "step": i + 1, "loss": 0.1, "t": i}) + "\n")
    f = EventFollower(str(p), max_bytes=8192)
    got, polls = [], 0
    while True:
        evs, _ = f.poll()
        polls += 1
        got += evs
        if not f.more:
            break
    assert [e["step"] for e in got] == list(range(1, 5001)) and polls > 10


def test_fast_writer_loses_nothing(tmp_path):
    """A writer thread appending 20k events in small unaligned chunks while the reader polls."""
    p = tmp_path / "e.jsonl"
    p.write_bytes(b"")
    n = 20000
    blob = "".join(json.dumps({"type": "step", "step": i + 1, "t": 0}) + "\n" for i in range(n)).encode()

    def writer():
        with open(p, "ab") as w:
            k = 0
            while k < len(blob):
                w.write(blob[k:k + 37])
                w.flush()
                k += 37

    th = threading.Thread(target=writer)
    th.start()
    f = EventFollower(str(p))
    got = []
    deadline = time.monotonic() + 30
    while len(got) < n and time.monotonic() < deadline:
        evs, reset = f.poll()
        assert not reset
        got += [e["step"] for e in evs]
    th.join()
    assert got == list(range(1, n + 1))


def test_tail_and_last_events(tmp_path):
    p = tmp_path / "e.jsonl"
    with open(p, "w") as w:
        for i in range(3000):
            w.write(json.dumps({"type": "step", "step": i}) + "\n")
    assert tail_lines(str(p), 2) == ['{"type": "step", "step": 2998}', '{"type": "step", "step": 2999}']
    evs = last_events(str(p), max_bytes=1000)
    assert evs[-1]["step"] == 2999 and len(evs) < 60


def test_progress_fold_resume_replaces_steps():
    p = RunProgress()
    p.apply({"type": "start", "t": 10, "spec": {"epochs": 2}})
    p.apply({"type": "dataset", "t": 11, "total_steps": 10, "epochs": 2, "steps_per_epoch": 5})
    for s in range(1, 7):
        p.apply({"type": "step", "t": 11 + s, "step": s, "total_steps": 10, "epoch": 1 + (s > 5), "loss": 1 / s,
                 "lr": {"unet": 1e-4}, "it_s": 1.0, "eta_s": 10 - s})
    p.apply({"type": "epoch_end", "t": 16, "epoch": 1, "step": 5})
    p.apply({"type": "stopped", "t": 18, "step": 6, "reason": "stop_file", "checkpoint": "c"})
    assert p.terminal["type"] == "stopped"
    p.apply({"type": "start", "t": 100, "spec": {}})
    assert p.terminal is None
    p.apply({"type": "step", "t": 101, "step": 5, "total_steps": 10, "epoch": 1, "loss": 0.3, "lr": {"unet": 1}})
    assert p.steps == [1, 2, 3, 4, 5] and p.losses[-1] == 0.3
    assert p.epoch_marks == [5]
    assert abs(p.elapsed() - (8 + 1)) < 1e-6  # gaps between sections do not count
    assert any("stopped at step 6" in e.text for e in p.log)
