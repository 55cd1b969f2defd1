"""F10 on the config screen when the VRAM estimate exceeds the GPU's free memory: a dialog with the
estimate, the free memory and the suggestions of `loratui config check`; cancel or launch anyway."""

from __future__ import annotations

from loratui.config.vram import GpuMemory
from loratui.tui.dialogs.confirm import ConfirmDialog
from loratui.tui.screens.config import ConfigScreen
from loratui.tui.screens.health import HealthScreen

from ..config.helpers import ready_config
from .helpers import make_app, until, wait_loaded


def _dialog_text(app) -> str:
    return "\n".join(str(lbl.render()) for lbl in app.screen.query("Label"))


async def test_f10_over_the_free_memory_asks_with_estimate_and_suggestions(tmp_path, monkeypatch):
    import loratui.runs.gpu as gpu

    cfg = ready_config(tmp_path)
    path = str(tmp_path / "run.toml")
    cfg.save(path)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(gpu, "read_gpu_memory", lambda index: GpuMemory(index, "Test GPU", 1 << 30, 8 << 30))
    app = make_app(cfg.abspath(cfg.dataset.root))
    launched: list[str] = []
    monkeypatch.setattr(type(app), "_launch", lambda self, p: launched.append(p))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        app.state.training_config, app.state.training_config_path = cfg, path
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfigScreen) and not app.screen.reading)
        await pilot.press("f10")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        text = _dialog_text(app)
        assert "may not fit" in text and "Test GPU" in text and "1.1 GB free" in text
        assert "needs ~" in text  # the estimate and the suggestions, as `config check` prints them
        assert "gradient checkpointing" in text or "batch 1" in text or "cache latents" in text
        assert "--ignore-vram" not in text
        assert "launch anyway" in text and "cancel" in text
        await pilot.press("n")  # cancel
        await until(pilot, lambda: isinstance(app.screen, ConfigScreen))
        assert launched == []
        await pilot.press("f10")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")  # launch anyway: on to the dataset check, then the launch
        await until(pilot, lambda: launched or isinstance(app.screen, HealthScreen))
        if not launched:
            await pilot.press("l")
            await until(pilot, lambda: launched)
        assert launched == [path]
