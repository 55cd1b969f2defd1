"""A strict, pure-Python reader for safetensors headers (no torch, no safetensors, no numpy).

Hostile files must give a clear ``LoraFileError``, never a crash or a huge allocation:
the claimed header length is bounded (100 MB, and by the file size), the JSON must be an object
whose ``__metadata__`` maps strings to strings, every tensor's dtype/shape/offsets must agree,
and the offsets must tile the data area exactly (no gaps, no overlaps, nothing outside the file).
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass

MAX_HEADER = 100 * 1024 * 1024
MAX_TENSORS = 50_000
"""Far more than any LoRA holds (an SDXL LoKr with conv layers has about 10,000 entries): a header
listing more is refused before its JSON is parsed, so memory and time stay bounded."""

DTYPE_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2,
               "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}


class LoraFileError(Exception):
    """A file that is not a readable safetensors/LoRA file; the message names the file and why."""


@dataclass(frozen=True, slots=True)
class TensorInfo:
    name: str
    dtype: str
    shape: tuple[int, ...]
    start: int
    """Offset in the data area (after the 8-byte length and the header)."""
    end: int

    @property
    def nbytes(self) -> int:
        return self.end - self.start


@dataclass
class Header:
    path: str
    file_size: int
    header_len: int
    metadata: dict[str, str]
    tensors: dict[str, TensorInfo]

    @property
    def data_start(self) -> int:
        return 8 + self.header_len


def _reject_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError(f"duplicate key {k!r}")
        d[k] = v
    return d


def read_header(path: str, max_header: int = MAX_HEADER) -> Header:
    """Parse and check ``path``'s header. Raises ``LoraFileError``."""
    name = os.fspath(path)

    def fail(msg: str) -> LoraFileError:
        return LoraFileError(f"{name}: {msg}")

    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size < 8:
                raise fail(f"too short for a safetensors file ({size} bytes)")
            (n,) = struct.unpack("<Q", fh.read(8))
            if n > max_header:
                raise fail(f"header claims {n:,} bytes (limit {max_header:,}): not a safetensors file, or a "
                           "hostile one")
            if n > size - 8:
                raise fail(f"header claims {n:,} bytes but the file has only {size - 8:,} after the length: "
                           "truncated or not a safetensors file")
            if n < 2:
                raise fail("header too short to hold a JSON object")
            raw = fh.read(n)
    except LoraFileError:
        raise
    except IsADirectoryError:
        raise fail("is a folder, not a file") from None
    except OSError as e:
        raise fail(f"cannot read ({e.strerror or e})") from None
    if len(raw) != n:
        raise fail("file changed while reading")
    listed = raw.count(b'"data_offsets"')  # counted on the bytes: parsing 400,000 entries costs 400 MB
    if listed > MAX_TENSORS:
        raise fail(f"header lists about {listed:,} tensors, more than any LoRA holds (limit {MAX_TENSORS:,}): "
                   "not a LoRA file, or a hostile one")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise fail("header is not UTF-8 JSON: not a safetensors file") from None
    try:
        obj = json.loads(text, object_pairs_hook=_reject_duplicates)
    except RecursionError:
        raise fail("header JSON is nested too deeply") from None
    except ValueError as e:
        raise fail(f"header is not valid JSON ({e})") from None
    if not isinstance(obj, dict):
        raise fail("header JSON is not an object")
    meta_raw = obj.pop("__metadata__", {})
    if meta_raw is None:
        meta_raw = {}
    if not isinstance(meta_raw, dict):
        raise fail("__metadata__ is not an object")
    for k, v in meta_raw.items():
        if not isinstance(v, str):
            raise fail(f"metadata value of {k!r} is a {type(v).__name__}, not a string")
    data_len = size - 8 - n
    tensors: dict[str, TensorInfo] = {}
    for tname, info in obj.items():
        where = f"tensor {tname!r}"
        if not isinstance(info, dict):
            raise fail(f"{where}: entry is not an object")
        dtype, shape, offs = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in DTYPE_SIZES:
            raise fail(f"{where}: unknown dtype {dtype!r}")
        if not isinstance(shape, list) or len(shape) > 8 or not all(
                isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 2**40 for x in shape):
            raise fail(f"{where}: bad shape {shape!r}")
        if (not isinstance(offs, list) or len(offs) != 2
                or not all(isinstance(x, int) and not isinstance(x, bool) for x in offs)):
            raise fail(f"{where}: bad data_offsets {offs!r}")
        start, end = offs
        if not 0 <= start <= end <= data_len:
            raise fail(f"{where}: data_offsets {offs} fall outside the file's {data_len:,} data bytes")
        count = 1
        for x in shape:
            count *= x
        if count * DTYPE_SIZES[dtype] != end - start:
            raise fail(f"{where}: shape {shape} of {dtype} needs {count * DTYPE_SIZES[dtype]:,} bytes, "
                       f"offsets give {end - start:,}")
        tensors[tname] = TensorInfo(tname, dtype, tuple(shape), start, end)
    pos = 0
    for t in sorted(tensors.values(), key=lambda t: (t.start, t.end)):
        if t.start < pos:
            raise fail(f"tensor {t.name!r} overlaps another tensor's bytes")
        if t.start > pos:
            raise fail(f"gap in the data before tensor {t.name!r} (offsets must cover the data exactly)")
        pos = t.end
    if pos != data_len:
        raise fail(f"tensors cover {pos:,} of {data_len:,} data bytes: truncated or padded file")
    return Header(name, size, n, dict(meta_raw), tensors)


def read_scalar(header: Header, name: str) -> float | None:
    """The value of a one-element float tensor (e.g. a LoRA ``alpha``), reading just its bytes."""
    t = header.tensors.get(name)
    if t is None or t.nbytes > 8:
        return None
    count = 1
    for x in t.shape:
        count *= x
    if count != 1:
        return None
    try:
        with open(header.path, "rb") as fh:
            fh.seek(header.data_start + t.start)
            b = fh.read(t.nbytes)
    except OSError:
        return None
    if len(b) != t.nbytes:
        return None
    if t.dtype == "F32":
        return struct.unpack("<f", b)[0]
    if t.dtype == "F16":
        return struct.unpack("<e", b)[0]
    if t.dtype == "BF16":
        return struct.unpack("<f", b"\x00\x00" + b)[0]
    if t.dtype == "F64":
        return struct.unpack("<d", b)[0]
    if t.dtype in ("I64", "I32", "I16", "I8", "U8", "U16", "U32", "U64"):
        return float(int.from_bytes(b, "little", signed=t.dtype.startswith("I")))
    return None
