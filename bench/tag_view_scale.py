"""The two tag lists at 10,000+ distinct tags vs a bare Textual list, in the same run: the
tag-frequency view (`t`) and the dataset screen's all-tags panel (`p`).

Prints (never asserts), for each: the time from the key to the tag rows on screen, key-press-to-
repaint for cursor moves inside the page and scrolling (median / p95, as a ratio to a bare
OptionList measured in the same harness; target <= 1.2x) and filter-by-typing latency (one key
typed -> narrowed rows repainted), with the load average.

    python bench/tag_view_scale.py [--images 20000] [--tags 15000] [--moves 40]

The dataset (empty stand-in images, 8-tag captions over a large vocabulary) is generated once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
os.environ.setdefault("LORATUI_CONFIG_DIR", os.path.join(tempfile.gettempdir(), "loratui-bench-config"))

import tui_scale  # noqa: E402
from tui_scale import BARE_ROWS, after_refresh, bench_bare, cursor_moves, cursor_verdicts, ms  # noqa: E402


def generate(root: str, n: int, tags: int) -> None:
    vocab = [f"tag{i} {'abcdefghij'[i % 10]}" for i in range(tags)] + ["(smile:1.2)", "smile", "1girl"]
    tui_scale.generate(root, n, vocab, seed=2, name=f"-{tags}")


async def typed(app, pilot, keys: str) -> dict[str, float]:
    times = []
    for ch in keys:  # typed on the list: the filter narrows at each key
        t = time.perf_counter()
        await pilot.press(ch)
        await after_refresh(app)
        times.append(time.perf_counter() - t)
    return {"filter: one key typed (median)": statistics.median(times), "filter: one key typed (max)": max(times)}


async def bench_tag_view(root: str, moves: int) -> tuple[dict[str, float], dict[str, float]]:
    """(the `t` view's figures, the `p` panel's figures), from one app."""
    from loratui.tui.app import LoraTuiApp
    from loratui.tui.screens.tag_frequency import TagFrequencyScreen
    from loratui.tui.services.settings import Settings
    from loratui.tui.widgets.tag_panel import TagPanel

    view: dict[str, float] = {}
    panel: dict[str, float] = {}
    app = LoraTuiApp(root, images="none", settings=Settings(), save=False)
    async with app.run_test(size=(120, 40)) as pilot:
        while app.dataset is None:
            await asyncio.sleep(0.01)
        await pilot.pause()
        await after_refresh(app)
        t = time.perf_counter()
        await pilot.press("t")
        while not isinstance(app.screen, TagFrequencyScreen) or not app.screen.table.rows:
            await asyncio.sleep(0.001)
        await after_refresh(app)
        view["t -> tag rows on screen"] = time.perf_counter() - t
        screen = app.screen
        view["distinct tags"] = len(screen.table.rows)
        view.update(await cursor_moves(app, pilot, moves, screen.table, first_row=1000, stride=1000))
        view.update(await typed(app, pilot, "tag12"))
        t = time.perf_counter()
        await pilot.press("escape")  # clears the filter: every row back
        await after_refresh(app)
        view["filter cleared (all rows back)"] = time.perf_counter() - t
        await pilot.press("escape")  # back to the images
        await pilot.pause()
        await after_refresh(app)
        # the all-tags panel beside the images: `p` lists every tag with the image's marks
        t = time.perf_counter()
        await pilot.press("p")
        tags = app.screen.query_one(TagPanel)
        while not tags.list.rows:
            await asyncio.sleep(0.001)
        await after_refresh(app)
        panel["p -> tag rows on screen"] = time.perf_counter() - t
        panel["distinct tags"] = len(tags.list.rows)
        panel.update(await cursor_moves(app, pilot, moves, tags.list, first_row=1000, stride=1000))
        panel.update(await typed(app, pilot, "tag12"))
        t = time.perf_counter()
        for _ in "tag12":
            await pilot.press("backspace")  # widened key by key: every row back
        await after_refresh(app)
        panel["filter widened to all rows (5 keys)"] = time.perf_counter() - t
        assert len(tags.list.rows) == panel["distinct tags"]
    return view, panel


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=20_000)
    ap.add_argument("--tags", type=int, default=15_000)
    ap.add_argument("--moves", type=int, default=40)
    ap.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "loratui-bench-tags"))
    args = ap.parse_args()
    root = f"{args.dir}-{args.images}-{args.tags}"
    generate(root, args.images, args.tags)
    bare = asyncio.run(bench_bare(args.moves))
    view, panel = asyncio.run(bench_tag_view(root, args.moves))
    for title, ours in (("tag view (t)", view), ("all-tags panel (p)", panel)):
        print(f"\n{title} on {args.images:,} images, {int(ours.pop('distinct tags')):,} distinct tags vs a bare "
              f"Textual app with a {BARE_ROWS}-row OptionList ({os.cpu_count()} CPUs)")
        print(f"  {'':40}{'loratui':>12}{'bare app':>14}")
        for key, v in ours.items():
            b = bare.get(key) or (bare.get("filter (bare list)") if key.startswith("filter") else None)
            print(f"  {key:40}{ms(v):>12}{ms(b) if b is not None else '':>14}")
        print("\n".join(cursor_verdicts(ours, bare)))
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
