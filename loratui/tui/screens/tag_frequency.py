"""Every tag with its count; filter as you type, sort, and bulk edits with a preview first."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Input, Static

from loratui.dataset import (
    AddTags,
    Dataset,
    MergeTags,
    MoveToFront,
    RemoveTags,
    RenameTag,
    bare_tag,
    normalize_tag,
    tags_query,
)
from loratui.tui.dialogs.prompt import PromptScreen
from loratui.tui.messages import EditDone
from loratui.tui.screens.base import LoraScreen
from loratui.tui.services.tag_vocabulary import TagSuggester
from loratui.tui.widgets.ordered_keys import OrderedInput
from loratui.tui.widgets.tag_table import TagTable

COMMAND_KEYS = frozenset("srdfavwjk /")
"""Letters that are commands while the list has focus (the screen's bindings and the list's j/k,
space); every other printable key typed on the list goes to the filter."""


class TagFilter(OrderedInput):
    """The filter box: typing narrows; the arrows move the list's cursor without leaving it."""

    BINDINGS = [
        Binding("down", "list('cursor', 1)", show=False),
        Binding("up", "list('cursor', -1)", show=False),
        Binding("pagedown", "list('page', 1)", show=False),
        Binding("pageup", "list('page', -1)", show=False),
    ]

    async def _on_key(self, event) -> None:
        # `/` focuses the filter everywhere in loratui: pressed here out of habit with nothing typed
        # yet, it does not become the start of the filter
        if event.key == "slash" and not self.value:
            event.stop()
            event.prevent_default()
            return
        await super()._on_key(event)

    def action_list(self, what: str, delta: int) -> None:
        table = self.screen.query_one(TagTable)
        if what == "cursor":
            table.action_cursor(delta)
        else:
            table.action_page(delta)


