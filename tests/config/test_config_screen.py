"""Pilot tests for the training-config form: edit, see validation, save, reload."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Button, Checkbox, Input, Select, Static, TextArea

from loratui.config import TrainConfig
from loratui.tui.dialogs.prompt import PromptScreen
from loratui.tui.screens.config import ConfigScreen
from loratui.tui.widgets.config_fields import field_id, msg_id

from ..lora.lorafiles import SS_META, write_lora
from ..tui.helpers import until
from .helpers import ready_config


class Host(App):
    def __init__(self, screen: ConfigScreen):
        super().__init__()
        self._cfg_screen = screen
        self.messages = []

    def on_mount(self) -> None:
        self.push_screen(self._cfg_screen)

    def on_config_screen_saved(self, m):
        self.messages.append(("saved", m.path))

    def on_config_screen_launch_requested(self, m):
        self.messages.append(("launch", m.path))


def text(screen, sel) -> str:
    screen.flush()
    return str(screen.query_one(sel, Static).render())


async def set_input(pilot, screen, path: str, value: str) -> None:
    screen.show_field(path)
    await until(pilot, lambda: screen.focused is not None and screen.focused.id == field_id(path))
    inp = screen.query_one(f"#{field_id(path)}", Input)
    inp.value = ""
    await pilot.press(*list(value)) if value else None
    await pilot.pause()


async def test_edit_validate_save_reload(tmp_path):
    cfg = ready_config(tmp_path)
    out = tmp_path / "run.toml"
    screen = ConfigScreen(cfg, str(out))
    app = Host(screen)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: not screen.reading)
        await until(pilot, lambda: screen.form_complete)  # the hidden tabs' fields too
        assert screen.error_count == 0
        assert "2,400 steps" in text(screen, "#cfg-math")
        # a bad value shows an inline error and disables launch
        await set_input(pilot, screen, "optim.unet_lr", "-1")
        msg = screen.query_one(f"#{msg_id('optim.unet_lr')}", Static)
        assert "too small" in str(msg.render()) and msg.has_class("error") and msg.has_class("shown")
        screen.flush()
        assert screen.query_one("#cfg-launch", Button).disabled
        # text that is not a number: parse error, config keeps the last good value
        await set_input(pilot, screen, "optim.unet_lr", "abc")
        assert "not a number" in str(msg.render())
        assert screen.config.optim.unet_lr == -1.0
        await set_input(pilot, screen, "optim.unet_lr", "0.0002")
        assert not msg.has_class("shown")
        assert screen.config.optim.unet_lr == 2e-4
        # a teaching warning appears as you type
        await set_input(pilot, screen, "schedule.epochs", "30")
        em = screen.query_one(f"#{msg_id('schedule.epochs')}", Static)
        assert em.has_class("warning") and "8 to 12" in str(em.render())
        assert "3 0" not in text(screen, "#cfg-math")
        assert "30 epochs -> 7,200 steps" in text(screen, "#cfg-math")
        await set_input(pilot, screen, "schedule.epochs", "10")
        # switches and selects
        screen.query_one(f"#{field_id('dataset.flip_aug')}", Checkbox).value = True
        screen.query_one(f"#{field_id('optim.optimizer')}", Select).value = "Lion"
        await pilot.pause()
        assert screen.config.dataset.flip_aug is True and screen.config.optim.optimizer == "Lion"
        assert "*" in text(screen, "#cfg-title")
        assert 'optimizer = "Lion"' in text(screen, "#cfg-toml")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert out.is_file() and ("saved", str(out)) in app.messages
        assert "*" not in text(screen, "#cfg-title")
        # launch posts a message once saved and error-free
        screen.query_one("#cfg-launch", Button).press()
        await pilot.pause()
        assert ("launch", str(out)) in app.messages
    back = TrainConfig.load(str(out))
    assert (back.optim.unet_lr, back.optim.optimizer, back.dataset.flip_aug) == (2e-4, "Lion", True)
    # reload into a fresh screen: the form shows the saved values
    screen2 = ConfigScreen()
    app2 = Host(screen2)
    async with app2.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: screen2.form_complete)  # the hidden tabs' fields too
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app2.screen, PromptScreen)
        inp = app2.screen.query_one(Input)
        inp.value = str(out)
        await pilot.press("enter")
        await pilot.pause()
        assert screen2.path == str(out)
        assert screen2.query_one(f"#{field_id('optim.unet_lr')}", Input).value == "0.0002"
        assert screen2.query_one(f"#{field_id('optim.optimizer')}", Select).value == "Lion"
        assert screen2.config == back


async def test_preset_subsets_and_save_prompt(tmp_path):
    cfg = ready_config(tmp_path, {"10_mychar": 24, "3_extra": 2})
    screen = ConfigScreen(cfg)
    app = Host(screen)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: screen.form_complete)  # the hidden tabs' fields too
        screen.query_one("#cfg-preset", Select).value = "style"
        await pilot.pause()
        assert screen.config.network.type == "locon"
        assert screen.query_one(f"#{field_id('network.type')}", Select).value == "locon"
        assert "not measured optima" in text(screen, "#cfg-report")
        ta = screen.query_one(f"#{field_id('dataset.subsets')}", TextArea)
        assert ta.text.splitlines()[0] == "10 x 10_mychar | mychar"
        ta.text = "5 x 10_mychar | mychar\n2 x 3_extra"
        await pilot.pause()
        assert [s.repeats for s in screen.config.dataset.subsets] == [5, 2]
        assert "5 repeats = 120" in text(screen, "#cfg-math")
        ta.text = "five x 10_mychar"
        await pilot.pause()
        assert "repeats must be a whole number" in str(screen.query_one(f"#{msg_id('dataset.subsets')}").render())
        ta.text = "10 x 10_mychar | mychar\n3 x 3_extra | extra"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one(Input).value = str(tmp_path / "new.toml")
        await pilot.press("enter")
        await pilot.pause()
        assert screen.path == str(tmp_path / "new.toml")
    assert TrainConfig.load(str(tmp_path / "new.toml")).network.type == "locon"


async def test_from_lora_import_and_export(tmp_path):
    cfg = ready_config(tmp_path)
    lora = write_lora(tmp_path / "liked.safetensors", metadata=SS_META)
    screen = ConfigScreen(cfg, str(tmp_path / "c.toml"))
    app = Host(screen)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: screen.form_complete)  # the hidden tabs' fields too
        assert screen.use_lora(str(lora))
        await pilot.pause()
        c = screen.config
        assert (c.network.dim, c.optim.optimizer, c.dataset.resolution) == (8, "AdamW8bit", [512, 768])
        assert c.dataset.subsets == cfg.dataset.subsets and c.model.base == cfg.model.base
        assert "ss_sd_model_name" in text(screen, "#cfg-report")
        assert screen.query_one(f"#{field_id('network.dim')}", Input).value == "8"
        written = screen.export_to(str(tmp_path / "k"))
        assert len(written) >= 2 and "exported" in text(screen, "#cfg-report")
        # loading an sd-scripts file imports it and lists what was not carried over
        assert screen.load_from(written[0])
        await pilot.pause()
        assert screen.path is None and screen.config.network.dim == 8
        bad = tmp_path / "bad.toml"
        bad.write_text("schema_version = 1\n[network]\ndimm = 1\n")
        assert not screen.load_from(str(bad))
        await pilot.pause()
        assert not screen.use_lora(str(bad))
        # Escape leaves the screen
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not screen


async def test_keyboard_sections_and_next_problem(tmp_path):
    from textual.widgets import TabbedContent

    cfg = ready_config(tmp_path)
    cfg.optim.unet_lr = -1.0
    cfg.schedule.epochs = 30
    screen = ConfigScreen(cfg)
    app = Host(screen)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: screen.form_complete)  # the hidden tabs' fields too
        tabs = screen.query_one(TabbedContent)
        assert tabs.active == "tab-model"
        await pilot.press("f4")
        assert tabs.active == "tab-dataset"
        await pilot.press("f3", "f3")
        assert tabs.active == "tab-hardware"
        await pilot.press("f8")
        await pilot.pause()
        assert tabs.active == "tab-optim" and screen.focused.id == field_id("optim.unet_lr")
        await pilot.press("f8")
        await pilot.pause()
        assert tabs.active == "tab-schedule" and screen.focused.id == field_id("schedule.epochs")
        await pilot.press("f6")
        assert screen.query_one("#cfg-preview").has_class("hidden")
        await pilot.press("f9")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one(Input).value = "my preset"
        await pilot.press("enter")
        await pilot.pause()
        from loratui.config import preset_names

        assert "my preset" in preset_names()
        screen.query_one("#cfg-preset", Select).value = "my preset"  # raises if the picker lacks it
        await pilot.pause()
        assert "preset `my preset` applied" in text(screen, "#cfg-report")


async def test_form_step_math_is_the_workers_bucketed_count(tmp_path):
    """The demo config: the form used to say 45 steps per epoch where the worker trains 46."""
    from loratui.config import step_math
    from loratui.demo import create_demo, write_demo_config

    root = create_demo(str(tmp_path / "demo"))
    write_demo_config(root, str(tmp_path / "model"), str(tmp_path / "demo.toml"), str(tmp_path / "out"))
    cfg = TrainConfig.load(str(tmp_path / "demo.toml"))
    exact = step_math(cfg, seconds_per_step=0.0)  # = the worker's `dataset` event (tests/train)
    rough = step_math(cfg, image_counts=[s.images for s in exact.subsets], seconds_per_step=0.0)
    assert exact.steps_per_epoch != rough.steps_per_epoch  # bucketing matters on this dataset
    screen = ConfigScreen(cfg, str(tmp_path / "demo.toml"))
    async with Host(screen).run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        shown = text(screen, "#cfg-math")
        assert f"-> {exact.steps_per_epoch:,} steps / epoch" in shown
        assert f"-> {exact.total_steps:,} steps" in shown


async def test_network_form_shows_only_the_chosen_types_fields(tmp_path):
    from loratui.tui.widgets.config_fields import row_id

    screen = ConfigScreen(ready_config(tmp_path), str(tmp_path / "run.toml"))
    app = Host(screen)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: screen.form_complete)  # the hidden tabs' fields too

        def shown(name):
            return screen.query_one(f"#{row_id('network.' + name)}").display

        screen.config.network.type = "lora"
        screen.query_one(f"#{field_id('network.type')}", Select).value = "lora"
        await pilot.pause()
        assert shown("dim") and shown("dropout") and shown("dora")
        assert not shown("conv_dim") and not shown("factor") and not shown("rank_dropout")
        screen.query_one(f"#{field_id('network.type')}", Select).value = "lokr"
        await pilot.pause()
        assert screen.config.network.type == "lokr"
        assert shown("factor") and shown("full_matrix") and shown("conv_dim") and shown("preset")
        assert not shown("dropout")
        screen.query_one(f"#{field_id('network.type')}", Select).value = "loha"
        await pilot.pause()
        assert not shown("factor") and shown("rank_dropout")
        screen.query_one(f"#{field_id('network.type')}", Select).value = "locon"
        await pilot.pause()
        assert shown("conv_dim") and not shown("preset")
        screen.query_one(f"#{field_id('network.dora')}", Checkbox).value = True
        await pilot.pause()
        assert shown("preset") and shown("module_dropout")


async def test_the_form_shows_at_once_and_the_dataset_figures_fill_in_after(tmp_path, monkeypatch):
    """The slow part (reading every image header for the step math) runs in a thread: the form's fields
    are there while it runs, with a visible "reading" state, and the figures arrive after."""
    import threading

    import loratui.tui.screens.config as config_screen
    from loratui.config.stepmath import survey


    release = threading.Event()
    started = threading.Event()

    def slow_survey(cfg):
        started.set()
        release.wait(20)
        return survey(cfg)

    monkeypatch.setattr(config_screen, "survey", slow_survey)
    cfg = ready_config(tmp_path)
    screen = ConfigScreen(cfg, str(tmp_path / "run.toml"))
    app = Host(screen)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, started.is_set)
        await until(pilot, lambda: screen.form_complete)  # the hidden tabs' fields too
        # the form is up and usable while the headers are read
        assert screen.query_one(f"#{field_id('model.base')}", Input).value == cfg.model.base
        assert screen.query_one(f"#{field_id('optim.unet_lr')}", Input)
        assert screen.reading
        assert "reading the dataset" in text(screen, "#cfg-math")
        assert "reading the dataset" in text(screen, "#cfg-findings")
        assert screen.query_one("#cfg-launch", Button).disabled
        release.set()
        await until(pilot, lambda: not screen.reading)
        assert "2,400 steps" in text(screen, "#cfg-math")
        assert "reading" not in text(screen, "#cfg-findings")
        assert not screen.query_one("#cfg-launch", Button).disabled


async def test_hidden_tabs_are_composed_later_and_their_values_saved_from_the_config(tmp_path, monkeypatch):
    """The form shows its first tab at once and composes the others after (or when shown): a field on a
    late tab edited by keys is saved, and a field on a tab never shown keeps its loaded value."""
    cfg = ready_config(tmp_path)
    cfg.schedule.epochs = 7
    cfg.optim.unet_lr = 3e-4
    loaded = tmp_path / "loaded.toml"
    cfg.save(str(loaded))
    cfg = TrainConfig.load(str(loaded))
    # no background composing: only the tabs the user opens get their fields
    monkeypatch.setattr(ConfigScreen, "_compose_more", lambda self: None)
    screen = ConfigScreen(cfg, str(loaded))
    app = Host(screen)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: not screen.reading)
        assert screen.query(f"#{field_id('model.base')}")
        assert not screen.query(f"#{field_id('schedule.epochs')}") and not screen.form_complete
        await pilot.press("f3")  # model -> hardware, the last tab: composed as it is shown
        await until(pilot, lambda: bool(screen.query(f"#{field_id('hardware.device')}")))
        await pilot.press("tab", "tab")  # the tab's scroll area, then its first field
        await until(pilot, lambda: screen.focused is not None and screen.focused.id == field_id("hardware.device"))
        await pilot.press(*"cpu")  # the focused field's value is selected: typing replaces it
        await until(pilot, lambda: screen.config.hardware.device == "cpu")
        assert "*" in text(screen, "#cfg-title")
        # the problem list still covers the tabs not composed: a bad value there is found and shown
        screen.config.optim.unet_lr = -1.0
        screen.refresh_checks()
        assert "optim.unet_lr" in text(screen, "#cfg-findings")
        assert not screen.query(f"#{field_id('optim.unet_lr')}")
        await pilot.press("f8")  # next problem: composes the optim tab and focuses the field
        await until(pilot, lambda: screen.focused is not None and screen.focused.id == field_id("optim.unet_lr"))
        msg = screen.query_one(f"#{msg_id('optim.unet_lr')}", Static)
        assert msg.has_class("error") and "too small" in str(msg.render())
        await pilot.press("end", *["backspace"] * 8, *"0.0003")
        await until(pilot, lambda: screen.config.optim.unet_lr == 3e-4)
        assert not screen.query(f"#{field_id('schedule.epochs')}")  # still never shown
        await pilot.press("ctrl+s")
        await until(pilot, lambda: ("saved", str(loaded)) in app.messages)
    back = TrainConfig.load(str(loaded))
    assert back.hardware.device == "cpu" and back.optim.unet_lr == 3e-4
    assert back.schedule.epochs == 7  # the unvisited tab's loaded value, from the config model
    assert "device = \"cpu\"" in loaded.read_text(encoding="utf-8")


async def test_a_preset_applied_while_a_tab_is_being_composed_shows_in_it(tmp_path, monkeypatch):
    """Replacing the config while a batch of hidden fields is mounting: every field ends up showing the
    new config (none announces its old value back into it as it mounts)."""
    from loratui.config.fields import format_value, get_value

    monkeypatch.setattr(ConfigScreen, "_compose_more", lambda self: None)
    cfg = ready_config(tmp_path)
    screen = ConfigScreen(cfg, str(tmp_path / "run.toml"))
    app = Host(screen)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        assert not screen.query(f"#{field_id('optim.unet_lr')}")
        screen.compose_section("optim", 4)  # built from the character preset: unet_lr 1e-4
        screen.apply_preset("style")  # in the same step, before that batch has mounted: unet_lr 8e-5
        for section in ("dataset", "network", "optim", "schedule", "output", "hardware"):
            screen.compose_section(section)
        await until(pilot, lambda: screen.form_complete)
        await pilot.pause()
        assert screen.config.optim.unet_lr == 8e-5 and screen.config.network.type == "locon"
        for f in screen.fields:
            w = screen.query_one(f"#{field_id(f.path)}")
            shown = format_value(f, get_value(screen.config, f.path))
            got = w.text if isinstance(w, TextArea) else w.value
            assert got == (bool(shown) if isinstance(w, Checkbox) else shown), f.path
