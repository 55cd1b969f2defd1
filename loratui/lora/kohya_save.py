"""Writing a LoRA in kohya format: ``.safetensors`` with string metadata, ``sshs_model_hash`` and
``sshs_legacy_hash`` computed on the final file's bytes, written atomically.

- ``sshs_model_hash``: sha256 (hex) of everything after the header (8-byte length + JSON header).
- ``sshs_legacy_hash``: first 8 hex of the sha256 of the 64 KiB at offset 1 MiB of the file.

The legacy hash depends on the header length, which includes the hashes themselves: both are
fixed-width hex, so the file is serialised once with same-length placeholders, hashed, and the
placeholders replaced; the header length, and so every byte the hashes cover, is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import struct

from loratui.fileio import write_atomic

_PLACEHOLDER_MODEL = "0" * 64
_PLACEHOLDER_LEGACY = "0" * 8


def data_hash(buf: bytes) -> str:
    (n,) = struct.unpack("<Q", buf[:8])
    return hashlib.sha256(memoryview(buf)[8 + n:]).hexdigest()


def legacy_hash(buf: bytes) -> str:
    return hashlib.sha256(memoryview(buf)[0x100000:0x110000]).hexdigest()[:8]


def serialize_kohya(tensors: dict, metadata: dict[str, str]) -> bytes:
    """Bytes of the final file. ``tensors``: name -> torch tensor. Metadata values must be strings."""
    from safetensors.torch import save

    bad = [k for k, v in metadata.items() if not isinstance(v, str)]
    if bad:
        raise TypeError(f"metadata values must be strings: {', '.join(bad)}")
    meta = dict(metadata)
    meta["sshs_model_hash"] = _PLACEHOLDER_MODEL
    meta["sshs_legacy_hash"] = _PLACEHOLDER_LEGACY
    draft = save(tensors, metadata=meta)
    meta["sshs_model_hash"] = data_hash(draft)
    meta["sshs_legacy_hash"] = legacy_hash(draft)
    final = save(tensors, metadata=meta)
    if len(final) != len(draft):  # cannot happen with fixed-width hashes; guard the invariant anyway
        raise AssertionError("safetensors header length changed while writing hashes")
    return final


def save_kohya(path: str, tensors: dict, metadata: dict[str, str]) -> dict[str, str]:
    """Write ``path`` atomically (temp file + rename); returns the two hashes written."""
    buf = serialize_kohya(tensors, metadata)
    write_atomic(path, buf, fsync=True)
    return {"sshs_model_hash": data_hash(buf), "sshs_legacy_hash": legacy_hash(buf)}


def read_metadata(path: str) -> dict[str, str]:
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)).get("__metadata__", {})
