"""The array-based query engine gives exactly what evaluating the query image by image gives.

The reference below is the plain definition of each term, applied to every image's own tag list;
the engine answers from the tag index (tag -> sorted id arrays, tags per image), including after
edits have moved some tags to their mutable form.
"""

from __future__ import annotations

import fnmatch
import operator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loratui.dataset import Dataset, normalize_tag, parse_query
from loratui.dataset.caption import Caption, bare_tag
from loratui.dataset.scan import ImageEntry, ScanResult, Subset

VOCAB = ["red hair", "red_hair", "Red Hair", "blue eyes", "1girl", "solo", "hat", "cap", "^_^",
         "long hair", "long_hair", "(smile:1.2)", "holding", "x"]
STATES = ["ok", "ok", "ok", "missing", "unreadable", "encoding"]
OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "=": operator.eq,
       "==": operator.eq}


def reference(node, ds: Dataset) -> set[int]:
    """Per-image evaluation: what each query term means, written out for one image at a time."""
    def match(n, e: ImageEntry) -> bool:
        tags = e.tags
        if n.kind == "tag":
            # a weighted tag `(smile:1.2)` is the tag `smile`
            want = normalize_tag(str(n.value))
            return any(bare_tag(t) == bare_tag(str(n.value)) or normalize_tag(bare_tag(t)) == want for t in tags)
        if n.kind == "glob":
            pat = normalize_tag(str(n.value))
            return any(fnmatch.fnmatchcase(normalize_tag(bare_tag(t)), pat) for t in tags)
        if n.kind == "count":
            op, num = n.value
            return OPS[op](len(tags), num)
        if n.kind == "state":
            return {"no-caption": e.state == "missing", "empty-caption": e.state == "empty",
                    "unreadable": e.state in ("unreadable", "encoding"), "changed": e.changed_outside,
                    "duplicate-name": e.duplicate_name}[n.value]
        if n.kind == "subset":
            s = ds.subsets[e.subset]
            return n.value in (s.name, s.path, s.class_tokens)
        if n.kind == "not":
            return not match(n.children[0], e)
        if n.kind == "and":
            return all(match(c, e) for c in n.children)
        if n.kind == "or":
            return any(match(c, e) for c in n.children)
        raise AssertionError(n.kind)

    if node is None:
        return set(range(len(ds.images)))
    return {e.id for e in ds.images if match(node, e)}


def build(images_spec, tmp) -> Dataset:
    ds = Dataset(str(tmp))
    subsets = [Subset(0, "10_a", "10_a", 10, "a"), Subset(1, "2_b c", "2_b c", 2, "b c")]
    images = []
    for i, (tags, state, sub, changed, dup) in enumerate(images_spec):
        e = ImageEntry(i, f"{subsets[sub].path}/{i}.png", sub, f"{subsets[sub].path}/{i}.txt")
        if state == "ok":
            e.set_caption_text(", ".join(tags), "utf-8", (1, 1), Caption(tags=list(tags)))
        else:
            e.state = state
        e.changed_outside = changed
        e.duplicate_name = dup
        subsets[sub].image_ids.append(i)
        images.append(e)
    ds._load(ScanResult(subsets, images, [], []))
    return ds


image_st = st.tuples(st.lists(st.sampled_from(VOCAB), max_size=6), st.sampled_from(STATES),
                     st.integers(0, 1), st.booleans(), st.booleans())

word = st.sampled_from(["red_hair", "red hair", "RED_HAIR", "blue_eyes", "1girl", "solo", "hat", "cap",
                        "^_^", "*hair", "long*", "?at", "*", "nothing", "x", "no-caption", "empty-caption",
                        "unreadable", "changed", "duplicate-name", "subset:10_a", "subset:a",
                        "subset:b c", "subset:zzz", '"long hair"', '"(smile:1.2)"'])
count_st = st.builds(lambda op, n: f"tags{op}{n}", st.sampled_from(list(OPS)), st.integers(0, 7))


