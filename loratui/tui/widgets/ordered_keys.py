"""Text fields that apply keys in the order they were typed, however fast they arrive.

Textual's ``Input`` and ``TextArea`` insert a typed character in their own key handler, but an
editing key they bind (Backspace, Delete, arrows, Home/End, Ctrl+W, Enter) runs only once its event
has bubbled up to the app. When several keys arrive in one read (a slow SSH link coalesces
keystrokes into one packet; a paste without bracketed paste; a fast typist on a loaded server),
the characters after a Backspace are inserted before it runs: ``smile`` + End, five Backspaces and
``grin`` became ``smil``, and a rename went to the wrong tag (Textual issue #6605).

``OrderedKeys`` runs the field's own (non-priority) bindings from its key handler, in order with
the characters. The app's ``KeyGate`` (``loratui.tui.services.key_gate``) also orders keys, but
it is not enough alone: a binding run at the app posts its messages (Enter's ``Submitted``, which
moves the focus to the tag list) behind the gate's marker, so the next keys went out before the
focus moved; run here, in the field's own turn, those messages come first. Bindings of the screen and the app, and priority bindings (already run before the
key reached the field), are untouched; an action that declines the key (``SkipAction``, or
``check_action`` saying no) lets it bubble on as before.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input, TextArea


class OrderedKeys:
    """Mixin for a text field (put it before the Textual widget class in the bases)."""

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable:
            # as the field's own handler does for every key: the cursor stays lit while keys come
            # (a blinking cursor repaints the field twice a second, in the frames of other work)
            restart_blink = getattr(self, "_restart_blink", None)
            if restart_blink is not None:
                restart_blink()
            for binding in self._bindings.key_to_bindings.get(event.key, ()):  # type: ignore[attr-defined]
                if not binding.priority and await self.app.run_action(binding.action, self):  # type: ignore[attr-defined]
                    event.stop()
                    event.prevent_default()
                    return
        await super()._on_key(event)  # type: ignore[misc]


class OrderedInput(OrderedKeys, Input):
    """``Input`` whose editing keys keep their place among typed characters."""


class OrderedTextArea(OrderedKeys, TextArea):
    """``TextArea`` whose editing keys keep their place among typed characters."""
