"""The config form shows the VRAM estimate next to the step math, and it follows the edits."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Checkbox, Static

from loratui.config.vram import estimate_config
from loratui.tui.screens.config import ConfigScreen
from loratui.tui.widgets.config_fields import field_id

from ..tui.helpers import until
from .helpers import ready_config


class Host(App):
    def __init__(self, screen: ConfigScreen):
        super().__init__()
        self._cfg_screen = screen

    def on_mount(self) -> None:
        self.push_screen(self._cfg_screen)


def math_text(screen) -> str:
    screen.flush()
    return str(screen.query_one("#cfg-math", Static).render())


async def test_the_form_shows_the_estimate_and_checkpointing_lowers_it(tmp_path):
    cfg = ready_config(tmp_path)
    cfg.model.family = "sdxl"
    cfg.dataset.resolution = [1024, 1024]
    cfg.optim.mixed_precision = "bf16"
    cfg.optim.gradient_checkpointing = False
    screen = ConfigScreen(cfg)
    async with Host(screen).run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: screen.form_complete)  # the optim tab's fields are composed after the first
        before = estimate_config(screen.config)
        assert f"needs ~{before.needs / 1e9:.1f} GB of GPU memory (sdxl, 1024x1024" in math_text(screen)
        box = screen.query_one(f"#{field_id('optim.gradient_checkpointing')}", Checkbox)
        box.value = True
        await pilot.pause()
        after = estimate_config(screen.config)
        assert screen.config.optim.gradient_checkpointing and after.needs < before.needs
        shown = math_text(screen)
        assert f"needs ~{after.needs / 1e9:.1f} GB" in shown and "gradient checkpointing on" in shown
