from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loratui.dataset import AddTags, Dataset, Dedupe, MoveToFront, RemoveTags, RenameTag, ReplaceRegex, SortTags

from .helpers import make_dataset, read, simple_dataset


def run(op, tags):
    notes = Counter()
    return op.run(list(tags), notes), notes


def test_add_positions_and_no_duplicates():
    assert run(AddTags(["x"], "front"), ["a", "b"])[0] == ["x", "a", "b"]
    assert run(AddTags(["x"]), ["a", "b"])[0] == ["a", "b", "x"]
    assert run(AddTags(["x", "y"], 1), ["a", "b"])[0] == ["a", "x", "y", "b"]
    assert run(AddTags(["x"], 99), ["a"])[0] == ["a", "x"]
    new, notes = run(AddTags(["a", "x"], "front"), ["b", "a"])
    assert new == ["x", "b", "a"] and notes["files already had it"] == 1
    with pytest.raises(ValueError):
        AddTags(["  "])
    with pytest.raises(ValueError):
        AddTags(["x"], "middle")


def test_remove():
    assert run(RemoveTags(["a", "c"]), ["a", "b", "c", "a"])[0] == ["b"]


def test_rename_merges_without_duplicates():
    assert run(RenameTag("a", "z"), ["a", "b"])[0] == ["z", "b"]
    new, notes = run(RenameTag("a", "b"), ["a", "c", "b"])
    assert new == ["b", "c"] and sum(notes.values()) == 1
    assert run(RenameTag("q", "z"), ["a"])[0] == ["a"]
    with pytest.raises(ValueError, match="empty"):
        RenameTag("a", " ")
    with pytest.raises(ValueError, match="comma"):
        RenameTag("a", "b, c")


def test_replace_regex():
    assert run(ReplaceRegex(r"_", " "), ["long_hair", "a"])[0] == ["long hair", "a"]
    assert run(ReplaceRegex(r"^(\w+) hair$", r"\1-hair"), ["red hair"])[0] == ["red-hair"]
    new, notes = run(ReplaceRegex(r"^bad$", ""), ["bad", "good"])
    assert new == ["good"] and notes["tags emptied and dropped"] == 1
    assert run(ReplaceRegex("x", "y"), ["x", "y"])[0] == ["y"]  # merged, no duplicate
    with pytest.raises(ValueError, match="invalid regular expression"):
        ReplaceRegex("(", "")


def test_move_to_front_and_sort_and_dedupe():
    assert run(MoveToFront(["c", "zz", "b"]), ["a", "b", "c"])[0] == ["c", "b", "a"]
    assert run(SortTags("alpha", keep_first=1), ["t", "b", "a"])[0] == ["t", "a", "b"]
    freq = {"a": 1, "b": 5, "c": 3}.get
    assert run(SortTags("frequency", frequency=lambda t: freq(t, 0)), ["a", "b", "c"])[0] == ["b", "c", "a"]
    assert run(Dedupe(), ["a", "red_hair", "a", "red hair", "b"])[0] == ["a", "red_hair", "b"]
    with pytest.raises(ValueError):
        SortTags("random")


def test_plan_is_a_preview_and_apply_writes(tmp_path):
    simple_dataset(tmp_path)
    ds = Dataset.open(tmp_path)
    before = read(tmp_path, "10_mychar/img00.txt")
    plan = ds.plan(RenameTag("blonde hair", "yellow hair"))
    assert plan.files == 6
    assert plan.summary() == "rename `blonde hair` -> `yellow hair` in 6 files"
    assert plan.changes[0].added == ["yellow hair"] and plan.changes[0].removed == ["blonde hair"]
    assert read(tmp_path, "10_mychar/img00.txt") == before  # nothing written yet
    r = ds.apply(plan)
    assert len(r.written) == 6 and r.ok
    assert read(tmp_path, "10_mychar/img00.txt") == b"mychar, 1girl, multiple girls, yellow hair, pose0"
    assert ds.index.count("blonde hair") == 0 and ds.index.count("yellow hair") == 6


def test_merge_preview_counts_targets(tmp_path):
    make_dataset(tmp_path, {"1_a/x.png": None, "1_a/x.txt": "a, b", "1_a/y.png": None, "1_a/y.txt": "a",
                            "1_a/z.png": None, "1_a/z.txt": "c"})
    ds = Dataset.open(tmp_path)
    plan = ds.plan(RenameTag("a", "b"))
    assert plan.summary() == "rename `a` -> `b` in 2 files; 1 already had `b` (merged)"


def test_unchanged_files_are_never_rewritten(tmp_path):
    make_dataset(tmp_path, {"1_a/x.png": None, "1_a/x.txt": "a ,  b,,c", "1_a/y.png": None, "1_a/y.txt": "q"})
    ds = Dataset.open(tmp_path)
    mtime = (tmp_path / "1_a/x.txt").stat().st_mtime_ns
    r = ds.run(RenameTag("q", "r"))
    assert r.written == ["1_a/y.txt"]
    assert read(tmp_path, "1_a/x.txt") == b"a ,  b,,c"
    assert (tmp_path / "1_a/x.txt").stat().st_mtime_ns == mtime
    assert ds.run(Dedupe()).written == []


