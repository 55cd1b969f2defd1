"""The TUI's own gates: F10 with a config error creates no run."""

from __future__ import annotations

import os

from loratui.tui.screens.config import ConfigScreen

from ..config.helpers import ready_config
from ..tui.helpers import make_app, make_dataset, wait_loaded


async def test_f10_with_a_config_error_creates_no_run_and_names_the_field(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    monkeypatch.setenv("LORATUI_RUNS_ROOT", str(runs))
    cfg = ready_config(tmp_path)
    cfg.output.name = "../evil"
    path = tmp_path / "bad.toml"
    path.write_text(cfg.to_toml(), encoding="utf-8")
    app = make_app(make_dataset(tmp_path / "ds"))
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConfigScreen)
        screen.set_config(cfg, str(path), dirty=False)  # saved, so only the error can stop it
        await pilot.pause()
        await pilot.press("f10")
        await pilot.pause()
        await pilot.pause()
        msgs = [n.message for n in app._notifications]
        assert any("not launched" in m and "output.name" in m for m in msgs), msgs
        assert app.screen is screen  # no health gate, no monitor
    assert not runs.exists() or os.listdir(runs) == []
    assert not (tmp_path / "evil").exists()


async def test_read_only_dataset_is_said_up_front_browses_and_refuses_edits(tmp_path, monkeypatch):
    from loratui.tui.widgets.status_bar import StatusBar

    from ..tui.helpers import CHAR_TAGS, caption

    root = make_dataset(tmp_path / "ds")
    os.chmod(root, 0o555)
    real_access = os.access

    def access(path, mode, *a, **kw):  # tests run as root, which ignores permission bits: honour them
        if mode & os.W_OK and not os.stat(path).st_mode & 0o222:
            return False
        return real_access(path, mode, *a, **kw)

    monkeypatch.setattr(os, "access", access)
    captions = sorted(p for p in root.rglob("*.txt"))
    before = {p: p.read_bytes() for p in captions}
    app = make_app(root)
    try:
        async with app.run_test(size=(140, 45)) as pilot:
            await wait_loaded(app, pilot)
            msgs = [n.message for n in app._notifications]
            assert any("read-only here" in m and "cannot write" in m for m in msgs), msgs
            assert "read-only here" in str(app.screen.query_one(StatusBar).render())
            # browsing works: the list shows every image and the cursor moves
            assert app.screen.query_one(StatusBar).info.shown == 7
            await pilot.press("down")
            await pilot.pause()
            # every edit key is refused with the message: add, remove, dedupe, undo, auto-tag, caption
            n0 = len(app._notifications)
            for key in ("a", "D", "u", "U", "T", "e", "d"):
                await pilot.press(key)
                await pilot.pause()
                if key in ("e",):
                    await pilot.press("escape")
            await pilot.pause()
            refusals = [n.message for n in list(app._notifications)[n0:]]
            assert sum("read-only here" in m for m in refusals) >= 4, refusals
            assert app.edits.pending == 0
    finally:
        os.chmod(root, 0o755)
    assert {p: p.read_bytes() for p in captions} == before
    assert caption(root, "10_mychar/img00.txt") == ", ".join(CHAR_TAGS[0])
    assert not (root / ".loratui" / "journal").exists()
