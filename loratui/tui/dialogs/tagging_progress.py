"""A tagging run on screen: progress bar, images/s, ETA, the device in use, Cancel; then the summary.

The run itself is ``loratui.tagging.run_tagging`` in a thread worker. Its progress callback fires on
that thread; we keep only the latest figures and post at most one message until the UI has drawn
it, so a fast run cannot flood the message queue. Cancel sets the run's event: the model stops and
what was tagged is written as one journal entry (one undo reverts it).

When the run ends (finished, cancelled or failed) ``TaggingFinished`` goes to the screen below the
modals (the dataset screen), and from there bubbles to the app, so either can refresh its views.
"""

from __future__ import annotations

import threading

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Label, ProgressBar, Static

MAX_PROBLEMS = 8


def escape(text: str) -> str:
    """``text`` shown as written inside Textual markup. ``rich.markup.escape`` is not enough here:
    Textual's parser also reads ``[ONNXRuntimeError]`` (capitals) as a tag, Rich's escape leaves it."""
    return text.replace("[", "\\[")


class TaggingFinished(Message):
    """A tagging run ended. ``summary.result.image_ids`` are the images whose tags changed
    (``summary.result`` is None when nothing was written); ``error`` is set instead when the run
    could not start (model missing or unloadable). ``options``: the run's ``TaggingOptions``, to
    reopen the dialog with them (``TaggingDialog(..., options=event.options)``)."""

    def __init__(self, summary=None, error: str | None = None, options=None) -> None:
        super().__init__()
        self.summary = summary
        self.error = error
        self.options = options

    @property
    def image_ids(self) -> set[int]:
        r = self.summary.result if self.summary is not None else None
        return set(r.image_ids) if r is not None else set()


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = int(seconds + 0.5)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def progress_line(p) -> str:
    """``12/100 images · 3.4 images/s · ETA 0:25 · CPU · 1 failed`` from a ``TaggingProgress``."""
    bits = [f"{p.done:,}/{p.total:,} images"]
    if p.phase == "tagging":
        bits += [f"{p.rate:.1f} images/s", f"ETA {clock(p.eta)}"]
    elif p.elapsed:
        bits.append(f"{clock(p.elapsed)} elapsed")
    bits.append(f"on {p.device}" if p.device else "device: not loaded yet")
    if p.failed:
        bits.append(f"{p.failed:,} failed")
    return " · ".join(bits)


PHASES = {"loading": "loading the model…", "tagging": "tagging", "writing": "writing captions…", "done": "done"}


def summary_text(summary) -> str:
    lines = [escape(line) for line in summary.lines()]
    problems = summary.failed + summary.refused
    for p in problems[:MAX_PROBLEMS]:
        lines.append(f"[$warning]{escape(p.path)}: {escape(p.message)}[/]")
    if len(problems) > MAX_PROBLEMS:
        lines.append(f"[dim]… and {len(problems) - MAX_PROBLEMS:,} more[/]")
    if summary.tagged:
        lines.append("[dim]one journal entry: undo (u) reverts the whole run[/]")
    if summary.cancelled:
        lines.append("[dim]run it again with the same options to continue where it stopped[/]")
    return "\n".join(lines)


