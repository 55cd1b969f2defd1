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
