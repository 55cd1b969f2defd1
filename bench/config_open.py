"""Time for the training-config form to be on screen, against a bare screen pushed the same way, and
until the slow parts (the subsets' image headers: step math, file checks) have filled in, and until the
hidden tabs' fields (composed after the first frame, a few rows per step) are all there.

    python bench/config_open.py [N_IMAGES]   (default 100, 768x1024 PNGs)

Prints ratios against the bare screen measured in the same run, with the load average."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time


def make(root: str, n: int) -> str:
    from PIL import Image

    sub = os.path.join(root, "10_mychar")
    os.makedirs(sub)
    im = Image.new("RGB", (768, 1024), (120, 80, 40))
    for i in range(n):
        im.save(os.path.join(sub, f"img{i:03d}.png"), compress_level=1)
        with open(os.path.join(sub, f"img{i:03d}.txt"), "w", encoding="utf-8") as f:
            f.write("mychar, 1girl")
    base = os.path.join(root, "model.safetensors")
    with open(base, "wb") as f:
        f.write(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    return base


async def measure(cfg) -> tuple[float, float, float, float]:
    from textual.app import App
    from textual.screen import Screen
    from textual.widgets import Static

    from loratui.tui.screens.config import ConfigScreen
    from loratui.tui.widgets.config_fields import field_id

    class Bare(Screen):
        def compose(self):
            yield Static("bare", id="bare")

    app = App()
    async with app.run_test(size=(120, 40)) as pilot:
        t = time.perf_counter()
        bare = Bare()
        app.push_screen(bare)
        while not bare.query("#bare"):
            await asyncio.sleep(0.001)
        await pilot.pause()
        t_bare = time.perf_counter() - t
        app.pop_screen()
        await pilot.pause()
        t = time.perf_counter()
        screen = ConfigScreen(cfg)
        app.push_screen(screen)
        # on screen: the first tab's first field laid out (the other tabs are composed after)
        while not (screen.is_mounted and screen.query(f"#{field_id('model.base')}")
                   and screen.query_one(f"#{field_id('model.base')}").region.width > 0):
            await asyncio.sleep(0.001)
        t_form = time.perf_counter() - t
        while screen.reading:
            await asyncio.sleep(0.005)
        t_filled = time.perf_counter() - t
        while not screen.form_complete:
            await asyncio.sleep(0.005)
        t_all = time.perf_counter() - t
    return t_bare, t_form, t_filled, t_all


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    from loratui.config import new_config

    with tempfile.TemporaryDirectory() as root:
        base = make(root, n)
        cfg = new_config(root, "character", base=base)
        t_bare, t_form, t_filled, t_all = asyncio.run(measure(cfg))
    load = os.getloadavg()
    print(f"config screen, {n} images 768x1024: bare screen {t_bare * 1000:.0f} ms; form on screen "
          f"{t_form * 1000:.0f} ms ({t_form / t_bare:.1f}x bare); step math filled in {t_filled * 1000:.0f} ms "
          f"({t_filled / t_bare:.1f}x bare); every tab's fields composed {t_all * 1000:.0f} ms  [load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}]")


if __name__ == "__main__":
    main()
