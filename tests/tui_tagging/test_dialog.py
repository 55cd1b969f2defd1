"""Pilot tests of the tagging dialog and its run screen, in a minimal host app, with the stand-in model."""

from __future__ import annotations

import shutil

from textual.widgets import Checkbox, Input, ProgressBar, RadioButton, Select, Static

from loratui.tagging import ModelFiles, TaggingSummary
from loratui.tui.dialogs.tagging import TaggingDialog
from loratui.tui.dialogs.tagging_form import build_options
from loratui.tui.dialogs.tagging_progress import TaggingFinished, TaggingProgressScreen

from .conftest import GatedTagger, Host, caption, make_dataset, wait_until

SIZE = (110, 40)


def text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def open_dialog(app, pilot, dialog) -> TaggingDialog:
    app.open(dialog)
    await wait_until(pilot, lambda: app.screen is dialog and dialog.states, what="the dialog and its model states")
    return dialog


async def run_to_end(app, pilot) -> TaggingProgressScreen:
    await pilot.press("ctrl+r")
    await wait_until(pilot, lambda: isinstance(app.screen, TaggingProgressScreen), what="the run screen")
    run = app.screen
    await wait_until(pilot, lambda: not run.running, what="the run to end")
    return run


async def test_missing_model_says_which_files_and_the_command(ds, ds_root, models_home):
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        dlg = await open_dialog(app, pilot, TaggingDialog(ds))
        state = text(dlg, "#model-state")
        assert "No tagger model is installed" in state
        assert "model.onnx and selected_tags.csv" in state
        assert "`loratui models get swinv2-v3`" in state
        assert dlg.query_one("#model-state").has_class("-problem")
        await pilot.press("ctrl+r")
        assert app.screen is dlg, "nothing runs without a model"
        assert "loratui models get swinv2-v3" in text(dlg, "#run-error")
        # a folder without the files says which one is missing
        dlg.query_one("#model-dir", Input).value = str(models_home)
        await pilot.pause()
        assert "missing model.onnx, selected_tags.csv" in text(dlg, "#model-state")
        await pilot.press("escape")
        assert app.results == [None]
    assert all(caption(ds_root, i) is None for i in range(6))


async def test_invalid_options_are_shown_inline_and_nothing_runs(ds, ds_root, models_home, standin_dir):
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        dlg = await open_dialog(app, pilot, TaggingDialog(ds))
        dlg.query_one("#model-dir", Input).value = standin_dir
        dlg.query_one("#general", Input).value = "1.5"
        dlg.query_one("#character", Input).value = "high"
        dlg.query_one("#replace", Input).value = "a=b, oops"
        dlg.query_one("#batch", Input).value = "0"
        await pilot.press("ctrl+r")
        assert app.screen is dlg
        for field, words in (("general", "out of range"), ("character", "not a number"), ("replace", "`oops`"),
                             ("batch", "1 or more")):
            assert dlg.query_one(f"#{field}-error").has_class("-shown"), field
            assert words in text(dlg, f"#{field}-error"), field
            assert dlg.query_one(f"#{field}", Input).has_class("-invalid")
        assert dlg.focused is dlg.query_one("#general", Input)
        # an empty threshold is fine with MCut on
        dlg.query_one("#general", Input).value = ""
        dlg.query_one("#general-mcut", Checkbox).value = True
        for field, value in (("character", "0.9"), ("replace", "a=b"), ("batch", "")):
            dlg.query_one(f"#{field}", Input).value = value
        opts, errors = build_options(dlg.form_values())
        assert errors == {} and opts.select.general_mcut and opts.select.character_threshold == 0.9
    assert all(caption(ds_root, i) is None for i in range(6))


async def test_trigger_word_prefill_follows_the_scope(tmp_path, models_home):
    from loratui.dataset import Dataset

    root = make_dataset(tmp_path / "ds", n=4, bg=2)
    ds = Dataset.open(str(root))
    char_ids = [e.id for e in ds.images if e.path.startswith("10_mychar/")]
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        dlg = await open_dialog(app, pilot, TaggingDialog(ds, ids_filtered=char_ids, filter_text="mychar"))
        assert dlg.scope == "filter", "a narrowing filter is the default scope"
        first = dlg.query_one("#always-first", Input)
        assert first.value == "mychar"
        assert "4 image(s) matching `mychar`; 4 without tags" in text(dlg, "#scope-help")
        assert dlg.query_one("#scope-selection", RadioButton).disabled, "no selection: not offered"
        dlg.query_one("#scope-all", RadioButton).value = True
        await pilot.pause()
        assert dlg.scope == "all"
        assert first.value == "", "different class tokens: no trigger word fits every image"
        assert "different class tokens (mychar, bg)" in text(dlg, "#scope-help")
        # typed by the user: kept when the scope changes
        first.value = "sks"
        await pilot.pause()
        dlg.query_one("#scope-filter", RadioButton).value = True
        await pilot.pause()
        assert first.value == "sks"
        assert "different class tokens" not in text(dlg, "#scope-help")


