"""Small real images and crafted datasets for the health-check tests."""

from __future__ import annotations

from pathlib import Path

FRAMINGS = ["close-up", "upper body", "cowboy shot", "full body"]


def picture(seed: int, size: tuple[int, int] = (512, 512)):
    """A smooth random picture (an 8x8 colour grid upscaled): distinct seeds give unrelated dHashes."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    return Image.fromarray(base).resize(size, Image.Resampling.BICUBIC)


def save(root: Path, rel: str, seed: int = 0, size=(512, 512), caption: str | None = None, im=None, **kw) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    im = im if im is not None else picture(seed, size)
    if p.suffix.lower() in (".jpg", ".jpeg"):
        im = im.convert("RGB")
    elif p.suffix.lower() == ".png":
        kw.setdefault("compress_level", 1)  # fast to write; the test is about the pixels
    im.save(p, **kw)
    if caption is not None:
        p.with_suffix(".txt").write_text(caption, encoding="utf-8")
    return p


def character_dataset(root: Path, n: int = 24, folder: str = "10_mychar", framing=None, extra=None,
                      traits: bool = False) -> Path:
    """``n`` distinct images with captions ``mychar, 1girl, solo, <framing>, <pose>, <outfit>``
    (``traits``: also ``blonde hair, blue eyes`` in every caption)."""
    poses = ["standing", "sitting", "smile", "hat", "outdoors", "indoors"]
    for i in range(n):
        fr = framing(i) if framing else FRAMINGS[i % len(FRAMINGS)]
        tags = ["mychar", "1girl", "solo", *(["blonde hair", "blue eyes"] if traits else []), fr,
                poses[i % len(poses)], f"outfit{i % 3}"]
        if extra:
            tags = extra(i, tags)
        save(root, f"{folder}/img{i:03d}.png", seed=1000 + i, caption=", ".join(tags))
    return root
