"""The training-config form: sections of fields with help, inline validation as you type, presets,
"from LoRA file...", step math and warnings always visible, a TOML preview, save / load / export.

``ConfigScreen(config=None, path=None)``: edit ``config`` (default: the character preset); ``path``
is where Save writes (asked for when None). Posts ``ConfigScreen.Saved`` after each save and
``ConfigScreen.LaunchRequested`` when the user asks to train (the training issue handles it).
"""

from __future__ import annotations

import os

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select, Static, TabbedContent, TabPane, TextArea

from loratui.config import (
    PRESET_DISCLAIMER,
    ConfigError,
    TrainConfig,
    apply_preset,
    export_kohya,
    load_any,
    preset_names,
    save_user_preset,
    use_lora_settings,
    validate,
)
from loratui.config.fields import FormField, form_fields, format_value, get_value, parse_value, set_value
from loratui.config.presets import find_subsets
from loratui.config.stepmath import step_math, survey
from loratui.config.validate import launch_errors
from loratui.config.vram import estimate_config
from loratui.tui.dialogs.prompt import PromptScreen
from loratui.tui.screens.base import fit_footer
from loratui.tui.widgets.config_fields import field_id, field_widget, msg_id, row_id

SECTION_TITLES = {"model": "model", "dataset": "dataset", "network": "network", "optim": "optimisation",
                  "schedule": "schedule", "output": "output", "hardware": "hardware"}


def _tab_of(f: FormField) -> str:
    return f.section or "model"  # `concept` sits with the base model


def tab_id(section: str) -> str:
    return f"tab-{section}"


def body_id(section: str) -> str:
    return f"cfg-body-{section}"


FIRST_SECTION = "model"
"""The tab shown when the form opens: its fields are composed with the screen, the others after."""
BATCH_ROWS = 4
"""Rows of a hidden tab composed per idle step after the first frame (each step is short: keys go between)."""


