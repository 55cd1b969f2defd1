from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loratui.tagging import SelectOptions, format_tag, load_labels, mcut_threshold, merge_tags, select_tags
from loratui.tagging.standin import write_labels


@pytest.fixture
def labels(tmp_path):
    p = tmp_path / "selected_tags.csv"
    write_labels(str(p))
    return load_labels(str(p))


def probs_for(labels, **values) -> np.ndarray:
    p = np.zeros(len(labels), np.float32)
    for name, v in values.items():
        p[labels.names.index(name)] = v
    return p


def names(out):
    return [t for t, _ in out]


def test_labels_categories(labels):
    assert [labels.names[i] for i in labels.rating] == ["general", "sensitive", "questionable", "explicit"]
    assert "1girl" in [labels.names[i] for i in labels.general]
    assert "hatsune_miku" in [labels.names[i] for i in labels.character]


def test_default_thresholds_are_strict(labels):
    p = probs_for(labels, **{"1girl": 0.9, "solo": 0.35, "smile": 0.351, "hatsune_miku": 0.85,
                             "hakurei_reimu": 0.86})
    assert names(select_tags(p, labels, SelectOptions())) == ["hakurei reimu", "1girl", "smile"]


def test_sorted_by_probability_characters_first_or_last(labels):
    p = probs_for(labels, **{"1girl": 0.5, "solo": 0.9, "hatsune_miku": 0.99})
    assert names(select_tags(p, labels, SelectOptions())) == ["hatsune miku", "solo", "1girl"]
    assert names(select_tags(p, labels, SelectOptions(characters_first=False))) == ["solo", "1girl", "hatsune miku"]


def test_custom_thresholds(labels):
    p = probs_for(labels, **{"1girl": 0.6, "solo": 0.4, "hatsune_miku": 0.7})
    out = select_tags(p, labels, SelectOptions(general_threshold=0.5, character_threshold=0.6))
    assert names(out) == ["hatsune miku", "1girl"]
    assert out[1][1] == pytest.approx(0.6)


def test_mcut():
    assert mcut_threshold(np.array([0.9, 0.8, 0.2, 0.1])) == pytest.approx(0.5)
    assert mcut_threshold(np.array([0.1, 0.95, 0.9, 0.85])) == pytest.approx(0.475)
    assert mcut_threshold(np.array([0.5])) == 0.0


def test_general_mcut(labels):
    p = probs_for(labels, **{"1girl": 0.95, "solo": 0.9, "smile": 0.3, "blush": 0.25})
    assert names(select_tags(p, labels, SelectOptions(general_mcut=True))) == ["1girl", "solo"]
    # without MCut only the fixed threshold counts
    assert names(select_tags(p, labels, SelectOptions(general_threshold=0.2))) == ["1girl", "solo", "smile", "blush"]


def test_character_mcut_floor(labels):
    p = probs_for(labels, hatsune_miku=0.3, hakurei_reimu=0.12)
    # MCut would put the cut at ~0.15 (midpoint of 0.3 / 0.0 is 0.15), floor keeps >= 0.15
    out = names(select_tags(p, labels, SelectOptions(character_mcut=True)))
    assert out == ["hatsune miku"]
    p2 = probs_for(labels, hatsune_miku=0.14, hakurei_reimu=0.13)
    assert names(select_tags(p2, labels, SelectOptions(character_mcut=True))) == []


def test_rating(labels):
    p = probs_for(labels, general=0.2, sensitive=0.7, questionable=0.1, **{"1girl": 0.9})
    assert names(select_tags(p, labels, SelectOptions(rating=True))) == ["sensitive", "1girl"]
    assert names(select_tags(p, labels, SelectOptions())) == ["1girl"]


def test_underscores_and_kaomoji(labels):
    p = probs_for(labels, **{"long_hair": 0.9, "^_^": 0.8, ">_<": 0.7})
    assert names(select_tags(p, labels, SelectOptions())) == ["long hair", "^_^", ">_<"]
    assert names(select_tags(p, labels, SelectOptions(underscores_to_spaces=False))) == ["long_hair", "^_^", ">_<"]
    assert format_tag("(o)_(o)", SelectOptions()) == "(o)_(o)"
    assert format_tag("x_y", SelectOptions()) == "x_y"  # 3 characters: kept


def test_escape_brackets(labels):
    p = probs_for(labels, **{"ke-ta_(artist)": 0.9})
    assert names(select_tags(p, labels, SelectOptions(escape_brackets=True))) == ["ke-ta \\(artist\\)"]
    assert names(select_tags(p, labels, SelectOptions())) == ["ke-ta (artist)"]
    assert format_tag("a\\b_(c)", SelectOptions(escape_brackets=True)) == "a\\\\b \\(c\\)"


def test_undesired_replace_and_always_first(labels):
    p = probs_for(labels, **{"1girl": 0.9, "solo": 0.8, "red_hair": 0.7, "simple_background": 0.6,
                             "hatsune_miku": 0.95})
    opts = SelectOptions(undesired=["Simple Background", "solo"], replace=[("red hair", "crimson hair"), ("1girl", "")],
                         always_first=["mychar", "hatsune miku"])
    assert names(select_tags(p, labels, opts)) == ["mychar", "hatsune miku", "crimson hair"]


def test_replace_into_existing_tag_is_deduplicated(labels):
    p = probs_for(labels, **{"1girl": 0.9, "solo": 0.8})
    assert names(select_tags(p, labels, SelectOptions(replace=[("solo", "1girl")]))) == ["1girl"]


def test_wrong_length_raises(labels):
    with pytest.raises(ValueError):
        select_tags(np.zeros(3), labels, SelectOptions())


def test_threshold_validation():
    with pytest.raises(ValueError):
        SelectOptions(general_threshold=1.5).validate()


def test_merge_modes():
    assert merge_tags(["b", "a"], ["a", "c", "c"], "append") == ["b", "a", "c"]
    assert merge_tags(["red_hair", "x"], ["red hair", "y"], "append") == ["red_hair", "x", "y"]
    assert merge_tags(["b", "a"], ["a", "c"], "overwrite") == ["a", "c"]
    assert merge_tags([], ["a", "c"], "skip") == ["a", "c"]
    assert merge_tags(["b", "trig", "a"], ["c"], "append", ["trig"]) == ["trig", "b", "a", "c"]


@given(st.lists(st.sampled_from(["a", "b", "c", "d_e", "d e", "trig"]), max_size=6),
       st.lists(st.sampled_from(["a", "b", "x", "y", "d e"]), max_size=5),
       st.sampled_from(["append", "overwrite", "skip"]),
       st.sampled_from([[], ["trig"]]))
def test_merge_is_idempotent(existing, predicted, mode, first):
    once = merge_tags(existing, predicted, mode, first)
    assert merge_tags(once, predicted, mode, first) == once
