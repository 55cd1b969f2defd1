"""Property tests: any well-typed config survives TOML; any bytes give a clean header error."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loratui.config import SubsetConfig, TrainConfig
from loratui.config.fields import form_fields, format_value, parse_value, set_value

text = st.text(alphabet=string.ascii_letters + string.digits + " ,._-/éü\"'\\\n#=[]", max_size=20)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
KIND = {
    "bool": st.booleans(), "int": st.integers(-2**40, 2**40), "float": finite, "str": text,
    "resolution": st.lists(st.integers(0, 4096), min_size=2, max_size=2),
    "list_str": st.lists(text, max_size=3), "list_float": st.lists(finite, max_size=3),
    "list_int": st.lists(st.integers(0, 64), max_size=3), "lines": st.lists(text, max_size=3),
    "subsets": st.lists(st.builds(SubsetConfig, text, st.integers(1, 100), text, st.booleans()), max_size=3),
}
FIELDS = form_fields()


@st.composite
def configs(draw):
    cfg = TrainConfig()
    for f in FIELDS:
        if draw(st.booleans()):
            value = draw(st.sampled_from(f.choices)) if f.kind == "choice" else draw(KIND[f.kind])
            set_value(cfg, f.path, value)
    return cfg


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_toml_round_trip(cfg):
    assert TrainConfig.from_toml(cfg.to_toml()) == cfg


@settings(max_examples=60, deadline=None)
@given(configs())
def test_validate_never_raises(cfg):
    for f in cfg.validate(check_files=False):
        assert f.level in ("error", "warning") and f.path


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([f for f in FIELDS if f.kind not in ("bool", "choice", "lines", "subsets", "str")]),
       st.text(max_size=12))
def test_form_parsing_gives_a_value_or_a_value_error(field, raw):
    try:
        v = parse_value(field, raw)
    except ValueError:
        return
    assert parse_value(field, format_value(field, v)) == v
