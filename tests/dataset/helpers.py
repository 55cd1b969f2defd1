"""Building small datasets on disk for tests."""

from __future__ import annotations

import os
from pathlib import Path


def make_dataset(root: Path, layout: dict[str, str | bytes | None]) -> Path:
    """Create files under ``root``. Keys are relative paths; images get empty stand-in bytes
    unless given; captions get their text (str written as UTF-8, bytes written raw)."""
    for rel, content in layout.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            p.write_bytes(b"")
        elif isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8", newline="")
    return root


TINY_PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x08\x00\x00\x00\x08\x08\x02\x00\x00\x00Km)\xdc"
            b"\x00\x00\x00\x14IDATx\x9cc<Q\xa1\xc1\x80\r0a\x15\x1d\xb4\x12\x00\x1e'\x01x\x06\x16\x83\xca\x00"
            b"\x00\x00\x00IEND\xaeB`\x82")
"""An 8x8 PNG: a training image (empty stand-ins are not: they have no readable header)."""


def simple_dataset(root: Path, n: int = 6) -> Path:
    layout: dict[str, str | bytes | None] = {}
    for i in range(n):
        layout[f"10_mychar/img{i:02d}.png"] = TINY_PNG
        tags = ["mychar", "1girl", "solo" if i % 2 else "multiple girls", "blonde hair", f"pose{i % 3}"]
        layout[f"10_mychar/img{i:02d}.txt"] = ", ".join(tags)
    layout["4_bg/bg0.jpg"] = TINY_PNG
    layout["4_bg/bg0.txt"] = "scenery, no humans, sky"
    return make_dataset(root, layout)


def read(root: Path, rel: str) -> bytes:
    return (root / rel).read_bytes()


def snapshot(root: Path) -> dict[str, bytes]:
    """Every caption file's bytes (outside .loratui)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".loratui"]
        for f in filenames:
            if f.endswith((".txt", ".caption")):
                p = Path(dirpath) / f
                out[str(p.relative_to(root))] = p.read_bytes()
    return out
