"""Keys that arrive together (a slow SSH link sends several keystrokes in one packet) are applied
in the order they were typed: an editing key (Backspace, arrows, End) bound by a text field no
longer runs after the characters typed behind it (Textual issue #6605). With Textual's own
``Input`` (8.2) the same burst comes out wrong (`smil`): the burst tests here failed before the fix."""

from __future__ import annotations

import pytest
from textual import events
from textual.app import App
from textual.widgets import TextArea

from loratui.tui.dialogs.confirm_plan import ConfirmPlanScreen
from loratui.tui.dialogs.prompt import PromptScreen
from loratui.tui.screens.tag_frequency import TagFrequencyScreen
from loratui.tui.services.tag_vocabulary import TagVocabulary
from loratui.tui.widgets.ordered_keys import OrderedInput, OrderedTextArea
from loratui.tui.widgets.tag_entry import TagDropdown, TagEntryInput

from .helpers import make_app, make_dataset, until, wait_loaded, wait_plan

BURST = [("end", None)] + [("backspace", "\x7f")] * 5 + [(c, c) for c in "grin"] + [("left", None)] * 2 + [("x", "x")]
"""On a field holding `smile`: End, five Backspaces, `grin`, two Lefts, `x` -> `grxin`."""


def burst(app, keys) -> None:
    for key, char in keys:  # all queued at once, as one read of the terminal delivers them
        app.post_message(events.Key(key, char))


def field(kind: str):
    if kind == "input":
        return OrderedInput("smile", select_on_focus=False)
    if kind == "textarea":
        return OrderedTextArea("smile")
    if kind == "tag-entry":
        return TagEntryInput(TagVocabulary(), TagDropdown(), value="smile",
                             select_on_focus=False)
    raise ValueError(kind)


class One(App):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def compose(self):
        w = field(self.kind)
        yield w
        if isinstance(w, TagEntryInput):
            yield w.dropdown


def text_of(w) -> str:
    return w.text if isinstance(w, TextArea) else w.value


@pytest.mark.parametrize("kind", ["input", "textarea", "tag-entry"])
async def test_a_burst_of_keys_is_applied_in_order(kind):
    app = One(kind)
    async with app.run_test() as pilot:
        w = app.query_one("Input, TextArea")
        w.focus()
        await pilot.pause()
        burst(app, BURST)
        await pilot.pause()
        await pilot.pause()
        assert text_of(w) == "grxin"


@pytest.mark.parametrize("kind", ["input", "textarea"])
async def test_a_bound_key_keeps_the_cursor_lit(kind):
    """As Textual's own key handler does for every key: without it a blinking cursor repainted the
    tag view's filter twice a second while the arrows moved the list (p95 of a cursor move 1.3x)."""
    app = One(kind)
    async with app.run_test() as pilot:
        w = app.query_one("Input, TextArea")
        w.focus()
        await pilot.pause()
        w._cursor_visible = False  # mid-blink
        burst(app, [("left", None)])
        await pilot.pause()
        assert w._cursor_visible


async def open_rename(app, pilot, tag: str) -> str:
    """From the dataset screen: the tag view filtered by `tag`, the first match's rename prompt
    open; returns the text the prompt starts with (the tag renamed)."""
    await wait_loaded(app, pilot)
    await pilot.press("t")
    await until(pilot, lambda: isinstance(app.screen, TagFrequencyScreen))
    await pilot.press(*tag, "enter", "r")
    await until(pilot, lambda: isinstance(app.screen, PromptScreen))
    await pilot.pause()
    return app.focused.value


async def test_keys_a_field_declines_still_reach_the_screen(tmp_path):
    """Esc in a tag prompt with no dropdown open is the dialog's cancel, even within a burst."""
    app = make_app(make_dataset(tmp_path / "ds"))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_rename(app, pilot, "blonde")
        burst(app, [("ctrl+u", None), ("escape", None)])
        await until(pilot, lambda: isinstance(app.screen, TagFrequencyScreen))


async def test_a_rename_typed_in_one_burst_renames_to_what_was_typed(tmp_path):
    app = make_app(make_dataset(tmp_path / "ds"))
    async with app.run_test(size=(120, 40)) as pilot:
        assert await open_rename(app, pilot, "smile") == "smile"
        # End, Backspace x5 and `grin` in one packet, then Enter
        burst(app, BURST[:10] + [("enter", "\r")])
        await until(pilot, lambda: isinstance(app.screen, ConfirmPlanScreen))
        await wait_plan(app, pilot)
        assert "rename `smile` -> `grin`" in app.screen.plan.summary()


