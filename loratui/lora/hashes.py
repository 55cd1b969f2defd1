"""The two hashes kohya-family trainers store in a LoRA, exactly as sd-scripts defines them, and
LyCORIS' own variant.

sd-scripts (``library/train_util.py``, ``precalculate_safetensors_hashes``) serialises the tensors
with **only the ``ss_*`` metadata** (user metadata such as ``modelspec.*`` may be edited later
without changing the hashes), and on those bytes computes:

- ``sshs_model_hash``: sha256 of everything after the header (``addnet_hash_safetensors``);
- ``sshs_legacy_hash``: the first 8 hex digits of the sha256 of the 64 KiB at offset 1 MiB
  (``addnet_hash_legacy``, sd-webui-additional-networks' old hash).

The data after the header depends on the tensors alone, so the model hash of an untouched file
equals the sha256 of its own data area. The legacy hash does not: its window starts at a fixed
offset, so it moves with the header length, and the ss_-only header is shorter than the final
one. To check it, ``sd_scripts_hashes`` recomputes the length the ss_-only header would have
(same JSON as the safetensors library writes: compact, UTF-8, space-padded to a multiple of 8
when the file itself is padded) and hashes the same window of that virtual file.

LyCORIS 3.x (``lycoris/kohya.py``) stores ``sshs_model_hash = "0x" + sha256`` over each tensor's
bytes in its training-time order, and no legacy hash; that order is not recorded in the file, so
such a hash can be recognised but not recomputed.
"""

from __future__ import annotations

import hashlib
import json

from .header import Header

LEGACY_OFFSET = 0x100000
LEGACY_SIZE = 0x10000


def ss_only_header_len(h: Header, padded: bool) -> int:
    """Length of the header sd-scripts hashed: the same tensors, metadata reduced to ``ss_*``."""
    d: dict = {"__metadata__": {k: v for k, v in h.metadata.items() if k.startswith("ss_")}}
    for name, t in h.tensors.items():
        d[name] = {"dtype": t.dtype, "shape": list(t.shape), "data_offsets": [t.start, t.end]}
    n = len(json.dumps(d, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    return n + ((-n) % 8 if padded else 0)


def is_lycoris_hash(stored: str | None) -> bool:
    """LyCORIS' variant: ``0x`` + 64 hex (sd-scripts writes bare hex)."""
    s = (stored or "").strip().lower()
    return s.startswith("0x") and len(s) == 66 and all(c in "0123456789abcdef" for c in s[2:])


def sd_scripts_hashes(h: Header) -> tuple[str | None, str | None]:
    """(sshs_model_hash, sshs_legacy_hash) as sd-scripts computes them for this file's tensors and
    ``ss_*`` metadata. The legacy hash is None when it cannot be reproduced (a header over 1 MiB,
    whose key order the safetensors library does not fix). (None, None) if the file cannot be read."""
    try:
        with open(h.path, "rb") as fh:
            fh.seek(h.data_start - 1)
            padded = fh.read(1) == b" " or h.header_len % 8 == 0
            sha = hashlib.sha256()
            while chunk := fh.read(1 << 20):
                sha.update(chunk)
            start = 8 + ss_only_header_len(h, padded)
            legacy = None
            if start <= LEGACY_OFFSET:
                fh.seek(h.data_start + (LEGACY_OFFSET - start))
                legacy = hashlib.sha256(fh.read(LEGACY_SIZE)).hexdigest()[:8]
        return sha.hexdigest(), legacy
    except OSError:
        return None, None


__all__ = ["is_lycoris_hash", "sd_scripts_hashes", "ss_only_header_len"]
