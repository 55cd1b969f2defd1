import pytest

from loratui.dataset import Dataset, QueryError

from .helpers import make_dataset


@pytest.fixture
def ds(tmp_path):
    make_dataset(tmp_path, {
        "10_c/a.png": None, "10_c/a.txt": "1girl, solo, red hair, hat",
        "10_c/b.png": None, "10_c/b.txt": "1girl, 1boy, red_hair, cap",
        "10_c/c.png": None, "10_c/c.txt": "1girl, solo, long hair, smile, outdoors",
        "2_bg/d.png": None, "2_bg/d.txt": "scenery",
        "2_bg/e.png": None,
        "2_bg/f.png": None, "2_bg/f.txt": "",
    })
    return Dataset.open(tmp_path)


def names(ds, q):
    return [ds.images[i].path.rsplit("/", 1)[1][0] for i in ds.select(q)]


def test_terms(ds):
    assert names(ds, "") == list("abcdef")
    assert names(ds, "solo") == ["a", "c"]
    assert names(ds, "1girl -solo") == ["b"]
    assert names(ds, "hat | cap") == ["a", "b"]
    assert names(ds, "(hat | cap) solo") == ["a"]
    assert names(ds, "red_hair") == ["a", "b"]  # underscores and spaces match each other
    assert names(ds, '"long hair"') == ["c"]
    assert names(ds, "*hair") == ["a", "b", "c"]
    assert names(ds, "tags<2") == ["d", "e", "f"]
    assert names(ds, "tags>=5") == ["c"]
    assert names(ds, "no-caption") == ["e"]
    assert names(ds, "empty-caption") == ["f"]
    assert names(ds, "subset:2_bg -scenery") == ["e", "f"]
    assert names(ds, "subset:c") == ["a", "b", "c"]
    assert names(ds, "- solo") == ["b", "d", "e", "f"]


@pytest.mark.parametrize("bad", ["(solo", "hat |", "| hat", '"open', "solo )"])
def test_bad_queries_explain(ds, bad):
    with pytest.raises(QueryError):
        ds.select(bad)


def test_bad_queries_say_what_is_wrong():
    import pytest

    from loratui.dataset import QueryError, parse_query

    for text, said in [("(hat", "missing `)`"), ("1girl -", "expected a tag after `-`, found the end"),
                       ("tags<abc", "a tag count needs a whole number"), ("tags>=", "whole number")]:
        with pytest.raises(QueryError, match=None) as e:
            parse_query(text)
        assert said in str(e.value), (text, str(e.value))
    assert parse_query('"tags<abc"') is not None  # quoted, it is a tag