class TaggingProgressScreen(ModalScreen["object | None"]):
    """Runs ``run_tagging(ds, options, ids)``; dismisses with the ``TaggingSummary`` (None when the
    run failed to start: ``error`` says why). ``tagger``: an already loaded ``Tagger`` to use."""

    BINDINGS = [
        Binding("escape,c", "cancel_or_close", "Cancel / close"),
        Binding("enter", "close", "Close", show=False),
    ]
    DEFAULT_CSS = """
    TaggingProgressScreen { align: center middle; }
    TaggingProgressScreen > Vertical { width: 80; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1; }
    TaggingProgressScreen #title { text-style: bold; width: 100%; }
    TaggingProgressScreen #phase { color: $text-muted; }
    TaggingProgressScreen ProgressBar { width: 100%; margin: 1 0 0 0; }
    TaggingProgressScreen ProgressBar Bar { width: 1fr; }
    TaggingProgressScreen #summary-box { height: auto; max-height: 12; display: none; margin-top: 1; }
    TaggingProgressScreen.-finished #summary-box { display: block; }
    TaggingProgressScreen #error { color: $error; display: none; margin-top: 1; }
    TaggingProgressScreen.-failed #error { display: block; }
    TaggingProgressScreen #buttons { height: auto; align-horizontal: right; margin-top: 1; }
    TaggingProgressScreen Button { margin-left: 1; }
    TaggingProgressScreen #close { display: none; }
    TaggingProgressScreen.-finished #close, TaggingProgressScreen.-failed #close { display: block; }
    TaggingProgressScreen.-finished #cancel, TaggingProgressScreen.-failed #cancel { display: none; }
    """

    progress_interval = 0.1
    """Seconds between progress updates from the run (tests set 0 to see every batch)."""

    class Progressed(Message):
        """The latest figures are in ``screen.progress`` (coalesced: at most one in the queue)."""

    class Ended(Message):
        def __init__(self, summary=None, error: str | None = None) -> None:
            super().__init__()
            self.summary = summary
            self.error = error

    def __init__(self, ds, options, ids, *, tagger=None, model_name: str = "") -> None:
        super().__init__()
        self.ds = ds
        self.options = options
        self.ids = list(ids) if ids is not None else None
        self.tagger = tagger
        self.model_name = model_name or options.model_dir or options.model or "the default model"
        self.cancel_event = threading.Event()
        self.progress = None
        """The latest ``TaggingProgress`` (written by the worker thread, read by the UI)."""
        self.summary = None
        self.error: str | None = None
        self.running = False
        self._posted = False
        self._target = None

    def compose(self) -> ComposeResult:
        n = len(self.ids) if self.ids is not None else len(self.ds.images)
        with Vertical():
            yield Label(escape(f"Tagging {n:,} image(s) with {self.model_name} ({self.options.mode})"), id="title")
            yield Static(PHASES["loading"], id="phase")
            yield ProgressBar(total=None, show_eta=False, id="bar")
            yield Static("", id="stats")
            yield Static("", id="error")
            with VerticalScroll(id="summary-box"):
                yield Static("", id="summary")
            with Horizontal(id="buttons"):
                yield Button("Cancel (Esc)", variant="error", id="cancel", compact=True)
                yield Button("Close (Enter)", variant="primary", id="close", compact=True)

    def on_mount(self) -> None:
        # where TaggingFinished goes: the screen the dialog was opened from (it bubbles to the app)
        for s in reversed(self.app.screen_stack):
            if not isinstance(s, ModalScreen):
                self._target = s
                break
        self.running = True
        self._run()

    def on_unmount(self) -> None:
        # the app is closing or the screen was popped: stop the model; what is done still gets written
        self.cancel_event.set()

    # --- the worker ------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="tagging", exit_on_error=False)
    def _run(self) -> None:
        from loratui.tagging.models import ModelError
        from loratui.tagging.run import run_tagging

        try:
            summary = run_tagging(self.ds, self.options, self.ids, progress=self._on_progress,
                                  cancel=self.cancel_event, tagger=self.tagger,
                                  progress_interval=self.progress_interval)
        except (ModelError, ValueError) as e:
            self.post_message(self.Ended(error=str(e)))
        except Exception as e:  # a bug or an odd file must end the run visibly, never hang the dialog
            self.post_message(self.Ended(error=f"tagging failed: {type(e).__name__}: {e}"))
        else:
            self.post_message(self.Ended(summary=summary))

    def _on_progress(self, p) -> None:
        """On the worker thread."""
        self.progress = p
        if not self._posted:
            self._posted = True
            self.post_message(self.Progressed())

    # --- the UI ----------------------------------------------------------------------------------
    def on_tagging_progress_screen_progressed(self, event: Progressed) -> None:
        self._posted = False
        p = self.progress
        if p is None:
            return
        self._show(p)

    def _show(self, p) -> None:
        phase = PHASES.get(p.phase, p.phase)
        if p.phase == "loading" and p.done:
            phase += f" ({p.done:,} from kept probabilities)"
        if self.cancel_event.is_set() and p.phase != "done":
            phase = "stopping: writing what is done…"
        self.query_one("#phase", Static).update(phase)
        bar = self.query_one(ProgressBar)
        if p.phase in ("tagging", "writing", "done") or p.done:
            bar.update(total=max(p.total, 1), progress=p.done if p.total else 1)
        self.query_one("#stats", Static).update(escape(progress_line(p)))

    def on_tagging_progress_screen_ended(self, event: Ended) -> None:
        self.running = False
        if event.error is not None:
            self.error = event.error
            self.add_class("-failed")
            self.query_one("#phase", Static).update("could not run")
            self.query_one("#error", Static).update(escape(event.error))
            self.query_one("#close", Button).focus()
            self._notify_target(TaggingFinished(error=event.error, options=self.options))
            return
        s = self.summary = event.summary
        if self.progress is not None:
            self._show(self.progress)
        self.query_one("#phase", Static).update("stopped" if s.cancelled else "done")
        self.query_one("#summary", Static).update(summary_text(s))
        self.add_class("-finished")
        self.query_one("#close", Button).focus()
        self._notify_target(TaggingFinished(summary=s, options=self.options))

    def _notify_target(self, message: Message) -> None:
        (self._target or self.app).post_message(message)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "cancel":
            self.action_cancel()
        else:
            self.action_close()

    def action_cancel(self) -> None:
        if not self.running or self.cancel_event.is_set():
            return
        self.cancel_event.set()
        btn = self.query_one("#cancel", Button)
        btn.label = "Stopping…"
        btn.disabled = True
        self.query_one("#phase", Static).update("stopping: writing what is done…")

    def action_close(self) -> None:
        if not self.running:
            self.dismiss(self.summary)

    def action_cancel_or_close(self) -> None:
        if self.running:
            self.action_cancel()
        else:
            self.action_close()
