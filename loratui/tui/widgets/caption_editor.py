"""The caption editor: the selected image's tags, with add (autocomplete), edit, delete and reorder.

Edits are shown at once and posted as ``TagsEdited``; the screen queues the write (off the UI
thread) and reloads the editor from the dataset when the writer is done.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from loratui.tui.services.tag_vocabulary import TagVocabulary
from loratui.tui.widgets.tag_entry import TagDropdown, TagEntryInput
from loratui.tui.widgets.tag_list import TagList


class TagInput(TagEntryInput):
    def action_close_dropdown(self) -> None:
        if self.dropdown_shown:  # Esc closes the suggestions first, then leaves the input
            self.close_dropdown()
        else:
            self.query_ancestor(CaptionEditor).finish_input()


class CaptionEditor(Vertical):
    DEFAULT_CSS = """
    CaptionEditor { height: 1fr; }
    CaptionEditor > TagList { height: 1fr; }
    CaptionEditor > TagInput { display: none; }
    CaptionEditor > #completions { display: none; height: auto; max-height: 3; color: $text-muted; }
    CaptionEditor.-typing > TagInput { display: block; }
    CaptionEditor.-typing > #completions { display: block; }
    CaptionEditor > #tag-note { display: none; height: auto; color: $text-muted; }
    CaptionEditor.-typing > #tag-note { display: block; }
    CaptionEditor > TagDropdown.-shown { display: none; }
    CaptionEditor.-typing > TagDropdown.-shown { display: block; }
    """

    class TagsEdited(Message):
        def __init__(self, image_id: int, tags: list[str], label: str) -> None:
            super().__init__()
            self.image_id = image_id
            self.tags = tags
            self.label = label

    def __init__(self, vocabulary: TagVocabulary, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.vocabulary = vocabulary
        self.image_id: int | None = None
        self.editable = True
        self.why_not = ""
        """Why this caption cannot be edited (an unreadable file: which encoding, which error)."""
        self._mode = ""  # "add" | "edit" while the input is open
        self._completions = ""
        self._title = "Caption"
        self.border_title = "Caption"

    def compose(self) -> ComposeResult:
        yield TagList(id="tags")
        dropdown = TagDropdown(id="tag-dropdown")
        note = Static("", id="tag-note")
        yield TagInput(self.vocabulary, dropdown, note,
                       placeholder="tag, another tag  (↓ suggestions, Tab/Enter accepts, Esc cancels)",
                       id="tag-input", compact=True)
        yield dropdown
        yield note
        yield Static("", id="completions")

    @property
    def tag_list(self) -> TagList:
        return self.query_one(TagList)

    @property
    def tags(self) -> list[str]:
        return self.tag_list.tags

    def load(self, image_id: int | None, tags: list[str], trigger: set[str], editable: bool = True,
             title: str = "Caption", why_not: str = "", read_only: bool = False) -> None:
        """``read_only``: the reason is a read-only dataset or file (not an unreadable one)."""
        same = image_id == self.image_id
        self.image_id = image_id
        self.editable = editable
        self.why_not = "" if editable else (why_not or "this caption file cannot be read")
        if title != self._title:  # Textual repaints the whole pane on every title set
            self._title = title
            self.border_title = title
        self.tag_list.show_tags(tags, trigger, cursor=None if same else 0)
        if not same and self._mode:
            self.finish_input(refocus=False)
        if not editable:  # say why the caption is blank and read-only, where the caption would be
            from rich.markup import escape

            tail = "" if read_only else "; loratui never overwrites a file it cannot read"
            self._set_completions(f"[$error]not editable:[/] {escape(self.why_not)}{tail}")
        elif not self._mode:
            self._set_completions("")

    def _set_completions(self, text: str) -> None:
        """Update the line under the caption only when it changes: moving the cursor between
        editable captions then touches nothing but the tag list (no layout pass)."""
        if text != self._completions:
            self._completions = text
            self.query_one("#completions", Static).update(text)

    # --- edits ---------------------------------------------------------------------------------
    def _commit(self, tags: list[str], label: str, cursor: int) -> None:
        if self.image_id is None:
            return
        if not self.editable:
            self.app.notify(f"{self.why_not}: loratui will not overwrite it", severity="warning")
            return
        self.tag_list.show_tags(tags, self.tag_list.trigger, cursor=cursor)
        self.post_message(self.TagsEdited(self.image_id, list(tags), label))

    def remove_current(self) -> None:
        i = self.tag_list.cursor
        if 0 <= i < len(self.tags):
            tags = self.tags[:i] + self.tags[i + 1:]
            self._commit(tags, f"remove `{self.tags[i]}`", min(i, len(tags) - 1))

    def move_current(self, delta: int) -> None:
        i = self.tag_list.cursor
        j = i + delta
        if 0 <= i < len(self.tags) and 0 <= j < len(self.tags):
            tags = list(self.tags)
            tags[i], tags[j] = tags[j], tags[i]
            self._commit(tags, f"move `{tags[j]}` {'up' if delta < 0 else 'down'}", j)

    def move_current_to_front(self) -> None:
        i = self.tag_list.cursor
        if 0 < i < len(self.tags):
            tags = [self.tags[i]] + self.tags[:i] + self.tags[i + 1:]
            self._commit(tags, f"move `{tags[0]}` to the front", 0)

    # --- the input -----------------------------------------------------------------------------
    def start_add(self) -> None:
        if self.image_id is None:
            return
        if not self.editable:  # no input box on a caption that cannot be written
            self.app.notify(f"cannot add a tag: {self.why_not}", severity="warning")
            return
        self._open_input("add", "")

    def start_edit(self) -> None:
        if not self.editable:
            self.app.notify(f"cannot edit: {self.why_not}", severity="warning")
            return
        i = self.tag_list.cursor
        if 0 <= i < len(self.tags):
            self._open_input("edit", self.tags[i])

    def _open_input(self, mode: str, value: str) -> None:
        self._mode = mode
        self.add_class("-typing")
        inp = self.query_one(TagInput)
        inp.value = value
        inp.cursor_position = len(value)
        inp.border_title = "add tag" if mode == "add" else "edit tag"
        inp.focus()
        inp.refresh_suggestions()

    def finish_input(self, refocus: bool = True) -> None:
        self._mode = ""
        self.remove_class("-typing")
        self.query_one(TagInput).close_dropdown()
        if refocus:
            self.tag_list.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "tag-input":
            return
        event.stop()
        mode = self._mode
        entered = self.query_one(TagInput).normalized()  # in the dataset's style (red_hair -> red hair)
        self.finish_input()
        if not entered:
            return
        tags = list(self.tags)
        i = self.tag_list.cursor
        if mode == "edit" and 0 <= i < len(tags):
            old = tags[i]
            rest = [t for t in tags[:i] + tags[i + 1:]]
            new = [t for t in entered if t not in rest]
            tags = tags[:i] + new + [t for t in tags[i + 1:] if t not in new]
            self._commit(tags, f"edit `{old}` -> `{', '.join(entered)}`", i)
        elif mode == "add":
            new = [t for t in entered if t not in tags]
            if not new:
                # keep typing in the box: the next keys are a new tag, never commands (`r`, `d`...)
                self.app.notify(f"already tagged {', '.join(entered)}; type another tag or Esc")
                self._open_input("add", "")
                return
            self._commit(tags + new, f"add {', '.join(f'`{t}`' for t in new)}", len(tags))
