"""Writing a LoRA in kohya format: ``.safetensors`` with string metadata and the two hashes
sd-scripts stores, written atomically.

The hashes follow sd-scripts exactly (``train_util.precalculate_safetensors_hashes``; see
``loratui.lora.hashes``): they are computed on a serialisation of the tensors with only the
``ss_*`` metadata, so editing ``modelspec.*`` later does not change them.

- ``sshs_model_hash``: sha256 (hex) of everything after the header.
- ``sshs_legacy_hash``: first 8 hex of the sha256 of the 64 KiB at offset 1 MiB.
"""

from __future__ import annotations

import hashlib
import json
import struct

from loratui.fileio import write_atomic


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
    hashed = save(tensors, metadata={k: v for k, v in metadata.items() if k.startswith("ss_")})
    meta = dict(metadata)
    meta["sshs_model_hash"] = data_hash(hashed)
    meta["sshs_legacy_hash"] = legacy_hash(hashed)
    return save(tensors, metadata=meta)


def save_kohya(path: str, tensors: dict, metadata: dict[str, str]) -> dict[str, str]:
    """Write ``path`` atomically (temp file + rename); returns the two hashes written."""
    buf = serialize_kohya(tensors, metadata)
    write_atomic(path, buf, fsync=True)
    (n,) = struct.unpack("<Q", buf[:8])
    meta = json.loads(buf[8:8 + n]).get("__metadata__", {})
    return {k: meta[k] for k in ("sshs_model_hash", "sshs_legacy_hash")}


def read_metadata(path: str) -> dict[str, str]:
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)).get("__metadata__", {})
