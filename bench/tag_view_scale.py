"""The tag-frequency view (`t`) at 10,000+ distinct tags vs a bare Textual list, in the same run.

Prints (never asserts) the time from `t` to the tag rows on screen, key-press-to-repaint for cursor
moves (median / p95, as a ratio to a bare OptionList measured in the same harness; target <= 1.2x)
and filter-by-typing latency (one key typed -> narrowed rows repainted), with the load average.

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
from tui_scale import BARE_ROWS, after_refresh, bench_bare, cursor_moves, ms  # noqa: E402

CURSOR_TARGET_RATIO = 1.2


def generate(root: str, n: int, tags: int) -> None:
    vocab = [f"tag{i} {'abcdefghij'[i % 10]}" for i in range(tags)] + ["(smile:1.2)", "smile", "1girl"]
    tui_scale.generate(root, n, vocab, seed=2, name=f"-{tags}")


async def bench_tag_view(root: str, moves: int) -> dict[str, float]:
    from loratui.tui.app import LoraTuiApp
    from loratui.tui.screens.tag_frequency import TagFrequencyScreen
    from loratui.tui.services.settings import Settings

    out: dict[str, float] = {}
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
        out["t -> tag rows on screen"] = time.perf_counter() - t
        screen = app.screen
        out["distinct tags"] = len(screen.table.rows)
        out.update(await cursor_moves(app, pilot, moves))
        times = []
        for ch in "tag12":  # typed on the list: the filter narrows at each key
            t = time.perf_counter()
            await pilot.press(ch)
            await after_refresh(app)
            times.append(time.perf_counter() - t)
        out["filter: one key typed (median)"] = statistics.median(times)
        out["filter: one key typed (max)"] = max(times)
        t = time.perf_counter()
        await pilot.press("escape")  # clears the filter: every row back
        await after_refresh(app)
        out["filter cleared (all rows back)"] = time.perf_counter() - t
    return out


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
    ours = asyncio.run(bench_tag_view(root, args.moves))
    print(f"\ntag view on {args.images:,} images, {int(ours.pop('distinct tags')):,} distinct tags vs a bare "
          f"Textual app with a {BARE_ROWS}-row OptionList ({os.cpu_count()} CPUs)")
    print(f"  {'':40}{'tag view':>12}{'bare app':>14}")
    for key, v in ours.items():
        b = bare.get(key) or (bare.get("filter (bare list)") if key.startswith("filter") else None)
        print(f"  {key:40}{ms(v):>12}{ms(b) if b is not None else '':>14}")
    for key in ("cursor move (median)", "cursor move (p95)"):
        r = ours[key] / bare[key]
        print(f"  {key:32}{r:6.2f}x the bare list (target <= {CURSOR_TARGET_RATIO}x): "
              f"{'met' if r <= CURSOR_TARGET_RATIO else 'NOT met'}")
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
