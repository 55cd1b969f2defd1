from loratui.dataset import normalize_tag
from loratui.dataset.tag_style import detect_style, rank_matches, resolve_style, to_style


def test_to_style_spaces_and_underscores():
    assert to_style("red_hair", "spaces") == "red hair"
    assert to_style("red hair", "underscores") == "red_hair"
    assert to_style("  looking_at__viewer ", "spaces") == "looking at viewer"
    assert to_style("Red Hair", "underscores") == "Red_Hair"  # case kept
    assert to_style("red_hair", None) == "red_hair"
    assert to_style("red_hair", "off") == "red_hair"


def test_to_style_keeps_kaomoji_weights_and_escapes():
    for k in ("^_^", ">_<", "0_0", "||_||", "(o)_(o)", "<o>_<o>"):
        assert to_style(k, "spaces") == k
    assert to_style("(red_hair:1.2)", "spaces") == "(red hair:1.2)"
    assert to_style("[blue eyes]", "underscores") == "[blue_eyes]"
    assert to_style(r"ke-ta_\(artist\)", "spaces") == r"ke-ta \(artist\)"


def test_detect_style_weighted_by_count_and_kaomoji_ignored():
    assert detect_style([("red hair", 5), ("blue_eyes", 2), ("solo", 9)]) == "spaces"
    assert detect_style([("red hair", 1), ("blue_eyes", 2)]) == "underscores"
    assert detect_style([("^_^", 50), ("red hair", 1)]) == "spaces"
    assert detect_style([("solo", 3)]) is None
    assert resolve_style("auto", [("blue_eyes", 1)]) == "underscores"
    assert resolve_style("spaces", [("blue_eyes", 1)]) == "spaces"
    assert resolve_style("off", [("blue_eyes", 1)]) is None


def _ranked(pairs):
    return [(t, normalize_tag(t), n) for t, n in pairs]


def test_rank_matches_prefix_then_substring_then_subsequence():
    ranked = _ranked([("long hair", 90), ("hair ornament", 40), ("red_hair", 30), ("hat", 20),
                      ("highres", 10), ("hairband", 5)])
    assert rank_matches("hair", ranked) == [("hair ornament", 40), ("hairband", 5), ("long hair", 90),
                                            ("red_hair", 30)]
    assert rank_matches("rdhr", ranked) == [("red_hair", 30)]
    assert rank_matches("red_h", ranked) == [("red_hair", 30)]
    assert rank_matches("RED H", ranked) == [("red_hair", 30)]
    assert rank_matches("h", ranked, limit=2) == [("hair ornament", 40), ("hat", 20)]
    assert rank_matches("", ranked) == []
    assert rank_matches("zzz", ranked) == []
