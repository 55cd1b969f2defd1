"""Pilot tests for the LoRA inspector screen."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Input, Static

from loratui.tui.screens.inspector import InspectorScreen

from .lorafiles import SS_META, write_lora


class Host(App):
    def __init__(self, screen):
        super().__init__()
        self._s = screen
        self.used = []

    def on_mount(self) -> None:
        self.push_screen(self._s)

    def on_inspector_screen_use_settings(self, m):
        self.used.append(m)


def text(screen, sel):
    return str(screen.query_one(sel, Static).render())


async def test_inspect_use_settings_and_errors(tmp_path):
    lora = write_lora(tmp_path / "liked.safetensors", "locon", metadata=SS_META)
    screen = InspectorScreen(str(lora))
    app = Host(screen)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        body = text(screen, "#insp-summary")
        assert "format      LoCon" in body and "UNet 4, text encoder 2" in body
        assert "rank        8; conv 4" in body and "mychar (40)" in body
        assert "= computed" in body
        await pilot.press("m")
        assert screen.query_one("#insp-meta").has_class("shown")
        assert "ss_seed = 1234" in text(screen, "#insp-meta")
        await pilot.press("u")
        await pilot.pause()
        assert app.used and app.used[0].result.config.network.type == "locon"
        assert (app.used[0].result.config.network.conv_dim, app.used[0].result.config.network.conv_alpha) == (4, 2.0)
        # a hostile file: a clear message, no crash
        bad = tmp_path / "bad.safetensors"
        bad.write_bytes(b"\xff" * 8 + b"{}")
        await pilot.press("ctrl+o")
        inp = screen.query_one("#insp-path", Input)
        inp.value = str(bad)
        await pilot.press("enter")
        await pilot.pause()
        assert "limit" in text(screen, "#insp-error") and screen.info is None
        await pilot.press("u")
        await pilot.pause()
        assert len(app.used) == 1
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not screen


async def test_starts_empty_and_opens_by_typing(tmp_path):
    lora = write_lora(tmp_path / "x.safetensors", "peft")
    screen = InspectorScreen()
    app = Host(screen)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        assert screen.focused is screen.query_one("#insp-path", Input)
        screen.query_one("#insp-path", Input).value = str(lora)
        await pilot.press("enter")
        await pilot.pause()
        assert "diffusers-peft" in text(screen, "#insp-summary")