async def test_keys_behind_a_screen_key_go_to_the_screen_it_opens(tmp_path):
    """`t` then `dress` in one burst: the tag view opens and its filter gets `dress`; before, the
    five letters ran as commands on the dataset screen (`d` removes a tag from the image)."""
    root = make_dataset(tmp_path / "ds")
    before = {p: p.read_bytes() for p in root.rglob("*.txt")}
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        burst(app, [("t", "t")] + [(c, c) for c in "dress"])
        await until(pilot, lambda: isinstance(app.screen, TagFrequencyScreen) and app.screen.filter.value == "dress")
        await pilot.pause()
        assert app.screen.filter.value == "dress"
        assert app.edits.pending == 0 and app.dataset.journal.entries()[0] == []
    assert {p: p.read_bytes() for p in root.rglob("*.txt")} == before


async def test_keys_behind_slash_go_to_the_filter(tmp_path):
    """`/red` with three Backspaces and `solo` in one burst filters `solo` (it opened the runs
    screen: `r` ran before the filter had the focus)."""
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        burst(app, [("slash", "/"), ("r", "r"), ("e", "e"), ("d", "d")] + [("backspace", "\x7f")] * 3
              + [(c, c) for c in "solo"])
        screen = app.screen
        await until(pilot, lambda: screen.query_one("FilterInput").value == "solo")
        await pilot.pause()
        assert app.screen is screen and screen.query_one("FilterInput").value == "solo"


async def test_a_paste_behind_a_screen_key_goes_to_the_screen_it_opens(tmp_path):
    app = make_app(make_dataset(tmp_path / "ds"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        app.post_message(events.Key("t", "t"))
        app.post_message(events.Paste("blonde"))
        await until(pilot, lambda: isinstance(app.screen, TagFrequencyScreen) and app.screen.filter.value == "blonde")
        assert app.screen.table.rows == ["blonde hair"]


async def test_a_lost_marker_holds_the_next_key_only_for_the_timeout():
    """If the marker behind a key never comes back (its widget went away with it), the keys
    behind it still go out, after KeyGate.TIMEOUT."""
    from textual.app import App

    from loratui.tui.services.key_gate import KeyDone, KeyGate

    class GatedApp(KeyGate, App):
        TIMEOUT = 2.0  # long enough that the check below sees `b` still held on a loaded machine

        def compose(self):
            yield OrderedInput("", select_on_focus=False)

    app = GatedApp()
    async with app.run_test() as pilot:
        w = app.query_one(OrderedInput)
        w.focus()
        await pilot.pause()
        post = w.post_message
        lost = []

        def drop_markers(message):
            if isinstance(message, KeyDone):
                lost.append(message)
                return True
            return post(message)

        w.post_message = drop_markers
        burst(app, [("a", "a"), ("b", "b")])
        await pilot.pause()
        assert w.value == "a"  # `b` waits for the marker of `a`
        await until(pilot, lambda: w.value == "ab", timeout=10)
        assert len(lost) == 2


async def test_enter_in_the_tag_filter_then_a_rename_in_one_burst(tmp_path):
    """`smile` typed in the tag view, then Enter (to the list), `r`, End, five Backspaces, `grin`,
    Enter in one burst: the rename of `smile` to `grin` is proposed. The filter's Enter posts a
    message that moves the focus; it must be ahead of the key gate's marker, so the field runs its
    own bindings (with the gate alone, `r` and `grin` went into the filter and End and the
    Backspaces to the list)."""
    app = make_app(make_dataset(tmp_path / "ds"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        burst(app, [("t", "t")] + [(c, c) for c in "smile"])
        await until(pilot, lambda: isinstance(app.screen, TagFrequencyScreen) and app.screen.filter.value == "smile")
        burst(app, [("enter", "\r"), ("r", "r")] + BURST[:10] + [("enter", "\r")])
        await until(pilot, lambda: isinstance(app.screen, ConfirmPlanScreen))
        await wait_plan(app, pilot)
        assert "rename `smile` -> `grin`" in app.screen.plan.summary()
