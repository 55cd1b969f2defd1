"""The auto-tagging dialog: the options of ``loratui tag`` as a form, then the run with its progress.

``TaggingDialog(ds, ids_filtered=..., ids_selected=...)`` dismisses with the run's
``TaggingSummary`` (None when closed without running). While it runs, ``TaggingFinished`` (see
``tagging_progress``) reaches the screen the dialog was opened from, with the ids of the images
whose tags changed. Validation happens here, inline, before anything runs; a model that cannot be
loaded brings the dialog back with the reason under the model picker.
"""

from __future__ import annotations

import os

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioSet, Select, Static

from loratui.tagging.models import DEFAULT_MODEL, KNOWN_MODELS, REQUIRED_FILES
from loratui.tagging.options import MODE_HELP, MODES, PRESETS
from loratui.tui.dialogs.tagging_form import (
    SCOPE_LABELS,
    SCOPES,
    build_options,
    preset_help,
    preset_values,
    trigger_words,
    untagged_count,
)
from loratui.tui.dialogs.tagging_progress import TaggingProgressScreen, escape
from loratui.tui.widgets.ordered_keys import OrderedInput
from loratui.tui.widgets.toggles import Checkbox, RadioButton

STATE_LABELS = {"downloaded": "downloaded", "hf-cache": "in the HF cache", "missing": "not downloaded",
                None: "checking…"}
TOGGLES = ("general-mcut", "character-mcut", "rating", "characters-first", "underscores", "escape",
           "require-gpu", "use-cache", "fast-decode")
TEXTS = ("model-dir", "general", "character", "always-first", "undesired", "replace", "batch")
ERROR_FIELDS = ("general", "character", "replace", "batch", "mode")