def _query(depth: int):
    atom = st.one_of(word, count_st, st.builds(lambda w: "-" + w, word))
    if depth == 0:
        return atom
    sub = _query(depth - 1)
    return st.one_of(atom,
                     st.builds(lambda a, b: f"{a} {b}", sub, sub),
                     st.builds(lambda a, b: f"{a} | {b}", sub, sub),
                     st.builds(lambda a: f"({a})", sub),
                     st.builds(lambda a: f"- ({a})", sub))


query_st = _query(3)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=st.lists(image_st, max_size=25), queries=st.lists(query_st, min_size=1, max_size=4),
       edits=st.lists(st.tuples(st.integers(0, 24), st.lists(st.sampled_from(VOCAB), max_size=5)), max_size=5))
def test_engine_matches_per_image_evaluation(tmp_path, spec, queries, edits):
    ds = build(spec, tmp_path)
    for q in queries:
        assert set(ds.select(q)) == reference(parse_query(q), ds), q
    # edits move the touched tags from arrays to sets; answers must not change meaning
    for i, new in edits:
        if i >= len(ds.images):
            continue
        e = ds.images[i]
        old = e.tags
        e.set_caption_text(", ".join(new), "utf-8", (2, 2), Caption(tags=list(new)))
        ds.index.update(i, e.subset, old, e.tags)
    for q in queries:
        got = ds.select(q)
        assert got == sorted(got)
        assert set(got) == reference(parse_query(q), ds), q
        sub = list(range(0, len(ds.images), 2))
        assert ds.select(q, sub) == [i for i in sub if i in set(got)]


def test_unreadable_caption_counts_zero_tags(tmp_path):
    ds = build([(["a", "b"], "ok", 0, False, False), (["c"], "ok", 0, False, False)], tmp_path)
    e = ds.images[0]
    ds.index.remove(0, 0, e.tags)
    e.set_caption_text(None, "utf-8", None)
    e.state = "unreadable"
    assert ds.select("tags=0") == [0]
    assert ds.select("a") == []
    assert ds.index.count("b") == 0 and "b" not in ds.index
    assert ds.select("tags=1") == [1]


def test_counts_per_subset_from_arrays(tmp_path):
    ds = build([(["a", "a", "b"], "ok", 0, False, False), (["a"], "ok", 1, False, False),
                (["b"], "ok", 1, False, False)], tmp_path)
    assert ds.index.count("a") == 2
    assert ds.index.per_subset("a") == [1, 1]
    assert ds.index.counts(1) == {"a": 1, "b": 1}
    assert ds.select("tags=3") == [0]  # repeats count as written
    assert ds.index.images("a") == {0, 1}


def test_weighted_tag_counts_as_its_bare_tag(tmp_path):
    """`(smile:1.2)` is `smile` in the index: counts, queries, scope and edits agree."""
    from PIL import Image

    from loratui.dataset import RemoveTags

    sub = tmp_path / "5_x"
    sub.mkdir()
    captions = ["(smile:1.2), 1girl", "smile, 1girl", "1girl, (smile:1.2), smile", "[smile], hat", "hat"]
    for i, c in enumerate(captions):
        Image.new("RGB", (8, 8)).save(sub / f"{i}.png")
        (sub / f"{i}.txt").write_text(c, encoding="utf-8")
    ds = Dataset.open(str(tmp_path))
    counts = ds.index.counts()
    assert counts["smile"] == 4
    assert "(smile:1.2)" not in counts and "[smile]" not in counts
    assert ds.index.count("(smile:1.2)") == 4 and "(smile:1.2)" in ds.index
    assert ds.index.most_common(1) == [("smile", 4)]
    assert ds.select("smile") == [0, 1, 2, 3]
    assert ds.select("tags<2") == [4]
    # an edit keeps the index right: removing `smile` removes the weighted forms too
    ids = sorted(ds.index.images("smile"))
    ds.apply(ds.plan(RemoveTags(["smile"]), ids))
    assert ds.index.count("smile") == 0 and "smile" not in ds.index.counts()
    assert ds.index.counts()["1girl"] == 3
