"""A minimal host app for the tagging dialog, a tiny dataset, and the stand-in WD14 model."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from PIL import Image
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from loratui.dataset import Dataset

COLOURS = [(220, 30, 30), (30, 200, 40), (20, 40, 220), (255, 255, 255), (0, 0, 0), (240, 230, 20)]


class HostScreen(Screen):
    """Stands in for the dataset screen: records the TaggingFinished messages it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.finished: list = []

    def compose(self) -> ComposeResult:
        yield Static("host")

    def on_tagging_finished(self, event) -> None:
        self.finished.append(event)


class Host(App):
    def __init__(self) -> None:
        super().__init__()
        self.results: list = []
        self.host = HostScreen()

    def on_mount(self) -> None:
        self.push_screen(self.host)

    def open(self, dialog) -> None:
        self.push_screen(dialog, self.results.append)


class GatedTagger:
    """A loaded Tagger whose ``run`` waits for a permit per batch: the test decides when batches finish."""

    def __init__(self, tagger) -> None:
        self._t = tagger
        self.gate = threading.Semaphore(0)
        self.calls = 0

    def __getattr__(self, name):
        return getattr(self._t, name)

    def run(self, batch):
        self.calls += 1
        if not self.gate.acquire(timeout=20):
            raise TimeoutError("test never released the batch")
        return self._t.run(batch)


def save_image(path: Path, colour, size=(40, 30)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new("RGB", size, colour)
    im.paste((255 - colour[0], 255 - colour[1], 255 - colour[2]), (0, 0, size[0] // 2, size[1] // 2))
    im.save(path)


def make_dataset(root: Path, n: int = 6, captioned: dict[int, str] | None = None, bg: int = 0) -> Path:
    """``10_mychar/imgNN.png`` (+ ``2_bg/bgNN.png``); ``captioned`` gives caption text for some images."""
    for i in range(n):
        save_image(root / "10_mychar" / f"img{i:02d}.png", COLOURS[i % len(COLOURS)], size=(40 + i, 30))
    for i, text in (captioned or {}).items():
        (root / "10_mychar" / f"img{i:02d}.txt").write_text(text, encoding="utf-8")
    for i in range(bg):
        save_image(root / "2_bg" / f"bg{i:02d}.png", COLOURS[(i + 3) % len(COLOURS)], size=(50, 40 + i))
    return root


def caption(root: Path, i: int) -> str | None:
    p = root / "10_mychar" / f"img{i:02d}.txt"
    return p.read_text(encoding="utf-8") if p.exists() else None


async def wait_until(pilot, cond, timeout: float = 15.0, what: str = "condition") -> None:
    for _ in range(int(timeout / 0.02)):
        if cond():
            await pilot.pause()
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="session")
def standin_dir(tmp_path_factory) -> str:
    from loratui.tagging.standin import build_standin

    return build_standin(str(tmp_path_factory.mktemp("wd14-standin")), size=32)


@pytest.fixture
def models_home(tmp_path, monkeypatch) -> Path:
    """An empty known-models folder (nothing downloaded, nothing in the HF cache)."""
    d = tmp_path / "models"
    d.mkdir()
    monkeypatch.setenv("LORATUI_MODELS_DIR", str(d))
    return d


@pytest.fixture
def ds_root(tmp_path) -> Path:
    return make_dataset(tmp_path / "ds")


@pytest.fixture
def ds(ds_root) -> Dataset:
    return Dataset.open(str(ds_root))