class TagFrequencyScreen(LoraScreen):
    """Dismisses with a query ("show these images") or None.

    Counts follow the scope it was opened on (the selected images, else the filtered list or the
    chosen subset); `w` toggles the whole dataset. Bulk edits act on the scope's images only."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("r", "rename", "Rename"),
        Binding("d,delete", "remove", "Remove"),
        Binding("f", "front", "Front"),
        Binding("a", "add", "Add"),
        Binding("enter,v", "show_images", "Images"),
        Binding("w", "toggle_scope", "Scope"),
    ]
    DEFAULT_CSS = """
    TagFrequencyScreen #tag-scope { height: 1; padding: 0 1; text-style: bold; color: $accent; }
    TagFrequencyScreen #tag-filter { margin: 0 1; border: round $panel-lighten-2; height: 3; }
    TagFrequencyScreen TagTable { border: round $panel-lighten-2; }
    /* the pane with the focus: a heavy border (a shape, so it shows without colour too) */
    TagFrequencyScreen #tag-filter:focus, TagFrequencyScreen TagTable:focus { border: heavy $primary; }
    TagFrequencyScreen #tag-header { height: 1; padding-left: 1; color: $text-muted; text-style: bold; }
    TagFrequencyScreen TagTable { height: 1fr; }
    TagFrequencyScreen #tag-status { height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(self, scope_ids: list[int] | None = None, scope_label: str = "") -> None:
        super().__init__()
        self.sort_mode = "count"
        self.scope_ids = scope_ids
        self.scope_label = scope_label
        self.whole = scope_ids is None
        self._scoped: tuple[int, dict[str, int]] | None = None
        self._sorted: tuple[tuple[int, bool, str], list[str], list[str], dict[str, int]] | None = None
        """(generation, whole, sort) -> the scope's tags sorted, their normalised forms, counts."""

    @property
    def dataset(self) -> Dataset:
        ds = self.state.dataset
        assert ds is not None, "the tag view opens on a loaded dataset"
        return ds

    def compose(self) -> ComposeResult:
        yield Static("", id="tag-scope", markup=False)
        yield TagFilter(placeholder="filter tags: type to narrow, ↑↓ move, Enter to the list, Esc clears",
                        id="tag-filter", select_on_focus=False)
        yield Static("", id="tag-header")
        yield TagTable(id="tag-table")
        yield Static("", id="tag-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(TagTable)
        table.dataset = self.dataset
        table.trigger = self.state.trigger_tags()
        self.reload()
        # typing always filters: the view opens in the filter (arrows move the list from there);
        # Enter or Tab goes to the list, where the letters are commands
        self.filter.focus()

    @property
    def table(self) -> TagTable:
        return self.query_one(TagTable)

    def reload(self) -> None:
        """Rebuild rows from the index (after an edit, a refresh, a new filter).

        The sorted tags and their normalised spellings are kept per (dataset generation, scope,
        sort): a keystroke in the filter is one substring scan over precomputed strings, in order,
        with no recount and no re-sort."""
        ds = self.dataset
        text = normalize_tag(self.filter.value)
        key = (ds.generation, self.whole, self.sort_mode)
        if self._sorted is None or self._sorted[0] != key:
            if not ds.lock.acquire(blocking=False):
                return  # the writer is updating the index; the app calls reload() when it is done
            try:
                counts = ds.index.counts() if self.whole else self.scope_counts()
            finally:
                ds.lock.release()
            tags = list(counts)
            if self.sort_mode == "count":
                tags.sort(key=lambda t: (-counts[t], t))
            else:
                tags.sort(key=lambda t: (normalize_tag(t), t))
            self._sorted = (key, tags, [normalize_tag(t) for t in tags], counts)
            self.table.selected &= set(counts)
        _, tags, norms, counts = self._sorted
        self.table.scoped = None if self.whole else counts
        self.update_title()
        if text:
            tags = [t for t, n in zip(tags, norms) if text in n]
        table = self.table
        table.set_rows(tags)
        self.query_one("#tag-header", Static).update(table.header(table.size.width or self.size.width))
        self.update_status()

    def scope_counts(self) -> dict[str, int]:
        """Images per tag within the scope (recounted only when the dataset changed)."""
        ds = self.dataset
        if self._scoped is None or self._scoped[0] != ds.generation:
            from collections import Counter

            c: Counter = Counter()
            for i in self.scope_ids or []:
                if i < len(ds.images):
                    c.update(dict.fromkeys(map(bare_tag, ds.images[i].tags), 1))  # `(smile:1.2)` is `smile`
            self._scoped = (ds.generation, dict(c))
        return self._scoped[1]

    def scope_text(self) -> str:
        if self.whole:
            return "whole dataset" + (f" (w: back to {self.scope_label})" if self.scope_ids is not None else "")
        return f"{self.scope_label}, {len(self.scope_ids or []):,} images (w: whole dataset)"

    def update_title(self) -> None:
        self.title = "Tag frequencies"
        self.sub_title = self.scope_text()
        self.query_one("#tag-scope", Static).update(f"Tags in: {self.scope_text()}")

    def action_toggle_scope(self) -> None:
        if self.scope_ids is None:
            self.notify("already the whole dataset (open t with a subset, a filter or a selection to narrow)",
                        timeout=3)
            return
        self.whole = not self.whole
        self.reload()

    def update_status(self) -> None:
        t = self.table
        self.query_one("#tag-status", Static).update(
            f"{self.scope_text()}  │  {len(t.rows):,} tags  │  {len(t.selected):,} selected  │  "
            f"sort: {self.sort_mode}  │  space select, r rename/merge, d remove, f front, a add, enter show images")

    def on_resize(self) -> None:
        self.fit_footer(self.size.width)
        self.query_one("#tag-header", Static).update(self.table.header(self.size.width))

    @on(Input.Changed, "#tag-filter")
    def _filter_changed(self) -> None:
        self.reload()

    @on(Input.Submitted, "#tag-filter")
    def _filter_submitted(self) -> None:
        if not self.table.rows:
            self.notify(self.no_match(), severity="warning", timeout=3)
            return
        self.table.focus()

    def no_match(self) -> str:
        return f"no tag matches `{self.filter.value}`" if self.filter.value else "no tags in this scope"

    @property
    def filter(self) -> Input:
        return self.query_one("#tag-filter", Input)

    def on_key(self, event) -> None:
        """Typing always filters: a printable key that is not a list command, typed while the list
        has focus, goes to the filter (and the focus with it, so the next keys do too)."""
        if self.focused is not self.table or not event.is_printable or not event.character:
            return
        if event.character in COMMAND_KEYS:
            return
        event.stop()
        event.prevent_default()
        f = self.filter
        f.focus()
        f.insert_text_at_cursor(event.character)

    def on_edit_done(self, event: EditDone) -> None:
        """A bulk edit this screen asked for is written: recount (the app reports it)."""
        if self.app.edits.pending == 0:
            self.reload()

    def on_virtual_list_selection_changed(self, event) -> None:
        self.update_status()

    def action_focus_filter(self) -> None:
        self.query_one("#tag-filter", Input).focus()

    def action_back(self) -> None:
        """Esc: clear the filter first (focus stays where it is), then close the view."""
        if self.filter.value:
            self.filter.value = ""
            return
        self.dismiss(None)

    def action_sort(self) -> None:
        self.sort_mode = "name" if self.sort_mode == "count" else "count"
        self.reload()

    # --- bulk operations -----------------------------------------------------------------------
    def chosen(self) -> list[str]:
        tags = self.table.selection_or_cursor()
        if not tags:
            self.notify("no tag selected", severity="warning")
        return tags

    def images_with(self, tags: list[str]) -> list[int]:
        """The images of the scope having any of ``tags``: a bulk edit never leaves the scope."""
        ids: set[int] = set()
        for t in tags:
            ids |= self.dataset.index.images(t)
        if not self.whole and self.scope_ids is not None:
            ids &= set(self.scope_ids)
        return sorted(ids)

    def _preview(self, op, tags) -> None:
        self.preview_and_apply(op, self.images_with(tags))

    def action_rename(self) -> None:
        tags = self.chosen()
        if not tags:
            return
        what = f"`{tags[0]}`" if len(tags) == 1 else f"{len(tags)} tags ({', '.join(tags[:3])}…)"

        def done(target: str | None) -> None:
            if not target:
                return
            try:
                op = RenameTag(tags[0], target) if len(tags) == 1 else MergeTags(tags, target)
            except ValueError as e:
                self.notify(str(e), severity="error")
                return
            self._preview(op, tags)

        self.app.push_screen(PromptScreen(f"Rename / merge {what} into:", tags[0] if len(tags) == 1 else "",
                                          TagSuggester(self.state.vocabulary)), done)

    def action_remove(self) -> None:
        tags = self.chosen()
        if tags:
            self._preview(RemoveTags(tags), tags)

    def action_front(self) -> None:
        tags = self.chosen()
        if tags:
            self._preview(MoveToFront(tags), tags)

    def action_add(self) -> None:
        tags = self.chosen()
        if not tags:
            return

        def done(new: str | None) -> None:
            if not new:
                return
            try:
                op = AddTags([t for t in new.split(",")])
            except ValueError as e:
                self.notify(str(e), severity="error")
                return
            self._preview(op, tags)

        self.app.push_screen(PromptScreen(f"Add a tag to every image tagged {', '.join(tags[:3])}"
                                          f"{'…' if len(tags) > 3 else ''}:", "",
                                          TagSuggester(self.state.vocabulary)), done)

    def action_show_images(self) -> None:
        if not self.table.rows:
            self.notify(self.no_match(), severity="warning", timeout=3)
            return
        tags = self.chosen()
        if tags:
            self.dismiss(tags_query(tags))

    def palette_commands(self):
        yield "Tags: rename / merge selected", "Rename the selected tags (merge when several)", self.action_rename
        yield "Tags: remove selected", "Remove the selected tags from every image", self.action_remove
        yield "Tags: move selected to front", "Move the selected tags to the front of captions", self.action_front
        yield "Tags: add a tag to their images", "Add a tag to every image having the selected tags", self.action_add
        yield "Tags: show these images", "Filter the image list to images with the selected tags", self.action_show_images
        yield "Tags: toggle sort", "Sort by count or by name", self.action_sort
        yield "Tags: back to images", "Close the tag-frequency view", self.action_back
