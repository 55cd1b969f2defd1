"""Whatever the bytes, reading a header gives a result or a LoraFileError, never another exception."""

from __future__ import annotations

import json
import struct
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from loratui.lora.header import LoraFileError, read_header
from loratui.lora.inspect import inspect_lora

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 100) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10)
entries = st.fixed_dictionaries({"dtype": st.sampled_from(["F32", "F16", "BF16", "I8", "X"]),
                                 "shape": st.lists(st.integers(-1, 4), max_size=3),
                                 "data_offsets": st.lists(st.integers(-2, 40), min_size=0, max_size=3)})
headers = st.dictionaries(st.sampled_from(["__metadata__", "lora_unet_a.lora_down.weight", "lora_unet_a.alpha",
                                           "x.lora_A.weight", "lora_te_b.hada_w1_b"]),
                          entries | json_values, max_size=4)


def _check(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "f.safetensors"
        p.write_bytes(raw)
        try:
            read_header(str(p))
            inspect_lora(str(p))
        except LoraFileError:
            pass


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes(raw):
    _check(raw)


@settings(max_examples=150, deadline=None)
@given(headers, st.binary(max_size=40), st.integers(-3, 3))
def test_structured_headers(header, data, skew):
    hb = json.dumps(header).encode()
    _check(struct.pack("<Q", max(0, len(hb) + skew)) + hb + data)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["lora_down.weight", "lora_up.weight", "alpha", "hada_w1_a", "hada_w1_b",
                                           "hada_w2_b", "hada_t1", "lokr_w1", "lokr_w2", "lokr_w2_b", "lokr_t2",
                                           "lora_A.weight", "lora_B.weight"]),
                          st.sampled_from(["lora_unet_x_attn2_to_k", "lora_te1_y", "unet.z"]),
                          st.lists(st.integers(0, 3), max_size=4)), max_size=6, unique_by=lambda t: t[:2]))
def test_valid_files_with_odd_shapes(tensors):
    """Well-formed safetensors whose LoRA tensors have surprising shapes: inspected without crashing."""
    import numpy as np
    from safetensors.numpy import save_file

    arrays = {f"{mod}.{param}": np.zeros(shape, dtype=np.float16) for param, mod, shape in tensors}
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "f.safetensors"
        save_file(arrays, str(p))
        info = inspect_lora(str(p))
        assert info.tensors == len(arrays)
