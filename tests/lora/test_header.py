"""Malformed and hostile files give a LoraFileError naming the file, never a crash or a big allocation."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from safetensors.numpy import save_file

from loratui.lora.header import MAX_HEADER, LoraFileError, read_header, read_scalar

from .lorafiles import raw_safetensors, write_lora


def t(dtype="F32", shape=(2,), start=0, end=8):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": [start, end]}


def test_valid_file(tmp_path):
    p = tmp_path / "ok.safetensors"
    save_file({"a.alpha": np.array(4.0, dtype=np.float32), "b": np.zeros((2, 3), np.float16)}, str(p),
              metadata={"ss_network_dim": "8"})
    h = read_header(str(p))
    assert h.metadata == {"ss_network_dim": "8"}
    assert h.tensors["b"].shape == (2, 3) and h.tensors["b"].dtype == "F16"
    assert read_scalar(h, "a.alpha") == 4.0
    assert read_scalar(h, "b") is None  # not a scalar


@pytest.mark.parametrize("dtype,value", [(np.float16, 2.5), (np.float64, 0.125), (np.float32, 16.0)])
def test_scalar_dtypes(tmp_path, dtype, value):
    p = tmp_path / "s.safetensors"
    save_file({"x.alpha": np.array(value, dtype=dtype)}, str(p))
    assert read_scalar(read_header(str(p)), "x.alpha") == value


def test_bf16_scalar(tmp_path):
    bits = struct.unpack("<I", struct.pack("<f", 3.0))[0] >> 16
    p = raw_safetensors(tmp_path / "bf.safetensors", {"x.alpha": t("BF16", (), 0, 2)}, struct.pack("<H", bits))
    assert read_scalar(read_header(str(p)), "x.alpha") == 3.0


HOSTILE = {
    "empty": (b"", "too short"),
    "truncated_length": (b"\x10\x00\x00", "too short"),
    "length_past_eof": (struct.pack("<Q", 5000) + b"{}", "truncated or not a safetensors"),
    "claims_200MB": (struct.pack("<Q", 200 * 1024 * 1024) + b"{}" * 10, "limit"),
    "claims_2_64": (b"\xff" * 8 + b"{}", "limit"),
    "not_json": (struct.pack("<Q", 4) + b"abcd", "not valid JSON"),
    "not_utf8": (struct.pack("<Q", 4) + b"\xff\xfe\xfd\xfc", "not UTF-8"),
    "json_array": (struct.pack("<Q", 2) + b"[]", "not an object"),
    "deep_nesting": (struct.pack("<Q", 200000) + b"[" * 100000 + b"]" * 100000, "nested too deeply|not an object"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_bytes(tmp_path, name):
    raw, msg = HOSTILE[name]
    p = tmp_path / f"{name}.safetensors"
    p.write_bytes(raw)
    with pytest.raises(LoraFileError, match=msg) as e:
        read_header(str(p))
    assert str(p) in str(e.value)


@pytest.mark.parametrize("header,data,msg", [
    ({"__metadata__": {"a": 1}}, b"", "metadata value of 'a' is a int, not a string"),
    ({"__metadata__": {"a": {"b": "c"}}}, b"", "not a string"),
    ({"__metadata__": ["x"]}, b"", "__metadata__ is not an object"),
    ({"x": t("F32", (2,), 0, 8), "y": t("F32", (2,), 4, 12)}, b"\0" * 12, "overlaps"),
    ({"x": t("F32", (2,), 0, 8)}, b"\0" * 4, "outside the file"),
    ({"x": t("F32", (2,), 0, 8)}, b"\0" * 16, "cover 8 of 16"),
    ({"x": t("F32", (3,), 0, 8)}, b"\0" * 8, "needs 12 bytes"),
    ({"x": t("F32", (2,), 4, 12)}, b"\0" * 12, "gap"),
    ({"x": t("Q99", (2,), 0, 8)}, b"\0" * 8, "unknown dtype"),
    ({"x": t("F32", (-2,), 0, 8)}, b"\0" * 8, "bad shape"),
    ({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, "8"]}}, b"\0" * 8, "bad data_offsets"),
    ({"x": "nope"}, b"", "entry is not an object"),
])
def test_hostile_headers(tmp_path, header, data, msg):
    p = raw_safetensors(tmp_path / "h.safetensors", header, data)
    with pytest.raises(LoraFileError, match=msg):
        read_header(str(p))


def test_duplicate_keys(tmp_path):
    body = b'{"x": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}, "x": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}}'
    p = raw_safetensors(tmp_path / "d.safetensors", body, b"\0" * 4)
    with pytest.raises(LoraFileError, match="duplicate key"):
        read_header(str(p))


def test_truncated_real_file(tmp_path):
    p = write_lora(tmp_path / "full.safetensors")
    raw = p.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(raw[: len(raw) - 100])
    with pytest.raises(LoraFileError, match="outside the file|cover"):
        read_header(str(cut))
    cut.write_bytes(raw[:20])
    with pytest.raises(LoraFileError, match="truncated"):
        read_header(str(cut))


def test_folder_and_missing(tmp_path):
    with pytest.raises(LoraFileError, match="cannot read|folder"):
        read_header(str(tmp_path))
    with pytest.raises(LoraFileError, match="cannot read"):
        read_header(str(tmp_path / "missing.safetensors"))


def test_limit_is_100MB():
    assert MAX_HEADER == 100 * 1024 * 1024