async def test_preset_and_mode_update_the_form(ds, models_home):
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        dlg = await open_dialog(app, pilot, TaggingDialog(ds))
        dlg.query_one("#preset", Select).value = "strict"
        await pilot.pause()
        assert dlg.query_one("#general", Input).value == "0.5"
        assert dlg.query_one("#character", Input).value == "0.9"
        assert "fewer, surer tags" in text(dlg, "#preset-help")
        dlg.query_one("#preset", Select).value = "mcut"
        await pilot.pause()
        assert dlg.query_one("#general", Input).value == "0.35", "a preset starts from the defaults"
        assert dlg.query_one("#general-mcut", Checkbox).value and dlg.query_one("#character-mcut", Checkbox).value
        dlg.query_one("#mode-append", RadioButton).value = True
        await pilot.pause()
        assert dlg.mode == "append"
        assert "add predicted tags after the existing ones" in text(dlg, "#mode-help")
        assert "will be tagged" not in text(dlg, "#scope-help")


async def test_run_from_a_model_folder_writes_reports_and_is_undoable(tmp_path, models_home, standin_dir):
    from loratui.dataset import Dataset

    root = make_dataset(tmp_path / "ds", captioned={0: "mychar, hand tag"})
    ds = Dataset.open(str(root))
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        dlg = await open_dialog(app, pilot, TaggingDialog(ds))
        dlg.query_one("#model-dir", Input).value = standin_dir
        await pilot.pause()
        assert "using the model in" in text(dlg, "#model-state")
        run = await run_to_end(app, pilot)
        s = run.summary
        assert isinstance(s, TaggingSummary) and run.error is None
        assert s.tagged == 5 and s.skipped_captioned == 1 and not s.cancelled
        assert "done: 5 caption(s) written" in text(run, "#summary")
        assert "undo (u) reverts the whole run" in text(run, "#summary")
        assert text(run, "#phase") == "done"
        bar = run.query_one(ProgressBar)
        assert bar.total == 5 and bar.progress == 5
        assert "on CPU" in text(run, "#stats")
        # the screen below the modals heard about it, with the images to refresh
        [event] = app.host.finished
        assert isinstance(event, TaggingFinished) and event.summary is s
        assert event.options.model_dir == standin_dir and event.options.select.always_first == ["mychar"]
        assert event.image_ids == {1, 2, 3, 4, 5}
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is app.host
        assert app.results == [s]
    assert caption(root, 0) == "mychar, hand tag", "skip mode leaves captioned images alone"
    for i in range(1, 6):
        assert caption(root, i).startswith("mychar, "), "the trigger word goes first"
    assert ds.undo() is not None
    assert all(caption(root, i) is None for i in range(1, 6))
    assert caption(root, 0) == "mychar, hand tag"


async def test_known_model_is_preselected_and_selection_scope_overwrites(tmp_path, models_home, standin_dir):
    from loratui.dataset import Dataset

    shutil.copytree(standin_dir, models_home / "vit-v3")
    root = make_dataset(tmp_path / "ds", captioned={1: "old", 3: "old"})
    ds = Dataset.open(str(root))
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        dlg = await open_dialog(app, pilot, TaggingDialog(ds, ids_selected=[1, 3]))
        assert dlg.query_one("#model", Select).value == "vit-v3", "the installed model, not the missing default"
        assert "vit-v3: downloaded" in text(dlg, "#model-state")
        assert not dlg.query_one("#model-state").has_class("-problem")
        assert dlg.scope == "selection"
        dlg.query_one("#mode-overwrite", RadioButton).value = True
        await pilot.pause()
        run = await run_to_end(app, pilot)
        assert run.summary.tagged == 2 and run.summary.model == "vit-v3"
        await pilot.click("#close")  # the mouse works too
        await pilot.pause()
        assert app.screen is app.host and app.results == [run.summary]
    assert "old" not in caption(root, 1).split(", ") and "old" not in caption(root, 3).split(", ")
    assert all(caption(root, i) is None for i in (0, 2, 4, 5))


