from hypothesis import given, settings
from hypothesis import strategies as st

from loratui.dataset.caption import normalize_tag, parse_caption, split_tags


def test_basic_split_trims_and_drops_empty():
    assert split_tags(" 1girl ,solo,, ,long hair ") == ["1girl", "solo", "long hair"]


def test_weights_and_escapes_kept_as_text():
    line = r"(red hair:1.2), \(cat\), [blue eyes], (smile, blush:0.8), artist \(name\)"
    assert split_tags(line) == ["(red hair:1.2)", r"\(cat\)", "[blue eyes]", "(smile, blush:0.8)", r"artist \(name\)"]


def test_unbalanced_parentheses_fall_back_to_plain_commas():
    assert split_tags("(oops, a, b") == ["(oops", "a", "b"]
    assert split_tags("a), b") == ["a)", "b"]


def test_extra_lines_and_crlf_preserved():
    text = "a, b\r\nA natural sentence, with a comma.\r\nthird\r\n"
    cap = parse_caption(text)
    assert cap.tags == ["a", "b"]
    assert cap.format() == text
    assert cap.format(["b", "c"]) == "b, c\r\nA natural sentence, with a comma.\r\nthird\r\n"


def test_separator_style_kept():
    cap = parse_caption("a,b,c")
    assert cap.format(["a", "c"]) == "a,c"
    assert parse_caption("a, b").format(["x", "y"]) == "x, y"


def test_leading_blank_lines_and_trailing_newline():
    cap = parse_caption("\n\n a, b\n")
    assert cap.tags == ["a", "b"]
    assert cap.format(["a"]) == "\n\na\n"
    assert parse_caption("a, b").format(["a"]) == "a"


def test_odd_separators_are_tag_text_not_dropped():
    cap = parse_caption("a; b | c, d")
    assert cap.tags == ["a; b | c", "d"]


def test_empty_and_blank():
    assert parse_caption("").tags == []
    assert parse_caption("  \n\n").tags == []
    assert parse_caption("\n\n").format(["x"]) == "x\n\n"


def test_normalize_tag():
    assert normalize_tag("Blonde_Hair") == "blonde hair"
    assert normalize_tag("  long   hair ") == "long hair"
    assert normalize_tag("^_^") == "^_^"


tag = st.text(alphabet=st.characters(blacklist_characters=",\r\n()\\", blacklist_categories=("Cs", "Zl", "Zp", "Cc")),
              min_size=1, max_size=20).map(str.strip).filter(bool)


@given(st.lists(tag, min_size=1, max_size=30), st.sampled_from([", ", ","]), st.sampled_from(["\n", "\r\n"]),
       st.booleans(), st.text(max_size=40))
@settings(max_examples=300)
def test_roundtrip_format_then_parse(tags, sep, nl, trailing, rest):
    text = sep.join(tags) + (nl if trailing or rest else "") + (rest.replace("\r", "") if rest else "")
    cap = parse_caption(text)
    assert cap.tags == tags
    # formatting the untouched caption gives the same tags back, and further content is kept
    again = parse_caption(cap.format())
    assert again.tags == cap.tags
    assert again.rest == cap.rest


@given(st.text(max_size=200))
@settings(max_examples=500)
def test_any_text_parse_format_parse_is_stable(text):
    cap = parse_caption(text)
    out = cap.format()
    assert parse_caption(out).tags == cap.tags
    # what the parser does not model is carried verbatim
    assert cap.rest in out


@given(st.lists(st.sampled_from(["(a:1.2)", r"\(b\)", "c", "(d, e:0.5)", "[f]", "g h"]), max_size=8))
def test_weighted_roundtrip(tags):
    assert parse_caption(", ".join(tags)).tags == tags


@given(st.lists(st.sampled_from(["a", "b", " ", ",", "\t", "\xa0", "  ", ", "]), max_size=30).map("".join))
@settings(max_examples=1000)
def test_fast_split_path_agrees_with_the_general_one(line):
    general = [p for p in (x.strip() for x in line.split(",")) if p]
    assert split_tags(line) == general


def test_a_first_line_without_tags_is_kept_before_the_tag_line():
    # found by hypothesis: a separator-only first line must not vanish or swallow the next line
    cap = parse_caption(",\r0")
    assert cap.tags == ["0"] and cap.format() == ",\r0"
    assert parse_caption(" , \nred hair, smile\n").format(["smile"]) == " , \nsmile\n"
