"""Building configs and kohya-layout datasets on disk for tests."""

from __future__ import annotations

from pathlib import Path

from loratui.config import SubsetConfig, TrainConfig, new_config

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures"


def png_bytes(width: int = 8, height: int = 8) -> bytes:
    """A tiny valid PNG (a training image needs a readable header)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buf, "PNG")
    return buf.getvalue()


def make_images(root: Path, layout: dict[str, int]) -> Path:
    """``{"10_mychar": 12}`` -> 12 tiny stand-in images (and captions) in ``root/10_mychar``."""
    png = png_bytes()
    for folder, n in layout.items():
        d = root / folder
        d.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            (d / f"img{i:03d}.png").write_bytes(png)
            (d / f"img{i:03d}.txt").write_text("mychar, 1girl", encoding="utf-8")
    return root


def ready_config(tmp_path: Path, layout: dict[str, int] | None = None, preset: str = "character") -> TrainConfig:
    """A config with a base model file and a dataset that validates without errors."""
    data = make_images(tmp_path / "data", layout or {"10_mychar": 24})
    base = tmp_path / "sd15.safetensors"
    base.write_bytes(b"")
    cfg = new_config(str(data), preset, base=str(base))
    return cfg


__all__ = ["FIXTURES", "png_bytes", "SubsetConfig", "TrainConfig", "make_images", "ready_config"]