async def test_cancel_mid_run_keeps_what_is_done_and_it_undoes(ds, ds_root, models_home, standin_dir, monkeypatch):
    from loratui.tagging.session import Tagger

    monkeypatch.setattr(TaggingProgressScreen, "progress_interval", 0.0)
    gated = GatedTagger(Tagger.load(ModelFiles("standin", standin_dir), batch=1))
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        await open_dialog(app, pilot, TaggingDialog(ds, tagger=gated))
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(app.screen, TaggingProgressScreen), what="the run screen")
        run = app.screen
        assert "Tagging 6 image(s) with standin (skip)" in str(run.query_one("#title").render())
        gated.gate.release(2)
        await wait_until(pilot, lambda: run.progress is not None and run.progress.done == 2
                         and gated.calls == 3, what="two batches")
        await wait_until(pilot, lambda: "2/6 images" in text(run, "#stats"), what="the progress on screen")
        stats = text(run, "#stats")
        assert "images/s" in stats and "ETA" in stats and "on CPU" in stats
        bar = run.query_one(ProgressBar)
        assert (bar.total, bar.progress) == (6, 2)
        assert text(run, "#phase") == "tagging"
        await pilot.press("escape")
        assert run.cancel_event.is_set() and run.running
        assert "stopping" in text(run, "#phase")
        gated.gate.release(10)  # the batch in flight completes; no new one starts
        await wait_until(pilot, lambda: not run.running, what="the run to stop")
        s = run.summary
        assert s.cancelled and s.tagged == 3 and gated.calls == 3
        assert text(run, "#phase") == "stopped"
        assert "stopped: 3 caption(s) written" in text(run, "#summary")
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [s]
        assert app.host.finished[0].image_ids == s.result.image_ids
    written = [i for i in range(6) if caption(ds_root, i) is not None]
    assert written == [0, 1, 2]
    history, position = ds.history()
    assert "[stopped after 3 of 6]" in history[position - 1]
    assert ds.undo() is not None
    assert all(caption(ds_root, i) is None for i in range(6))


async def test_a_model_that_fails_to_load_brings_the_dialog_back_with_the_reason(ds, ds_root, tmp_path,
                                                                                models_home, standin_dir):
    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copy(f"{standin_dir}/selected_tags.csv", broken / "selected_tags.csv")
    (broken / "model.onnx").write_bytes(b"not an onnx file")
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        dlg = await open_dialog(app, pilot, TaggingDialog(ds))
        dlg.query_one("#model-dir", Input).value = str(broken)
        run = await run_to_end(app, pilot)
        assert run.error and run.has_class("-failed")
        assert text(run, "#phase") == "could not run"
        assert app.host.finished[0].error == run.error
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dlg
        assert run.error in text(dlg, "#run-error")
        assert app.results == []
    assert all(caption(ds_root, i) is None for i in range(6))


async def test_quitting_mid_run_stops_the_model_and_writes_what_is_done(ds, ds_root, models_home, standin_dir,
                                                                         monkeypatch):
    import threading
    import time

    from loratui.tagging.session import Tagger

    monkeypatch.setattr(TaggingProgressScreen, "progress_interval", 0.0)
    gated = GatedTagger(Tagger.load(ModelFiles("standin", standin_dir), batch=1))
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        await open_dialog(app, pilot, TaggingDialog(ds, tagger=gated))
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(app.screen, TaggingProgressScreen), what="the run screen")
        run = app.screen
        gated.gate.release(2)
        await wait_until(pilot, lambda: run.progress is not None and run.progress.done == 2, what="two batches")
        # the batch in flight finishes a little after the app starts closing
        threading.Timer(0.3, gated.gate.release, [10]).start()
    assert run.cancel_event.is_set(), "closing the screen stops the model"
    for _ in range(250):
        if ds.history()[1] == 1:
            break
        time.sleep(0.02)
    history, position = ds.history()
    assert position == 1 and "[stopped after" in history[0]
    assert [i for i in range(6) if caption(ds_root, i) is not None] == [0, 1, 2]


async def test_reopening_with_the_last_options_fills_the_form(ds, models_home, standin_dir):
    from loratui.tagging import TaggingOptions, apply_preset

    opts = apply_preset("strict", TaggingOptions(model_dir=standin_dir, mode="append", batch=2, use_cache=False))
    opts.select.always_first = ["sks", "dog"]
    opts.select.replace = [("a", "b")]
    opts.select.undesired = ["watermark"]
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        dlg = await open_dialog(app, pilot, TaggingDialog(ds, options=opts))
        values = dlg.form_values()
        assert (values["model-dir"], values["general"], values["character"], values["batch"]) == \
            (standin_dir, "0.5", "0.9", "2")
        assert (values["always-first"], values["replace"], values["undesired"]) == ("sks, dog", "a=b", "watermark")
        assert dlg.mode == "append" and values["use-cache"] is False
        again, errors = build_options(values)
        assert errors == {} and again.select == opts.select and again.mode == opts.mode
