"""Many images are decoded in worker processes (decode_workers), a few in threads: the facts are
the same either way; what a worker does not answer (it could not start, it died) is decoded in
threads; and the workers start under the TUI too, where Textual holds the terminal."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from loratui.check import decode_workers, image_facts
from loratui.check.image_facts import collect_facts
from loratui.dataset import Dataset

from .helpers import character_dataset, picture, save


@pytest.fixture
def dataset(tmp_path):
    character_dataset(tmp_path, 12)
    save(tmp_path, "10_mychar/small.png", im=picture(1001, (512, 512)).resize((96, 96)), caption="mychar")
    save(tmp_path, "10_mychar/recode.jpg", im=picture(1001, (512, 512)), quality=60, caption="mychar")
    (tmp_path / "10_mychar" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    (tmp_path / "10_mychar" / "broken.txt").write_text("mychar", encoding="utf-8")
    (tmp_path / "10_mychar" / "empty.png").write_bytes(b"")
    (tmp_path / "10_mychar" / "new\nline.png").write_bytes((tmp_path / "10_mychar" / "img000.png").read_bytes())
    return Dataset.open(str(tmp_path))


def facts_rows(facts):
    return sorted((i, f.bytes, f.width, f.height, f.dhash, f.error, f.content) for i, f in facts.items())


@pytest.fixture
def in_threads(dataset, monkeypatch):
    monkeypatch.setattr(image_facts, "PROCESS_MIN", 10**9)
    facts, _ = collect_facts(dataset, use_cache=False, threads=2)
    monkeypatch.setattr(image_facts, "PROCESS_MIN", 1)
    return facts_rows(facts)


def workers_started(monkeypatch) -> list[list[str]]:
    started: list[list[str]] = []
    real = subprocess.Popen

    def popen(args, *a, **kw):
        started.append(args)
        return real(args, *a, **kw)
    monkeypatch.setattr(decode_workers.subprocess, "Popen", popen)
    return started


def test_worker_processes_find_what_threads_find(dataset, in_threads, monkeypatch):
    started = workers_started(monkeypatch)
    facts, stats = collect_facts(dataset, use_cache=False, threads=2)
    assert len(started) == 2  # two workers did the decoding
    assert facts_rows(facts) == in_threads
    errors = {dataset.images[i].path: f.error for i, f in facts.items() if f.error}
    assert "cannot be decoded" in errors["10_mychar/broken.png"] and "zero-byte" in errors["10_mychar/empty.png"]
    assert stats["decoded"] == len(dataset.images) - 1  # all but the empty file


def test_under_the_tui_the_workers_start_too(dataset, in_threads, monkeypatch):
    """Textual stands in for sys.stderr with no file descriptor: the workers do not need one."""
    class Capture(io.StringIO):
        def fileno(self) -> int:
            return -1

    started = workers_started(monkeypatch)
    monkeypatch.setattr(sys, "stderr", Capture())
    facts, _ = collect_facts(dataset, use_cache=False, threads=2)
    assert len(started) == 2 and facts_rows(facts) == in_threads


def test_no_processes_to_be_had_means_threads(dataset, in_threads, monkeypatch):
    def refuse(*a, **kw):
        raise OSError("Resource temporarily unavailable")
    monkeypatch.setattr(decode_workers.subprocess, "Popen", refuse)
    facts, _ = collect_facts(dataset, use_cache=False, threads=2)
    assert facts_rows(facts) == in_threads


@pytest.mark.parametrize("answers", [0, 2, 5])
def test_a_worker_that_dies_leaves_the_rest_to_threads(dataset, in_threads, monkeypatch, answers):
    dying = decode_workers._WORKER.replace(
        "for line in sys.stdin:\n",
        f"for i, line in enumerate(sys.stdin):\n    if i == {answers}: out.write('[1, 2'); out.flush(); sys.exit(3)\n")
    assert dying != decode_workers._WORKER
    monkeypatch.setattr(decode_workers, "_WORKER", dying)
    facts, _ = collect_facts(dataset, use_cache=False, threads=2)
    assert facts_rows(facts) == in_threads
