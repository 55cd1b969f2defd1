"""Keys that arrive together are handled one after the other, each after what the previous one did.

Textual forwards each key to the focused widget and runs the screen's and the app's key bindings
only once the key has bubbled back up to the app; meanwhile the keys behind it, read from the
terminal in the same chunk, are already forwarded to the widget that had the focus. Over a slow
SSH link keystrokes arrive in bursts, so `t` then `dress` (open the tag view, then filter it) ran
`d`, `r`, `e`, `s`, `s` as commands on the dataset screen, and `/red` opened the runs screen
instead of filtering.

``KeyGate`` holds every key until the one before it has been handled: a ``KeyDone`` marker follows
the key along the same path (the same widget's queue, then up through its parents to the app), and
when it arrives, the next key goes out after the messages that the key's action queued (a screen it
opened, a focus it moved). A key handled on the way (a typed character) still sends the marker up.
If the marker is lost (its widget removed), the next key goes out after ``TIMEOUT`` anyway. Keys
that arrive one by one (typing at human speed, Pilot's ``press``) pass at once, as before. A
paste waits its turn the same way.
"""

from __future__ import annotations

from collections import deque
from functools import partial

from textual import events
from textual.message import Message

Gated = events.Key | events.Paste
"""What the gate holds: keys, and pastes (text pasted behind a key goes where the key led)."""


class KeyDone(Message, bubble=True):
    """Sent after a key to the widget it went to; reaching the app means the key was handled."""

    def __init__(self, key: Gated) -> None:
        super().__init__()
        self.key = key


class KeyGate:
    """Mixin for a Textual ``App`` (before ``App`` in the bases)."""

    TIMEOUT = 0.5
    """Seconds after which a key whose marker never came back no longer holds the next ones."""

    _gate_busy: Gated | None = None
    _gate_held: deque[Gated] | None = None
    _gate_timer = None

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded:
            if self._gate_busy is not None:
                if self._gate_held is None:
                    self._gate_held = deque()
                self._gate_held.append(event)
                return
            await self._gate_send(event)
            return
        await super().on_event(event)  # type: ignore[misc]

    async def _gate_send(self, key: Gated) -> None:
        self._gate_busy = key
        try:
            await super().on_event(key)  # type: ignore[misc]  # priority bindings, then to the focus
        except BaseException:
            self._gate_busy = None  # never hold the keys behind one whose handling failed
            raise
        app = self  # type: ignore[assignment]
        try:
            sent = (app.focused or app.screen).post_message(KeyDone(key))  # type: ignore[attr-defined]
        except Exception:  # no screen (the app is closing): nothing to wait for
            sent = False
        if not sent:
            await self._gate_release(key)
            return
        self._gate_timer = app.set_timer(self.TIMEOUT, partial(self._gate_release, key))  # type: ignore[attr-defined]

    def on_key_done(self, message: KeyDone) -> None:
        message.stop()
        if message.key is not self._gate_busy:
            return
        # the next key goes after what this one started: messages already queued for the screen
        # (a screen just pushed mounts and takes its focus), then the app's (focus moves)
        app = self  # type: ignore[assignment]
        release = partial(app.call_later, self._gate_release, message.key)  # type: ignore[attr-defined]
        try:
            queued = app.screen.call_later(release)  # type: ignore[attr-defined]
        except Exception:  # no screen (the app is closing)
            queued = False
        if not queued:
            release()

    async def _gate_release(self, key: Gated) -> None:
        if self._gate_busy is not key:
            return
        if self._gate_timer is not None:
            self._gate_timer.stop()
            self._gate_timer = None
        self._gate_busy = None
        if self._gate_held:
            await self._gate_send(self._gate_held.popleft())