class TaggingDialog(ModalScreen["object | None"]):
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("ctrl+r", "run", "Run"),
    ]
    DEFAULT_CSS = """
    TaggingDialog { align: center middle; }
    TaggingDialog > Vertical { width: 100; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1; }
    TaggingDialog #title { text-style: bold; width: 100%; }
    TaggingDialog #form { height: auto; }
    TaggingDialog .row { height: auto; }
    TaggingDialog .gap { margin-top: 1; }
    TaggingDialog .name { width: 14; color: $text-muted; }
    TaggingDialog .row Input { width: 1fr; }
    TaggingDialog .row Select { width: 1fr; }
    TaggingDialog SelectCurrent #label { text-wrap: nowrap; text-overflow: ellipsis; }
    TaggingDialog #general, TaggingDialog #character, TaggingDialog #batch { width: 10; }
    TaggingDialog Checkbox { margin-left: 2; }
    TaggingDialog RadioSet { layout: horizontal; width: 1fr; }
    TaggingDialog RadioSet > RadioButton { width: auto; margin-right: 2; }
    TaggingDialog .toggles { height: auto; padding-left: 12; }
    TaggingDialog .help { color: $text-muted; padding-left: 14; }
    TaggingDialog .error { color: $error; padding-left: 14; display: none; }
    TaggingDialog #run-error { max-height: 4; }
    TaggingDialog .error.-shown { display: block; }
    TaggingDialog Input.-invalid { color: $error; }
    TaggingDialog #model-state.-problem { color: $warning; }
    TaggingDialog #buttons { height: auto; align-horizontal: right; margin-top: 1; }
    TaggingDialog #buttons Button { margin-left: 1; }
    """

    class _ModelStates(Message):
        def __init__(self, states: dict) -> None:
            super().__init__()
            self.states = states

    def __init__(self, ds, ids_all=None, ids_filtered=None, ids_selected=None, *, options=None,
                 tagger=None, filter_text: str = "") -> None:
        """``ids_*``: image ids for each scope (``ids_all`` defaults to every image; a scope given
        as None or empty is offered disabled). ``options``: a ``TaggingOptions`` to start from (the
        last run's); ``tagger``: an already loaded ``Tagger`` to use (tests, repeated runs)."""
        super().__init__()
        self.ds = ds
        self.scope_ids = {"all": list(ids_all) if ids_all is not None else list(ds.all_ids()),
                          "filter": list(ids_filtered) if ids_filtered is not None else [],
                          "selection": list(ids_selected) if ids_selected is not None else []}
        self.filter_text = filter_text
        self.initial = options
        self.tagger = tagger
        self.states: dict[str, tuple[str, str | None]] = {}
        self._model_touched = False
        self._auto_model: str | None = None
        self._first_edited = options is not None
        self._prefilled_first = ""
        self._run_screen: TaggingProgressScreen | None = None
        self._run_error = ""
        self._preset = "default"

    # --- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        o = self.initial
        sel = o.select if o is not None else None
        values = preset_values("default")
        if sel is not None:
            values.update({"general": f"{sel.general_threshold:g}", "character": f"{sel.character_threshold:g}",
                           "general-mcut": sel.general_mcut, "character-mcut": sel.character_mcut,
                           "rating": sel.rating, "characters-first": sel.characters_first})
        scope = self._default_scope()
        first = ", ".join(sel.always_first) if sel is not None else self._trigger_for(scope)
        self._prefilled_first = first
        model = (o.model if o is not None and o.model in KNOWN_MODELS else None) or DEFAULT_MODEL
        self._auto_model = model

        def row(name: str, *widgets, gap: bool = False) -> Horizontal:
            return Horizontal(Label(name, classes="name"), *widgets, classes="row gap" if gap else "row")

        def error(field: str) -> Static:
            return Static("", id=f"{field}-error", classes="error")

        with Vertical():
            yield Label("Auto-tag with a WD14 model", id="title")
            with VerticalScroll(id="form"):
                yield row("Preset", Select([(f"{n}", n) for n in PRESETS], value="default", allow_blank=False,
                                           id="preset", compact=True))
                yield Static(escape(preset_help("default")), id="preset-help", classes="help")
                yield row("Model", Select(self._model_options(), value=model, allow_blank=False, id="model",
                                          compact=True), gap=True)
                yield row("Model folder", OrderedInput((o.model_dir or "") if o is not None else "", id="model-dir",
                                                       placeholder=f"or a folder with {' + '.join(REQUIRED_FILES)} "
                                                            "(wins over the model above)", compact=True))
                yield Static("", id="model-state", classes="help")
                yield row("General >", OrderedInput(values["general"], id="general", compact=True),
                          Checkbox("MCut (per image)", values["general-mcut"], id="general-mcut", compact=True),
                          gap=True)
                yield error("general")
                yield row("Character >", OrderedInput(values["character"], id="character", compact=True),
                          Checkbox("MCut (per image)", values["character-mcut"], id="character-mcut",
                                   compact=True))
                yield error("character")
                yield Horizontal(
                    Checkbox("characters first", values["characters-first"], id="characters-first", compact=True),
                    Checkbox("rating tag", values["rating"], id="rating", compact=True), classes="toggles")
                yield Horizontal(
                    Checkbox("long_hair -> long hair", sel.underscores_to_spaces if sel else True, id="underscores",
                             compact=True),
                    Checkbox(r"escape ( ) as \( \)", sel.escape_brackets if sel else False, id="escape", compact=True),
                    classes="toggles")
                yield row("Always first", OrderedInput(first, id="always-first", compact=True,
                                                       placeholder="trigger word, … (put at the front of every caption)"),
                          gap=True)
                yield row("Undesired", OrderedInput(", ".join(sel.undesired) if sel else "", id="undesired", compact=True,
                                                    placeholder="tags never written: watermark, signature, …"))
                yield row("Replace", OrderedInput(", ".join(f"{a}={b}" for a, b in sel.replace) if sel else "",
                                                  id="replace", compact=True,
                                                  placeholder="from=to, … (an empty `to` drops the tag)"))
                yield error("replace")
                mode = o.mode if o is not None else "skip"
                with Horizontal(classes="row gap"):
                    yield Label("Mode", classes="name")
                    with RadioSet(id="mode", compact=True):
                        for m in MODES:
                            yield RadioButton(m, m == mode, id=f"mode-{m}")
                yield Static(escape(MODE_HELP[mode]), id="mode-help", classes="help")
                yield error("mode")
                with Horizontal(classes="row gap"):
                    yield Label("Images", classes="name")
                    with RadioSet(id="scope", compact=True):
                        for s in SCOPES:
                            n = len(self.scope_ids[s])
                            btn = RadioButton(f"{SCOPE_LABELS[s]} ({n:,})", s == scope, id=f"scope-{s}")
                            btn.disabled = n == 0
                            yield btn
                yield Static("", id="scope-help", classes="help")
                yield row("Batch", OrderedInput(str(o.batch) if o is not None and o.batch else "", id="batch",
                                                placeholder="auto", compact=True),
                          Checkbox("require GPU", o.require_gpu if o else False, id="require-gpu", compact=True),
                          Checkbox("reuse kept probabilities", o.use_cache if o else True, id="use-cache",
                                   compact=True),
                          Checkbox("fast decode", o.fast_decode if o else False, id="fast-decode", compact=True),
                          gap=True)
                yield error("batch")
            yield Static("", id="run-error", classes="error")
            with Horizontal(id="buttons"):
                yield Button("Run (Ctrl+R)", variant="primary", id="run", compact=True)
                yield Button("Close (Esc)", id="close", compact=True)

    def on_mount(self) -> None:
        self._fit()
        self._show_scope()
        self._show_model_state()
        self._check_models()
        self.query_one("#model", Select).focus()

    def on_resize(self, event) -> None:
        self._fit()

    def _fit(self) -> None:
        """Keep the buttons on screen in short terminals (80x24): the form scrolls instead.

        An auto-height dialog does not pass its max-height down to the scrolling form, so the
        form's limit is set from the screen height: borders 2, title 1, buttons 2, the error lines."""
        err_lines = 0
        if self._run_error:
            width = max(20, min(100, self.size.width) - 18)
            err_lines = min(4, 1 + len(self._run_error) // width)
        self.query_one("#form").styles.max_height = max(4, self.size.height - 5 - err_lines)

    def _default_scope(self) -> str:
        if len(self.scope_ids["selection"]) > 1:
            return "selection"
        if self.scope_ids["filter"] and len(self.scope_ids["filter"]) != len(self.scope_ids["all"]):
            return "filter"
        return "all"

    # --- models ----------------------------------------------------------------------------------
    def _model_options(self) -> list[tuple[str, str]]:
        out = []
        for name, m in KNOWN_MODELS.items():
            state = self.states.get(name, (None, None))[0]
            note = f"  ({m.note})" if m.note else ""
            out.append((f"{name}: {STATE_LABELS.get(state, state)}{note}", name))
        return out

    @work(thread=True, exclusive=True, group="model-states")
    def _check_models(self) -> None:
        # looking into the Hugging Face cache imports huggingface_hub: not on the UI thread
        from loratui.tagging.models import local_state

        states = {}
        for name in KNOWN_MODELS:
            try:
                states[name] = local_state(name)
            except Exception:  # a broken cache folder reads as "not there"
                states[name] = ("missing", None)
        self.post_message(self._ModelStates(states))

    def on_tagging_dialog__model_states(self, event: _ModelStates) -> None:
        self.states = event.states
        select = self.query_one("#model", Select)
        current = select.value
        if not self._model_touched and self.states.get(current, ("missing",))[0] == "missing":
            # the default is not installed but another model is: offer that one
            usable = [n for n, (st, _) in self.states.items() if st != "missing"]
            if usable:
                current = self._auto_model = usable[0]
        with self.prevent(Select.Changed):
            select.set_options(self._model_options())
            select.value = current
        self._show_model_state()

    def _show_model_state(self) -> None:
        label = self.query_one("#model-state", Static)
        text, problem = self.model_state_text()
        label.update(escape(text))
        label.set_class(problem, "-problem")

    def model_state_text(self) -> tuple[str, bool]:
        """What the model line says, and whether it is a problem (nothing runs until it is solved)."""
        from loratui.tagging.models import missing_files, models_dir

        folder = self.query_one("#model-dir", Input).value.strip()
        needs = " and ".join(REQUIRED_FILES)
        if folder:
            path = os.path.expanduser(folder)
            if not os.path.isdir(path):
                return f"{folder}: no such folder (a model folder holds {needs})", True
            missing = missing_files(path)
            if missing:
                return (f"{folder}: missing {', '.join(missing)} (a WD14 model folder holds {needs}, as in "
                        "SmilingWolf's hub repos)"), True
            return f"using the model in {folder}", False
        name = self.query_one("#model", Select).value
        if not isinstance(name, str):
            return "pick a model", True
        state, where = self.states.get(name, (None, None))
        if state is None:
            return "checking which models are installed…", False
        if state == "missing":
            m = KNOWN_MODELS[name]
            none = all(st == "missing" for st, _ in self.states.values())
            return (("No tagger model is installed. " if none else "") +
                    f"{name} is not downloaded: it needs {needs}. Run `loratui models get {name}` in a "
                    f"shell, or download both files from https://huggingface.co/{m.repo_id} into "
                    f"{os.path.join(models_dir(), name)}/ (or any folder, then give it above)."), True
        return f"{name}: {STATE_LABELS[state]} ({where})", False

    @on(Select.Changed, "#model")
    def _model_changed(self, event: Select.Changed) -> None:
        self._model_touched = self._model_touched or event.value != self._auto_model
        self._show_model_state()

    @on(Input.Changed, "#model-dir")
    def _model_dir_changed(self, event: Input.Changed) -> None:
        self._show_model_state()

    # --- presets, mode, scope ---------------------------------------------------------------------
    @on(Select.Changed, "#preset")
    def _preset_changed(self, event: Select.Changed) -> None:
        name = event.value
        if not isinstance(name, str) or name == self._preset:
            return  # Select also reports its first value when mounted: keep the given options
        self._preset = name
        self.query_one("#preset-help", Static).update(escape(preset_help(name)))
        for key, value in preset_values(name).items():
            if key in TOGGLES:
                self.query_one(f"#{key}", Checkbox).value = bool(value)
            else:
                self.query_one(f"#{key}", Input).value = str(value)

    @on(RadioSet.Changed, "#mode")
    def _mode_changed(self, event: RadioSet.Changed) -> None:
        self.query_one("#mode-help", Static).update(escape(MODE_HELP[self.mode]))
        self._show_scope()

    @on(RadioSet.Changed, "#scope")
    def _scope_changed(self, event: RadioSet.Changed) -> None:
        self._show_scope()
        if not self._first_edited:
            # the trigger words follow the scope until the user types their own
            first = self.query_one("#always-first", Input)
            self._prefilled_first = self._trigger_for(self.scope)
            first.value = self._prefilled_first

    @on(Input.Changed, "#always-first")
    def _first_changed(self, event: Input.Changed) -> None:
        if event.value != self._prefilled_first:
            self._first_edited = True
            self._show_scope()

    def _trigger_for(self, scope: str) -> str:
        """The prefilled always-first text: the class tokens shared by every image of ``scope``.

        Images from subsets with different class tokens (``10_mychar`` + ``2_bg``) get nothing:
        one run applies the same always-first tags to every image, and `bg` on a character image
        (or the reverse) would be wrong; the scope line says so."""
        words = trigger_words(self.ds, self.scope_ids[scope])
        return words[0] if len(words) == 1 else ""

    @property
    def mode(self) -> str:
        b = self.query_one("#mode", RadioSet).pressed_button
        return b.id.removeprefix("mode-") if b is not None and b.id else "skip"

    @property
    def scope(self) -> str:
        b = self.query_one("#scope", RadioSet).pressed_button
        return b.id.removeprefix("scope-") if b is not None and b.id else "all"

    def _show_scope(self) -> None:
        ids = self.scope_ids[self.scope]
        text = f"{len(ids):,} image(s)"
        if self.scope == "filter" and self.filter_text:
            text += f" matching `{self.filter_text}`"
        if self.mode == "skip":
            text += f"; {untagged_count(self.ds, ids):,} without tags will be tagged, the others left alone"
        words = trigger_words(self.ds, ids)
        if len(words) > 1 and not self._first_edited:
            text += (f". They come from subsets with different class tokens ({', '.join(words)}), so no "
                     "trigger word is prefilled: tag one subset at a time to put each one's first")
        self.query_one("#scope-help", Static).update(escape(text))

    # --- running ---------------------------------------------------------------------------------
    def form_values(self) -> dict[str, object]:
        values: dict[str, object] = {k: self.query_one(f"#{k}", Input).value for k in TEXTS}
        values.update({k: self.query_one(f"#{k}", Checkbox).value for k in TOGGLES})
        model = self.query_one("#model", Select).value
        values["model"] = model if isinstance(model, str) else None
        values["mode"] = self.mode
        return values

    def show_errors(self, errors: dict[str, str]) -> None:
        for field in ERROR_FIELDS:
            label = self.query_one(f"#{field}-error", Static)
            label.update(escape(errors.get(field, "")))
            label.set_class(field in errors, "-shown")
        for field in ("general", "character", "replace", "batch"):
            self.query_one(f"#{field}", Input).set_class(field in errors, "-invalid")
        self.show_run_error(errors.get("run", ""))

    def show_run_error(self, text: str) -> None:
        label = self.query_one("#run-error", Static)
        label.update(escape(text))
        label.set_class(bool(text), "-shown")
        self._run_error = text
        self._fit()

    def action_run(self) -> None:
        if self._run_screen is not None:
            return
        options, errors = build_options(self.form_values())
        ids = self.scope_ids[self.scope]
        if not ids:
            errors["run"] = f"no images in {SCOPE_LABELS[self.scope]}"
        if options is not None and not errors and self.tagger is None:
            problem = self._model_problem(options)
            if problem:
                errors["run"] = problem
        self.show_errors(errors)
        if errors:
            first = next((f for f in ERROR_FIELDS if f in errors and f != "mode"), None)
            if first:
                self.query_one(f"#{first}", Input).focus()
            return
        self._run_screen = TaggingProgressScreen(self.ds, options, ids, tagger=self.tagger,
                                                 model_name=self._model_label(options))
        self.app.push_screen(self._run_screen, self._run_ended)

    def _model_problem(self, options) -> str:
        from loratui.tagging.models import ModelError, resolve_model

        try:
            resolve_model(options.model, options.model_dir)
        except ModelError as e:
            self._show_model_state()
            return str(e)
        return ""

    def _model_label(self, options) -> str:
        if self.tagger is not None:
            return self.tagger.files.name
        if options.model_dir:
            return os.path.basename(os.path.normpath(options.model_dir)) or options.model_dir
        return options.model or DEFAULT_MODEL

    def _run_ended(self, summary) -> None:
        screen, self._run_screen = self._run_screen, None
        if summary is not None:
            self.dismiss(summary)
        elif screen is not None and screen.error:
            self.show_run_error(screen.error)
            self._show_model_state()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "run":
            self.action_run()
        else:
            self.action_close()

    def action_close(self) -> None:
        self.dismiss(None)