class ConfigScreen(Screen):
    # the footer shows the keys in this order, most used first, in short words so all of them fit
    # 80 columns (compact); the others are in the help (?) and the palette
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("f10", "launch", "Launch"),
        Binding("f8", "next_problem", "Problem", tooltip="Jump to the next field with a problem"),
        Binding("f4", "section(1)", "Section", tooltip="Next section"),
        Binding("f3", "section(-1)", "Prev section", show=False),
        Binding("f6", "toggle_preview", "TOML"),
        Binding("f5", "rescan", "Scan", tooltip="Scan the dataset again"),
        Binding("ctrl+o", "load", "Load", show=False, priority=True),
        Binding("escape", "back", "Back"),
        Binding("f2", "focus_preset", "Preset", show=False),
        Binding("f7", "export_kohya", "Export kohya", show=False),
        Binding("ctrl+l", "from_lora", "From LoRA", show=False, priority=True),
        Binding("f9", "save_preset", "Save as preset", show=False),
    ]
    DEFAULT_CSS = """
    ConfigScreen #cfg-form { width: 3fr; padding: 0 1; }
    ConfigScreen #cfg-tabs { height: 1fr; }
    ConfigScreen #cfg-side { width: 2fr; min-width: 40; border-left: solid $panel; padding: 0 1; }
    ConfigScreen .cfg-section { margin-top: 1; text-style: bold; color: $accent; }
    ConfigScreen .cfg-row { height: auto; }
    ConfigScreen .cfg-row > Label { width: 26; padding-right: 1; }
    ConfigScreen .cfg-row > Input, ConfigScreen .cfg-row > Select { width: 1fr; }
    ConfigScreen .cfg-row > Checkbox { width: 5; text-overflow: clip; }
    ConfigScreen .cfg-lines { width: 1fr; height: 5; }
    ConfigScreen .cfg-note { padding-left: 26; }
    ConfigScreen #cfg-top { height: auto; }
    ConfigScreen #cfg-top > Label { width: 26; }
    ConfigScreen #cfg-top > Select { width: 1fr; }
    ConfigScreen #cfg-disclaimer { color: $text-muted; }
    ConfigScreen #cfg-side > Static { margin-bottom: 1; }
    ConfigScreen #cfg-preview { height: 1fr; border-top: solid $panel; }
    ConfigScreen #cfg-preview.hidden { display: none; }
    ConfigScreen #cfg-launch { width: 100%; }
    /* narrow terminals (80x24): the side panel goes under the form, labels shrink */
    ConfigScreen.-narrow > Horizontal { layout: vertical; }
    ConfigScreen.-narrow #cfg-form { width: 100%; height: 2fr; }
    ConfigScreen.-narrow #cfg-side { width: 100%; min-width: 0; height: 1fr; border-left: none;
                                     border-top: solid $panel; overflow-y: auto; }
    ConfigScreen.-narrow .cfg-row > Label, ConfigScreen.-narrow #cfg-top > Label { width: 16; }
    ConfigScreen.-narrow .cfg-note { padding-left: 16; }
    ConfigScreen.-narrow #cfg-disclaimer { display: none; }
    """
    NARROW = 110
    """Below this many columns the side panel (step math, findings, TOML) stacks under the form."""

    class Saved(Message):
        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    class LaunchRequested(Message):
        """The user asked to train with this (saved, error-free) config."""

        def __init__(self, config: TrainConfig, path: str) -> None:
            super().__init__()
            self.config = config
            self.path = path

    def __init__(self, config: TrainConfig | None = None, path: str | None = None, *, name: str | None = None,
                 id: str | None = None, dirty: bool = False) -> None:
        super().__init__(name=name, id=id)
        self.config = config.copy() if config is not None else apply_preset("character")
        self.path = path
        self.fields: list[FormField] = form_fields()
        self.by_id = {field_id(f.path): f for f in self.fields}
        self.parse_errors: dict[str, str] = {}
        self.findings: list = []
        self.dirty = dirty
        """Edited since the last save or load: kept across visits (the form's edits are kept too)."""
        self._counts: list | None = None
        self._survey_gen = 0
        self._surveying = False
        """A thread worker is reading the subsets' image headers (``_survey`` and ``_counts`` come after)."""
        self._survey: list | None = None
        """Each subset's training images and sizes (``stepmath.survey``): the step math buckets them."""
        self._report: list[str] = []
        self._side_timer = None
        self._msg_widgets: dict[str, Static] = {}
        self._widgets: dict[str, Widget] = {}
        """The editing widget of each field composed so far (the hidden tabs are composed after the first
        frame, or at once when shown): ``self.config`` holds every field's value, composed or not."""
        self._rows: dict[str, Horizontal] = {}
        self._pending: dict[str, list[FormField]] = {s: [f for f in self.fields if _tab_of(f) == s]
                                                     for s in SECTION_TITLES}
        """Each section's fields not composed yet, in form order."""
        self._per_field: dict[str, list] = {}
        self._stale: set[str] = set()
        self._msg_state: dict[str, tuple[str, str]] = {}
        self._static_text: dict[str, str] = {}

    # ---- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="cfg-form"):
                with Horizontal(id="cfg-top"):
                    yield Label("preset (F2)")
                    yield Select([(n, n) for n in preset_names()], prompt="apply a preset...", id="cfg-preset",
                                 compact=True)
                yield Static(PRESET_DISCLAIMER, id="cfg-disclaimer")
                # one tab per section: only the visible tab is laid out, which keeps typing fast
                with TabbedContent(id="cfg-tabs"):
                    for section in SECTION_TITLES:
                        with TabPane(SECTION_TITLES[section], id=tab_id(section)):
                            # only the first tab's fields now: composing all seven tabs took seconds
                            with VerticalScroll(id=body_id(section)):
                                if section == FIRST_SECTION:
                                    yield from self._take_rows(section)
            with Vertical(id="cfg-side"):
                yield Static("", id="cfg-title", markup=False)
                yield Static("", id="cfg-math", markup=False)
                yield Static("", id="cfg-findings")
                yield Static("", id="cfg-report", markup=False)
                yield Button("Launch training", id="cfg-launch", variant="success", compact=True)
                with VerticalScroll(id="cfg-preview"):
                    yield Static("", id="cfg-toml", markup=False)
        yield Footer()

    def on_resize(self, event) -> None:
        narrow = 0 < event.size.width < self.NARROW
        self.set_class(narrow, "-narrow")
        # narrow: the compact footer without the palette's key (Ctrl+P still works), so every key shows
        fit_footer(self, event.size.width, self.NARROW)

    def on_mount(self) -> None:
        self.set_class(0 < self.size.width < self.NARROW, "-narrow")
        self._show_network_fields()
        self.refresh_checks()
        # focus the section tabs, not `base` with its whole value selected (a stray key would replace it)
        self.query_one("#cfg-tabs Tabs").focus()
        # the other tabs' fields: a few rows per step once the first frame is drawn
        self.call_after_refresh(self._compose_more)

    # ---- composing the hidden tabs after the first frame --------------------------------------
    def _take_rows(self, section: str, limit: int | None = None) -> list[Widget]:
        """Build the next rows of ``section`` (label, editing widget, note) from ``self.config``."""
        from loratui.config.network_types import field_applies

        pending = self._pending[section]
        take = pending[:limit] if limit is not None else list(pending)
        del pending[:len(take)]
        out: list[Widget] = []
        for f in take:
            w = field_widget(f, get_value(self.config, f.path))
            row = Horizontal(Label(f.label), w, classes="cfg-row", id=row_id(f.path))
            state = self._note_state(f)
            note = Static(self._note_text(f, state), classes=" ".join(["cfg-note", *self._note_classes(state)]),
                          id=msg_id(f.path))
            self._msg_state[f.path] = state
            if f.section == "network":
                row.display = note.display = field_applies(self.config.network, f.name)
            self._widgets[f.path], self._rows[f.path], self._msg_widgets[f.path] = w, row, note
            out += [row, note]
        return out

    def compose_section(self, section: str, limit: int | None = None) -> None:
        """Mount the next ``limit`` (default: all) not yet composed rows of ``section``."""
        if not self._pending.get(section) or not self.is_mounted:
            return
        rows = self._take_rows(section, limit)
        self.query_one(f"#{body_id(section)}", VerticalScroll).mount_all(rows)

    def _compose_more(self) -> None:
        if not self.is_mounted:
            return
        active = self.query_one(TabbedContent).active.removeprefix("tab-")
        order = [active] + [s for s in SECTION_TITLES if s != active]
        section = next((s for s in order if self._pending[s]), None)
        if section is None:
            return
        self.compose_section(section, BATCH_ROWS)
        # a timer, not a loop: the keys typed meanwhile are handled between two steps
        self.set_timer(0.01, self._compose_more)

    @property
    def form_complete(self) -> bool:
        """Every tab's fields are composed and mounted (tests wait for this before querying by id)."""
        return not any(self._pending.values()) and all(w.is_mounted for w in self._widgets.values())

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        pane = event.pane.id or ""
        if pane.startswith("tab-"):
            self.compose_section(pane.removeprefix("tab-"))

    # ---- editing -----------------------------------------------------------------------------
    def _edited(self, widget_id: str | None, raw) -> None:
        f = self.by_id.get(widget_id or "")
        if f is None or f.path in self._stale:
            return  # a widget built before the config was replaced, announcing its old value as it mounts
        try:
            value = parse_value(f, raw)
        except ValueError as e:
            self.parse_errors[f.path] = str(e)
        else:
            had_error = self.parse_errors.pop(f.path, None) is not None
            if value == get_value(self.config, f.path) and not had_error:
                return  # nothing changed (each widget says its value as it mounts): no re-validation
            if value != get_value(self.config, f.path):
                set_value(self.config, f.path, value)
                self.dirty = True
                if f.path in ("dataset.root", "dataset.subsets"):
                    self._invalidate_counts()
                if f.path in ("network.type", "network.dora"):
                    self._show_network_fields()
        self.refresh_checks(side_now=False)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id and event.input.id.startswith("fld-"):
            event.stop()
            if event.value == event.input.value:  # not an older value announced late
                self._edited(event.input.id, event.value)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        if event.value == event.checkbox.value:
            self._edited(event.checkbox.id, event.value)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self._edited(event.text_area.id, event.text_area.text)

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.select.id == "cfg-preset":
            if event.value is not Select.NULL and isinstance(event.value, str):
                self.apply_preset(event.value)
            return
        if event.value is not Select.NULL and event.value == event.select.value:
            self._edited(event.select.id, event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cfg-launch":
            event.stop()
            self.action_launch()

    # ---- checks ------------------------------------------------------------------------------
    def refresh_checks(self, side_now: bool = True) -> None:
        """Re-validate and redraw the field messages now; the side panel (step math, findings, TOML)
        now or, while typing, once the keys pause (each redraw there re-lays out the screen)."""
        cfg = self.config
        if self._counts is not None and len(self._counts) != len(cfg.dataset.subsets):
            self._invalidate_counts()
        if self._counts is None:
            if not self._surveying:
                self._start_survey()
            # the folders' image headers are being read in a thread: the other checks now, the file ones after
            self.findings = validate(cfg, check_files=False)
        else:
            self.findings = validate(cfg, image_counts=self._counts)
        per_field: dict[str, list] = {}
        for fd in self.findings:
            key = fd.path
            if key.startswith("dataset.subsets"):
                key = "dataset.subsets"
            per_field.setdefault(key, []).append(fd)
        self._per_field = per_field
        # the composed fields' notes (a field composed later gets its note when it is built)
        for path, w in self._msg_widgets.items():
            f = self.by_id[field_id(path)]
            state = self._note_state(f)
            if self._msg_state.get(f.path) == state:
                continue  # redrawing unchanged rows would re-layout the whole form on every key
            self._msg_state[f.path] = state
            w.update(self._note_text(f, state))
            classes = self._note_classes(state)
            for c in ("shown", "error", "warning"):
                w.set_class(c in classes, c)
        if self._side_timer is not None:
            self._side_timer.stop()
            self._side_timer = None
        if side_now:
            self._refresh_side()
        else:
            self._side_timer = self.set_timer(0.25, self._refresh_side)

    def _note_state(self, f: FormField) -> tuple[str, str]:
        """A field's problems (text, level) from the last validation and its parse error."""
        lines, level = [], ""
        if f.path in self.parse_errors:
            lines.append(f"error: {self.parse_errors[f.path]} (not applied)")
            level = "error"
        for fd in self._per_field.get(f.path, []):
            text = f"{fd.level}: {fd.message}"
            if fd.allowed:
                text += f" (allowed: {fd.allowed})"
            if fd.hint:
                text += f"; {fd.hint}"
            lines.append(text)
            level = level or fd.level
        return "\n".join(lines), level

    @staticmethod
    def _note_text(f: FormField, state: tuple[str, str]) -> Text:
        note = Text(f.help, style="dim")
        if state[0]:
            note.append("\n" + state[0], style="bold red" if state[1] == "error" else "yellow")
        return note

    @staticmethod
    def _note_classes(state: tuple[str, str]) -> list[str]:
        return (["shown"] if state[0] else []) + ([state[1]] if state[1] in ("error", "warning") else [])

    def _invalidate_counts(self) -> None:
        self._counts = None
        self._survey = None
        self._surveying = False
        self._survey_gen += 1  # a survey still running answers for an older subset list: ignored

    def _start_survey(self) -> None:
        self._surveying = True
        gen = self._survey_gen
        cfg = self.config.copy()

        def work() -> None:
            result = survey(cfg)
            self.app.call_from_thread(self._survey_done, gen, result)

        self.run_worker(work, thread=True, group="cfg-survey", name="read the dataset's image headers")

    def _survey_done(self, gen: int, result: list) -> None:
        if gen != self._survey_gen or not self.is_mounted:
            return
        self._surveying = False
        self._survey = result
        self._counts = [None if fi.error else fi.count for fi in result]
        self.refresh_checks()

    @property
    def reading(self) -> bool:
        """The dataset's images are still being read (step math and file checks are not final)."""
        return self._counts is None

    def flush(self) -> None:
        """Redraw the side panel now if a redraw is pending."""
        if self._side_timer is not None:
            self._side_timer.stop()
            self._side_timer = None
            self._refresh_side()

    def _refresh_side(self) -> None:
        self._side_timer = None
        cfg = self.config
        if self._survey is not None:
            math_lines = step_math(cfg, images=self._survey).lines()
        elif self._counts is not None:
            math_lines = cfg.step_math(image_counts=self._counts).lines()
        else:
            math_lines = ["reading the dataset's images…"]
        vram = estimate_config(cfg)  # the same figure `config check` prints and the launch compares
        self._set_static("#cfg-math", "step math\n" + "\n".join(f"  {ln}" for ln in math_lines)
                         + "\nGPU memory (estimate; compared with the GPU's free memory at launch)\n"
                         + "\n".join(f"  {ln}" for ln in vram.lines()))
        errors = [fd for fd in self.findings if fd.is_error]
        warnings = [fd for fd in self.findings if not fd.is_error]
        out = []
        for p, m in self.parse_errors.items():
            out.append(f"[red]error[/] {_esc(p)}: {_esc(m)}")
        for fd in errors:
            out.append(f"[red]error[/] {_esc(fd.path)}: {_esc(fd.message)}")
        for fd in warnings:
            out.append(f"[yellow]warning[/] {_esc(fd.path)}: {_esc(fd.message)}")
        summary = f"{len(errors) + len(self.parse_errors)} error(s), {len(warnings)} warning(s)"
        if self.reading:
            summary += " so far (reading the dataset's images…)"
        self._set_static("#cfg-findings", summary + ("\n" + "\n".join(out) if out else ""))
        self.query_one("#cfg-launch", Button).disabled = bool(errors or self.parse_errors or self.reading)
        self._set_static("#cfg-toml", cfg.to_toml())
        self._update_title()

    def _set_static(self, sel: str, text: str) -> None:
        if self._static_text.get(sel) != text:
            self._static_text[sel] = text
            self.query_one(sel, Static).update(text)

    def _update_title(self) -> None:
        where = self.path or "(not saved yet: Ctrl+S)"
        self._set_static("#cfg-title", f"{where}{' *' if self.dirty else ''}")
        self._set_static("#cfg-report", "\n".join(self._report))
        self.query_one("#cfg-report", Static).display = bool(self._report)

    @property
    def error_count(self) -> int:
        return sum(fd.is_error for fd in self.findings) + len(self.parse_errors)

    # ---- replacing the whole config ----------------------------------------------------------
    def set_config(self, cfg: TrainConfig, path: str | None = None, report: list[str] | None = None,
                   dirty: bool = True) -> None:
        """Show ``cfg`` in the form (after a load, preset or import)."""
        self.config = cfg
        self.path = path
        self._invalidate_counts()
        self.parse_errors.clear()
        self._report = list(report or [])
        self.dirty = dirty
        self._fill()
        self._show_network_fields()
        self.refresh_checks()

    def _fill(self) -> None:
        """Show ``self.config`` in the composed fields (the others are built from it when composed)."""
        unmounted = {p for p, w in self._widgets.items() if not w.is_mounted}
        # a batch still mounting holds the old values: its changes are ignored until it is filled
        self._stale = unmounted
        if unmounted:
            self.set_timer(0.02, self._fill)
        for path, w in self._widgets.items():
            if path in unmounted:
                continue
            f = self.by_id[field_id(path)]
            shown = format_value(f, get_value(self.config, f.path))
            if isinstance(w, Checkbox):
                w.value = bool(shown)
            elif isinstance(w, Select):
                w.set_options([(c, c) for c in f.choices] + ([] if shown in f.choices else [(shown, shown)]))
                w.value = shown
            elif isinstance(w, TextArea):
                if w.text != shown:
                    w.text = str(shown)
            elif isinstance(w, Input):
                if w.value != shown:
                    w.value = str(shown)

    def _show_network_fields(self) -> None:
        """Only the chosen network type's fields (LoKr's factor only for lokr, conv ranks not for lora...)."""
        from loratui.config.network_types import field_applies

        for f in self.fields:
            if f.section == "network" and f.path in self._rows:
                shown = field_applies(self.config.network, f.name)
                self._rows[f.path].display = self._msg_widgets[f.path].display = shown

    def apply_preset(self, name: str) -> None:
        try:
            cfg = apply_preset(name, self.config)
        except (KeyError, ConfigError) as e:
            self.notify(str(e), severity="error")
            return
        self.set_config(cfg, self.path, [f"preset `{name}` applied. {PRESET_DISCLAIMER}"])

    # ---- actions -----------------------------------------------------------------------------
    def action_focus_preset(self) -> None:
        self.query_one("#cfg-preset", Select).focus()

    def show_field(self, path: str) -> None:
        """Switch to the field's section and focus it."""
        f = next((f for f in self.fields if f.path == path), None)
        if f is None:
            return
        self.compose_section(_tab_of(f))
        self.query_one(TabbedContent).active = tab_id(_tab_of(f))
        w = self._widgets[path]

        def focus() -> None:
            if w.is_mounted:
                w.focus()
            elif self.is_mounted:
                self.set_timer(0.02, focus)  # its tab was composed just now

        self.call_after_refresh(focus)

    def action_section(self, step: int) -> None:
        tabs = [tab_id(s) for s in SECTION_TITLES]
        tc = self.query_one(TabbedContent)
        i = tabs.index(tc.active) if tc.active in tabs else 0
        tc.active = tabs[(i + step) % len(tabs)]

    def action_next_problem(self) -> None:
        """Jump to the next field with an error (or, with none, a warning)."""
        paths = list(self.parse_errors) + [fd.path for fd in self.findings]
        known = [f.path for f in self.fields]
        targets = []
        for p in paths:
            p = "dataset.subsets" if p.startswith("dataset.subsets") else p.split("[")[0]
            if p in known and p not in targets:
                targets.append(p)
        if not targets:
            self.notify("no problems")
            return
        focused = self.focused.id if self.focused is not None else ""
        cur = next((i for i, p in enumerate(targets) if field_id(p) == focused), -1)
        self.show_field(targets[(cur + 1) % len(targets)])

    def action_toggle_preview(self) -> None:
        self.query_one("#cfg-preview").toggle_class("hidden")

    def action_rescan(self) -> None:
        root = self.config.abspath(self.config.dataset.root) if self.config.dataset.root else ""
        if not root or not os.path.isdir(root):
            self.notify("set dataset.root to an existing folder first", severity="warning")
            return
        subsets = find_subsets(root)
        if not subsets:
            self.notify(f"no images or <repeats>_<name> folders in {root}", severity="warning")
            return
        self.config.dataset.subsets = subsets
        self.dirty = True
        self._invalidate_counts()
        self._fill()
        self._show_network_fields()
        self.refresh_checks()
        self.notify(f"{len(subsets)} subset(s) found")

    def action_save(self) -> None:
        if self.path:
            self.save_to(self.path)
        else:
            self.app.push_screen(PromptScreen("Save the config as (TOML file):", "train.toml"), self._save_answer)

    def _save_answer(self, answer: str | None) -> None:
        if answer:
            self.save_to(os.path.abspath(os.path.expanduser(answer)))

    def save_to(self, path: str) -> bool:
        try:
            self.config.save(path)
        except OSError as e:
            self.notify(f"{path}: cannot write ({e.strerror or e})", severity="error")
            return False
        self.path = path
        self.config.base_dir = os.path.dirname(os.path.abspath(path))
        self.dirty = False
        self._update_title()
        extra = f"; not saved (invalid text): {', '.join(self.parse_errors)}" if self.parse_errors else ""
        self.notify(f"saved {path}{extra}", severity="warning" if extra else "information")
        self.post_message(self.Saved(path))
        return True

    def action_load(self) -> None:
        self.app.push_screen(PromptScreen("Load a config (loratui TOML, sd-scripts TOML or kohya_ss .json):",
                                        self.path or ""), self._load_answer)

    def _load_answer(self, answer: str | None) -> None:
        if answer:
            self.load_from(os.path.abspath(os.path.expanduser(answer)))

    def load_from(self, path: str) -> bool:
        try:
            loaded = load_any(path)
        except ConfigError as e:
            self.notify(str(e), severity="error", timeout=10)
            return False
        if loaded.native:
            self.set_config(loaded.config, path, dirty=False)
            self.notify(f"loaded {path}")
        else:
            self.set_config(loaded.config, None, loaded.report)
        return True

    def action_export_kohya(self) -> None:
        base = os.path.dirname(self.path) if self.path else os.getcwd()
        self.app.push_screen(PromptScreen("Export sd-scripts files into folder:", os.path.join(base, "kohya")),
                             self._export_answer)

    def _export_answer(self, answer: str | None) -> None:
        if answer:
            self.export_to(os.path.abspath(os.path.expanduser(answer)))

    def export_to(self, outdir: str) -> list[str]:
        try:
            written, notes = export_kohya(self.config, outdir)
        except OSError as e:
            self.notify(f"{outdir}: cannot write ({e.strerror or e})", severity="error")
            return []
        self._report = ["exported for sd-scripts:"] + [f"  {w}" for w in written] + [f"note: {n}" for n in notes]
        self._update_title()
        self.notify(f"wrote {len(written)} files to {outdir}")
        return written

    def action_from_lora(self) -> None:
        self.app.push_screen(PromptScreen("Use the settings of a LoRA file (.safetensors):"), self._lora_answer)

    def _lora_answer(self, answer: str | None) -> None:
        if answer:
            self.use_lora(os.path.abspath(os.path.expanduser(answer)))

    def use_lora(self, path: str) -> bool:
        """Take training settings from a LoRA's metadata; keep this form's model, dataset and output."""
        try:
            new, report = use_lora_settings(self.config, path)
        except ConfigError as e:
            self.notify(str(e), severity="error", timeout=10)
            return False
        self.set_config(new, self.path, report)
        return True

    def action_save_preset(self) -> None:
        self.app.push_screen(PromptScreen("Save these training settings as a preset named:"), self._preset_answer)

    def _preset_answer(self, answer: str | None) -> None:
        if answer:
            self.save_preset(answer)

    def save_preset(self, name: str) -> bool:
        try:
            path = save_user_preset(name, self.config)
        except (ValueError, OSError) as e:
            self.notify(str(e), severity="error")
            return False
        self.query_one("#cfg-preset", Select).set_options([(n, n) for n in preset_names()])
        self.notify(f"saved preset `{name}` ({path})")
        return True

    def action_launch(self) -> None:
        if self.reading:
            self.notify("still reading the dataset's images: launch again in a moment", severity="warning")
            return
        # the gate every launch path uses (CLI, queue, resume, worker), named field by field here
        blocking = [f"{fd.path}: {fd.message}" for fd in launch_errors(self.config)]
        blocking += [f"{p}: {m}" for p, m in self.parse_errors.items()]
        if blocking or self.error_count:
            n = max(len(blocking), self.error_count)
            shown = "; ".join(blocking[:3]) + (f" (+{len(blocking) - 3} more)" if len(blocking) > 3 else "")
            self.notify(f"not launched: fix {n} error(s) first" + (f": {shown}" if shown else ""),
                        severity="error", timeout=10)
            return
        if self.dirty or not self.path:
            self.notify("save the config first (Ctrl+S)", severity="warning")
            return
        self.post_message(self.LaunchRequested(self.config.copy(), self.path))

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()


def _esc(s: str) -> str:
    return s.replace("[", "\\[")
