"""The LoRA inspector: what a .safetensors LoRA is and how it was trained; "use these settings".

``InspectorScreen(path=None)``: shows ``path`` (or asks for one). Hashing runs in a thread so big
files never block the UI. Pressing ``u`` posts ``InspectorScreen.UseSettings`` with an
``ImportResult`` (a new config from the file's metadata plus what could not be carried over); the
host decides where it goes (e.g. ``ConfigScreen.set_config``).
"""

from __future__ import annotations

import os

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static

from loratui.lora.header import LoraFileError
from loratui.lora.inspect import LoraInfo, file_hashes, inspect_lora
from loratui.tui.widgets.ordered_keys import OrderedInput


class InspectorScreen(Screen):
    BINDINGS = [
        Binding("ctrl+o", "focus_path", "Open file", priority=True),
        Binding("u", "use_settings", "Use these settings"),
        Binding("m", "toggle_metadata", "All metadata"),
        Binding("escape", "back", "Back"),
    ]
    DEFAULT_CSS = """
    InspectorScreen #insp-top { height: auto; padding: 0 1; }
    InspectorScreen #insp-top > Label { width: 6; }
    InspectorScreen #insp-path { width: 1fr; }
    InspectorScreen #insp-body { padding: 0 1; }
    InspectorScreen #insp-error { color: $error; padding: 0 1; }
    InspectorScreen #insp-meta { display: none; color: $text-muted; }
    InspectorScreen #insp-meta.shown { display: block; }
    """

    class UseSettings(Message):
        """``result.config`` is a new TrainConfig; ``result.unmapped``/``notes`` say what was not carried."""

        def __init__(self, path: str, result) -> None:
            super().__init__()
            self.path = path
            self.result = result

    def __init__(self, path: str | None = None, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.path = path
        self.info: LoraInfo | None = None
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="insp-top"):
            yield Label("file")
            yield OrderedInput(self.path or "", placeholder="path to a LoRA .safetensors (Enter to inspect)", id="insp-path",
                               compact=True)
        yield Static("", id="insp-error", markup=False)
        with VerticalScroll(id="insp-body"):
            yield Static("", id="insp-summary", markup=False)
            yield Static("", id="insp-meta", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        if self.path:
            self.open(self.path)
        else:
            self.query_one("#insp-path", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "insp-path":
            event.stop()
            if event.value.strip():
                self.open(os.path.abspath(os.path.expanduser(event.value.strip())))

    def open(self, path: str) -> bool:
        """Inspect ``path`` (header only, instantly); hashes follow from a thread."""
        self.path = path
        inp = self.query_one("#insp-path", Input)
        if inp.value != path:
            inp.value = path
        try:
            info = inspect_lora(path, compute_hashes=False)
        except LoraFileError as e:
            self.info, self.error = None, str(e)
            self._show()
            return False
        self.info, self.error = info, None
        self._show()
        self.query_one("#insp-body").focus()
        self._hash(path)
        return True

    @work(thread=True, exclusive=True, group="hash")
    def _hash(self, path: str) -> None:
        from loratui.lora.header import read_header

        try:
            computed = file_hashes(read_header(path))
        except LoraFileError:
            return
        self.app.call_from_thread(self._hashed, path, computed)

    def _hashed(self, path: str, computed) -> None:
        if self.info is not None and self.info.path == path:
            self.info.computed_hash, self.info.computed_legacy_hash = computed
            self._show()

    def _show(self) -> None:
        err = self.query_one("#insp-error", Static)
        err.update(self.error or "")
        err.display = bool(self.error)
        summary = self.query_one("#insp-summary", Static)
        meta = self.query_one("#insp-meta", Static)
        if self.info is None:
            summary.update("" if self.error else "open a LoRA file (Ctrl+O)")
            meta.update("")
            return
        lines = self.info.lines(tags=30)
        if self.info.computed_hash is None:
            lines = [ln if not ln.startswith("hash") else ln + " (computing...)" for ln in lines]
        lines.append("")
        # only a network's settings make a training config (not a checkpoint's or an embedding's)
        lines.append("u: new training config from these settings   m: all metadata" if self.info.is_network
                     else "m: all metadata (not a LoRA network: no training config from it)")
        summary.update("\n".join(lines))
        md = self.info.metadata
        meta.update("metadata\n" + "\n".join(
            f"  {k} = {v if len(v) <= 300 else v[:300] + f'... ({len(v):,} chars)'}" for k, v in sorted(md.items()))
            if md else "no metadata")

    def action_focus_path(self) -> None:
        self.query_one("#insp-path", Input).focus()

    def action_toggle_metadata(self) -> None:
        self.query_one("#insp-meta").toggle_class("shown")

    def action_use_settings(self) -> None:
        if self.info is None or not self.path:
            self.notify("open a LoRA file first", severity="warning")
            return
        if not self.info.is_network:
            self.notify("not a LoRA network: it holds no training settings to reuse", severity="warning")
            return
        from loratui.config import ConfigError, config_from_lora

        try:
            res = config_from_lora(self.path)
        except ConfigError as e:
            self.notify(escape(str(e)), severity="error")
            return
        self.post_message(self.UseSettings(self.path, res))
        self.notify(f"settings taken ({len(res.unmapped)} item(s) not carried over)")

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
