"""Building small datasets and driving the app in Pilot tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

from loratui.tui.app import LoraTuiApp
from loratui.tui.services.settings import Settings

CHAR_TAGS = [
    ["mychar", "1girl", "solo", "blonde hair", "smile"],
    ["mychar", "1girl", "blonde hair", "hat", "outdoors"],
    ["1girl", "mychar", "solo", "blonde hair"],
    ["mychar", "1girl", "solo", "blonde hair", "yellow hair"],
    ["mychar", "1girl", "red hair", "sitting"],
]


def make_dataset(root: Path) -> Path:
    """A fixed small kohya dataset: 5 character images, 2 backgrounds (one without a caption)."""
    char = root / "10_mychar"
    bg = root / "4_bg"
    char.mkdir(parents=True, exist_ok=True)
    bg.mkdir(parents=True, exist_ok=True)
    for i, tags in enumerate(CHAR_TAGS):
        (char / f"img{i:02d}.png").write_bytes(b"")
        (char / f"img{i:02d}.txt").write_text(", ".join(tags), encoding="utf-8")
    (bg / "bg0.png").write_bytes(b"")
    (bg / "bg0.txt").write_text("scenery, no humans, sky", encoding="utf-8")
    (bg / "bg1.png").write_bytes(b"")  # no caption file
    return root


def caption(root: Path, rel: str) -> str:
    return (root / rel).read_text(encoding="utf-8")


def make_app(root: Path, **kw) -> LoraTuiApp:
    kw.setdefault("images", "none")
    settings = kw.pop("settings", None) or Settings()
    return LoraTuiApp(str(root), settings=settings, **kw)


async def wait_loaded(app, pilot, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if app.dataset is not None:
            break
        await asyncio.sleep(0.02)
    assert app.dataset is not None, "dataset did not load"
    await pilot.pause()
    await pilot.pause()


async def wait_edits(app, pilot, timeout: float = 10.0) -> None:
    """Until the writer thread is idle and its messages are handled."""
    for _ in range(int(timeout / 0.02)):
        if app.edits.pending == 0:
            break
        await asyncio.sleep(0.02)
    assert app.edits.pending == 0, "edits still pending"
    await pilot.pause()
    await pilot.pause()


async def type_text(pilot, text: str) -> None:
    await pilot.press(*["space" if c == " " else c for c in text])


async def wait_plan(app, pilot) -> None:
    """Until a bulk edit's plan (computed in a worker) is on screen."""
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


async def until(pilot, pred, timeout: float = 10.0) -> None:
    """Poll ``pred`` (instead of a fixed pause): returns as soon as it holds, fails after ``timeout``."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        await asyncio.sleep(0.02)
    await pilot.pause()
    assert pred(), "condition not reached"