def test_selection_limits_the_edit(tmp_path):
    simple_dataset(tmp_path)
    ds = Dataset.open(tmp_path)
    ids = ds.select("solo")
    r = ds.run(AddTags(["alone"]), ids)
    assert len(r.written) == 3 and ds.index.count("alone") == 3
    assert set(ds.index.images("alone")) == set(ids)


def test_add_creates_missing_caption_and_undo_removes_it(tmp_path):
    make_dataset(tmp_path, {"1_a/x.png": None})
    ds = Dataset.open(tmp_path)
    assert ds.plan(RemoveTags(["a"])).changes == []
    ds.run(AddTags(["trigger"], "front"))
    assert read(tmp_path, "1_a/x.txt") == b"trigger"
    assert ds.images[0].state == "ok"
    ds.undo()
    assert not (tmp_path / "1_a/x.txt").exists()
    assert ds.images[0].state == "missing" and ds.index.count("trigger") == 0


def test_set_tags_single_image(tmp_path):
    simple_dataset(tmp_path)
    ds = Dataset.open(tmp_path)
    ds.set_tags(0, ["b", " a ", "", "b"])
    assert read(tmp_path, "10_mychar/img00.txt") == b"b, a"
    assert ds.history()[0][-1] == "edit caption"


def test_stale_plan_is_recomputed_on_current_tags(tmp_path):
    simple_dataset(tmp_path)
    ds = Dataset.open(tmp_path)
    plan = ds.plan(AddTags(["x"], "end"))
    ds.set_tags(0, ["only"])
    ds.apply(plan)
    assert read(tmp_path, "10_mychar/img00.txt") == b"only, x"


def test_per_subset_counts_follow_edits(tmp_path):
    simple_dataset(tmp_path)
    ds = Dataset.open(tmp_path)
    bg = next(s.index for s in ds.subsets if s.path == "4_bg")
    ch = next(s.index for s in ds.subsets if s.path == "10_mychar")
    ds.run(AddTags(["sky"]), ds.select("subset:10_mychar"))
    assert ds.index.count("sky", bg) == 1 and ds.index.count("sky", ch) == 6 and ds.index.count("sky") == 7
    ds.run(RemoveTags(["sky"]), ds.select("subset:4_bg"))
    assert ds.index.per_subset("sky")[bg] == 0 and ds.index.count("sky") == 6


def test_a_weighted_tag_is_its_bare_tag_for_rename_remove_dedupe_and_add():
    from collections import Counter

    from loratui.dataset import AddTags, Dedupe, RemoveTags, RenameTag, bare_tag, reweigh, split_weight

    assert split_weight("(smile:1.2)") == ("(", "smile", ":1.2)")
    assert bare_tag("[smile]") == "smile" and bare_tag("((smile))") == "smile"
    for plain in ("(red hair, blue eyes:1.2)", "\\(cat\\)", "(smile:1.2", "smile", "(a)b)"):
        assert bare_tag(plain) == plain, plain
    assert reweigh("(smile:1.2)", "grin") == "(grin:1.2)" and reweigh("smile", "grin") == "grin"
    # append-mode tagging wrote `(smile:1.2), ..., smile` into one caption
    tags = ["(smile:1.2)", "1girl", "smile"]
    notes: Counter = Counter()
    assert RenameTag("smile", "grin").run(tags, notes) == ["(grin:1.2)", "1girl"], "weight kept, one tag"
    assert RemoveTags(["smile"]).run(tags, Counter()) == ["1girl"]
    assert Dedupe().run(tags, Counter()) == ["(smile:1.2)", "1girl"]
    assert AddTags(["smile"]).run(["(smile:1.2)", "1girl"], Counter()) == ["(smile:1.2)", "1girl"]
    assert RenameTag("(red hair, blue eyes:1.2)", "x").run(["(red hair, blue eyes:1.2)"], Counter()) == ["x"]


@settings(max_examples=300, deadline=None)
@given(tags=st.lists(st.sampled_from(["a", "b", "old", "new", "c d", "e_f"]), max_size=8),
       old=st.sampled_from(["a", "old", "c d"]), new=st.sampled_from(["new", "b", "a", "old"]))
def test_rename_fast_path_matches_the_weighted_path(tags, old, new):
    """A caption without `(`/`[` takes a fast path; with an unrelated weighted tag appended it
    takes the general one: both must rename, merge and dedupe alike."""
    op = RenameTag(old, new)
    notes_fast, notes_slow = Counter(), Counter()
    fast = op.run(list(tags), notes_fast)
    slow = op.run(list(tags) + ["(zz:1.1)"], notes_slow)
    if old in tags:
        assert slow == fast + ["(zz:1.1)"]
    else:
        assert fast == tags and slow == tags + ["(zz:1.1)"]
    assert notes_fast == notes_slow
