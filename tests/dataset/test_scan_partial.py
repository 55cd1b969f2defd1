"""Progressive open: the rows handed out while a scan runs add up to exactly the finished scan."""

from __future__ import annotations

import pytest

from loratui.dataset import Dataset
from loratui.dataset import scan as scan_mod
from loratui.dataset.scan import scan

from .test_snapshot import build, problems, rows


def collect(monkeypatch, every: int):
    """Scan with a small chunk size; keep the newly ready rows of each partial call."""
    monkeypatch.setattr(scan_mod, "PROGRESS_EVERY", every)
    chunks: list[list] = []
    seen = [0]
    calls = []
    walks: list[int] = []

    def partial(p):
        if p.walking:
            walks.append(len(p.images))
        else:
            calls.append((p.ready, p.captions_done, p.captions_total))
        assert seen[0] <= p.ready <= len(p.images)
        view = type("V", (), {"images": p.images[seen[0]:p.ready], "subsets": p.subsets})
        chunks.append(rows(view))
        seen[0] = p.ready
        # nothing past `ready` claims a loaded caption yet when a caption file exists
        for e in p.images[p.ready:]:
            assert e.state in ("pending", "missing")
    collect.walks = walks  # type: ignore[attr-defined]
    return chunks, calls, partial


@pytest.mark.parametrize("every", [1, 2, 3, 7, 1000])
@pytest.mark.parametrize("with_snapshot", [False, True])
def test_partial_rows_concatenate_to_the_final_scan(tmp_path, monkeypatch, every, with_snapshot):
    root = build(tmp_path / "ds")
    if with_snapshot:
        Dataset.open(str(root))  # writes the scan index; the next scan rebuilds rows from it
    chunks, calls, partial = collect(monkeypatch, every)
    ds = Dataset.open(str(root), partial=partial)
    assert [r for c in chunks for r in c] == rows(ds)
    assert rows(ds) == rows(scan(str(root), ".txt"))
    assert problems(ds) == problems(scan(str(root), ".txt"))
    assert calls[-1] == (len(ds.images), calls[-1][2], calls[-1][2])
    assert len(calls) >= 2  # after the walk, and at the end
    # during the walk: once per folder with images (10_mychar, 4_bg, plain), the list growing
    assert collect.walks == sorted(collect.walks) and len(collect.walks) == 3  # type: ignore[attr-defined]
    assert collect.walks[-1] == len(ds.images)  # type: ignore[attr-defined]
    if every == 1:
        # one report per caption: the rows come in many chunks, not all at the end
        assert sum(1 for c in chunks if c) > 3


def test_shared_caption_rows_are_ready_with_their_first_image(tmp_path, monkeypatch):
    root = build(tmp_path / "ds")
    chunks, calls, partial = collect(monkeypatch, 1)
    result = scan(str(root), ".txt", partial=partial)
    twins = [e for e in result.images if e.duplicate_name]
    assert len(twins) == 2 and twins[0].tags == twins[1].tags == ["twin", "tag"]
    flat = [r for c in chunks for r in c]
    assert flat == rows(result)


QUERIES = ["red_hair", "red hair", "mychar -pose1", "pose0 | pose2", "*hair", "sky", "tags<3",
           "tags>=4 | twin", "no-caption", "empty-caption | unreadable", "subset:4_bg", "subset:mychar -red_hair",
           "duplicate-name", "(pose1 | scenery) -tags>4", ""]


@pytest.mark.parametrize("every", [1, 3, 1000])
def test_filter_during_the_scan_matches_the_finished_dataset(tmp_path, monkeypatch, every):
    """Every query, asked at every point of the scan, gives exactly the loaded images that the
    same query selects on the finished dataset (the filter works on what is loaded)."""
    from loratui.dataset import ProgressiveSelect

    root = build(tmp_path / "ds")
    monkeypatch.setattr(scan_mod, "PROGRESS_EVERY", every)
    selects = {q: ProgressiveSelect() for q in QUERIES}
    got: list[tuple[str, int, list[int]]] = []

    def partial(p):
        if p.walking:
            return
        for q, sel in selects.items():
            got.append((q, p.ready, sel.select(q, p.subsets, p.images, p.ready)))

    ds = Dataset.open(str(root), partial=partial)
    assert len({ready for _, ready, _ in got}) >= (3 if every == 1 else 1)
    for q, ready, ids in got:
        assert ids == [i for i in ds.select(q) if i < ready], (q, ready)
    # at the end: the whole dataset
    for q in QUERIES:
        assert got[-len(QUERIES) + QUERIES.index(q)][2] == ds.select(q)


def test_progressive_select_indexes_each_image_once_and_reports_bad_queries(tmp_path, monkeypatch):
    from loratui.dataset import ProgressiveSelect, QueryError, tag_index

    root = build(tmp_path / "ds")
    monkeypatch.setattr(scan_mod, "PROGRESS_EVERY", 2)
    built: list[int] = []
    real = tag_index.TagIndex.build

    def counting(self, lists):
        built.append(len(lists))
        return real(self, lists)

    sel = ProgressiveSelect()
    errors = []

    def partial(p):
        if p.walking:
            return
        monkeypatch.setattr(tag_index.TagIndex, "build", counting)
        try:
            sel.select("(red_hair", p.subsets, p.images, p.ready)
        except QueryError as e:
            errors.append(str(e))
        sel.select("red_hair", p.subsets, p.images, p.ready)
        sel.select("-red_hair", p.subsets, p.images, p.ready)
        monkeypatch.setattr(tag_index.TagIndex, "build", real)

    ds = Dataset.open(str(root), partial=partial)
    assert errors and "missing `)`" in errors[0]
    assert sum(built) == len(ds.images) == sel.loaded  # each image indexed once, however many queries
