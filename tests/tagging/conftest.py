"""Fixtures: a tiny stand-in WD14 model (free and fixed batch) and small image datasets."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from loratui.tagging import ModelFiles

COLOURS = {
    "red": (220, 30, 30), "green": (30, 200, 40), "blue": (20, 40, 220), "white": (255, 255, 255),
    "black": (0, 0, 0), "yellow": (240, 230, 20),
}


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> str:
    from loratui.tagging.standin import build_standin

    return build_standin(str(tmp_path_factory.mktemp("wd14-free")), size=32)


@pytest.fixture(scope="session")
def fixed_model_dir(tmp_path_factory) -> str:
    from loratui.tagging.standin import build_standin

    return build_standin(str(tmp_path_factory.mktemp("wd14-fixed")), size=32, batch=1)


@pytest.fixture
def model(model_dir) -> ModelFiles:
    return ModelFiles("standin", model_dir)


def save_image(path: Path, colour, size=(40, 30), mode="RGB", fmt=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new("RGB", size, colour)
    # a second colour block, so quadrants differ and the stand-in model sees structure
    im.paste((255 - colour[0], 255 - colour[1], 255 - colour[2]), (0, 0, size[0] // 2, size[1] // 2))
    if mode != "RGB":
        im = im.convert(mode)
    im.save(path, format=fmt)
    return path


def make_tag_dataset(root: Path, n: int = 6, captioned: dict[int, str] | None = None) -> Path:
    """``10_char/imgNN.png`` in varied colours; ``captioned`` gives caption text for some indices."""
    names = list(COLOURS)
    for i in range(n):
        save_image(root / "10_char" / f"img{i:02d}.png", COLOURS[names[i % len(names)]], size=(40 + i, 30))
    for i, text in (captioned or {}).items():
        (root / "10_char" / f"img{i:02d}.txt").write_text(text, encoding="utf-8")
    return root


def caption(root: Path, i: int) -> str | None:
    p = root / "10_char" / f"img{i:02d}.txt"
    return p.read_text(encoding="utf-8") if p.exists() else None


@pytest.fixture
def tag_ds_root(tmp_path) -> Path:
    return make_tag_dataset(tmp_path / "ds")
