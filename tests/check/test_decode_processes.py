"""Many images are decoded in worker processes (spawned), a few in threads: the facts are the
same either way, and a machine that cannot start processes gets them from threads."""

from __future__ import annotations

import pytest

from loratui.check import image_facts
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
    return Dataset.open(str(tmp_path))


def facts_rows(facts):
    return sorted((i, f.bytes, f.width, f.height, f.dhash, f.error, f.content) for i, f in facts.items())


def test_processes_and_threads_find_the_same_facts(dataset, monkeypatch):
    monkeypatch.setattr(image_facts, "PROCESS_MIN", 10**9)
    threads, _ = collect_facts(dataset, use_cache=False, threads=2)
    monkeypatch.setattr(image_facts, "PROCESS_MIN", 1)
    spawned = []
    import concurrent.futures as cf

    real_pool = cf.ProcessPoolExecutor

    def pool(*a, **kw):
        spawned.append(kw.get("mp_context").get_start_method())
        return real_pool(*a, **kw)
    monkeypatch.setattr(cf, "ProcessPoolExecutor", pool)
    procs, stats = collect_facts(dataset, use_cache=False, threads=2)
    assert spawned == ["spawn"]
    assert facts_rows(procs) == facts_rows(threads)
    errors = {dataset.images[i].path: f.error for i, f in procs.items() if f.error}
    assert "cannot be decoded" in errors["10_mychar/broken.png"] and "zero-byte" in errors["10_mychar/empty.png"]
    assert stats["decoded"] == len(dataset.images) - 1  # all but the empty file


@pytest.mark.parametrize("error", [OSError("Resource temporarily unavailable"),
                                   ValueError("bad value(s) in fds_to_keep")])
def test_no_processes_to_be_had_means_threads(dataset, monkeypatch, error):
    monkeypatch.setattr(image_facts, "PROCESS_MIN", 10**9)
    threads, _ = collect_facts(dataset, use_cache=False, threads=2)
    monkeypatch.setattr(image_facts, "PROCESS_MIN", 1)
    import concurrent.futures as cf

    def refuse(*a, **kw):
        raise error
    monkeypatch.setattr(cf, "ProcessPoolExecutor", refuse)
    again, _ = collect_facts(dataset, use_cache=False, threads=2)
    assert facts_rows(again) == facts_rows(threads)


def test_under_the_tui_the_check_decodes_in_threads(dataset, monkeypatch):
    """Textual holds the terminal and stands in for sys.stderr with no file descriptor (a worker
    process could not be given one): no processes are started, the facts come from threads."""
    import concurrent.futures as cf
    import io
    import sys

    class Capture(io.StringIO):
        def fileno(self) -> int:
            return -1

    monkeypatch.setattr(image_facts, "PROCESS_MIN", 10**9)
    threads, _ = collect_facts(dataset, use_cache=False, threads=2)
    monkeypatch.setattr(image_facts, "PROCESS_MIN", 1)
    started = []
    monkeypatch.setattr(cf, "ProcessPoolExecutor", lambda *a, **kw: started.append(1))
    monkeypatch.setattr(sys, "stderr", Capture())
    again, _ = collect_facts(dataset, use_cache=False, threads=2)
    assert not started and facts_rows(again) == facts_rows(threads)
