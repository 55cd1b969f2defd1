"""LoRA files: the safetensors header reader, metadata, and the inspector. Pure Python (no torch):
``loratui inspect`` and the TUI's inspector screen import only this package.

Public names are loaded lazily so that ``import loratui.lora.<module>`` stays cheap.
"""

from __future__ import annotations

__all__ = ["Header", "LoraFileError", "LoraInfo", "TensorInfo", "inspect_lora", "read_header", "read_scalar"]


def __getattr__(name: str):
    if name in ("Header", "LoraFileError", "TensorInfo", "read_header", "read_scalar"):
        from . import header

        return getattr(header, name)
    if name in ("LoraInfo", "inspect_lora"):
        from . import inspect as _inspect

        return getattr(_inspect, name)
    raise AttributeError(name)
