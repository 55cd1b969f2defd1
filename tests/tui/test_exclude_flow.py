"""Health check "exclude duplicates" by keys: a preview first (Cancel moves nothing), Apply moves the
duplicate with its caption and mask, the subsets pane follows, and `u` restores everything."""

from __future__ import annotations

import random

from PIL import Image

from loratui.check import Report
from loratui.tui.dialogs.confirm import ConfirmDialog
from loratui.tui.screens.health import HealthPane, HealthScreen
from loratui.tui.widgets.subset_list import SubsetList

from .helpers import make_app, make_dataset, until, wait_edits, wait_loaded


def _noise(path, seed: int, mode: str = "RGB") -> None:
    rnd = random.Random(seed)
    im = Image.new(mode, (32, 32))
    im.putdata([tuple(rnd.randrange(256) for _ in range(3)) if mode == "RGB" else rnd.randrange(256)
                for _ in range(32 * 32)])
    im.save(path)


def _dialog_text(app) -> str:
    return "\n".join(str(lbl.render()) for lbl in app.screen.query("Label"))


def _subsets_text(app) -> str:
    lst = app.screen_stack[1].query_one(SubsetList)
    return "\n".join(str(lst.get_option_at_index(i).prompt) for i in range(lst.option_count))


async def test_exclude_duplicates_previews_applies_and_restores_with_caption_and_mask(tmp_path):
    root = make_dataset(tmp_path / "ds")
    d = root / "10_mychar"
    for i, p in enumerate(sorted(root.rglob("*.png"))):
        _noise(p, i)
    (d / "img03.png").write_bytes((d / "img00.png").read_bytes())  # an exact duplicate of img00
    _noise(d / "img03.mask.png", 99, "L")  # its loss mask
    dup_caption = (d / "img03.txt").read_bytes()
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        assert "5 img" in _subsets_text(app)  # a loss mask is not an image: not listed, not counted
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HealthScreen))
        pane = app.screen.query_one(HealthPane)
        await until(pilot, lambda: isinstance(pane.report, Report))
        dup = pane.report.find("exact-duplicates")
        assert len(dup) == 1
        ol = pane.query_one("OptionList")
        ol.focus()
        ol.highlighted = ol.get_option_index(f"f{pane._findings.index(dup[0])}")
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        text = _dialog_text(app)
        assert "keep     10_mychar/img00.png" in text
        assert "move     10_mychar/img03.png -> .loratui/excluded/10_mychar/img03.png" in text
        assert "10_mychar/img03.txt -> .loratui/excluded/10_mychar/img03.txt" in text
        assert "10_mychar/img03.mask.png -> .loratui/excluded/10_mychar/img03.mask.png" in text
        await pilot.press("n")  # cancel: nothing moves
        await until(pilot, lambda: isinstance(app.screen, HealthScreen))
        assert (d / "img03.png").exists() and (d / "img03.mask.png").exists()
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("enter")  # apply
        await until(pilot, lambda: not (d / "img03.png").exists())
        await wait_edits(app, pilot)
        ex = root / ".loratui/excluded/10_mychar"
        assert (ex / "img03.png").exists() and (ex / "img03.mask.png").exists()
        assert (ex / "img03.txt").read_bytes() == dup_caption and not (d / "img03.txt").exists()
        assert not (d / "img03.mask.png").exists() and (d / "img00.png").exists()
        await until(pilot, lambda: "4 img" in _subsets_text(app))  # img03 left (its mask with it)
        assert len(app.dataset.images) == 6
        # undo from the TUI: u on the health screen, the CLI's restore
        await until(pilot, lambda: isinstance(app.screen, HealthScreen))
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert ".loratui/excluded/10_mychar/img03.png -> 10_mychar/img03.png" in _dialog_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: (d / "img03.png").exists())
        await wait_edits(app, pilot)
        assert (d / "img03.txt").read_bytes() == dup_caption and (d / "img03.mask.png").exists()
        assert not (ex / "img03.png").exists()
        await until(pilot, lambda: "5 img" in _subsets_text(app))
        assert len(app.dataset.images) == 7
