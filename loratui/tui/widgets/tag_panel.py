"""The all-tags panel (as BooruDatasetTagManager's common-tags panel): every tag of the dataset,
most frequent first with its count, each marked for the image under the cursor or the selection:
``[x]`` all have it, ``[-]`` some do, ``[ ]`` none (shapes, not colours).

Typing narrows the list (the same matching as the add box: prefix, substring, letters in order),
Backspace widens it, ↑/↓ move, Space or Enter toggles the tag (posts ``TagPanel.Toggle``: the screen
adds it where it is missing, or removes it when every target has it), Esc goes back to the images.
Only the rows on screen are drawn; counts are read live from the dataset's tag index, which each
edit updates, so nothing is rescanned.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from loratui.dataset import bare_tag, normalize_tag
from loratui.dataset.tag_style import rank_matches
from loratui.tui.widgets.virtual_list import NAVIGATION, VirtualList

COUNT_W = 6


class TagPanelList(VirtualList, inherit_bindings=False):
    BINDINGS = [
        *NAVIGATION,
        Binding("space,enter", "toggle_tag", "Toggle tag on the image / selection"),
        Binding("backspace", "narrow_back", "Widen the filter", show=False),
        Binding("escape", "leave", "Back to the images"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.dataset = None
        self.have: Counter = Counter()
        """How many of the targets carry each tag (bare form: ``(smile:1.2)`` counts as ``smile``)."""
        self.n_targets = 0

    def render_row(self, key, width: int, base: Style) -> list[Segment]:
        ds = self.dataset
        if ds is None:
            return []
        have = self.have.get(key, 0)
        mark = "[ ]" if not have or not self.n_targets else "[x]" if have >= self.n_targets else "[-]"
        count = ds.index.count(key)
        name_w = max(1, width - 4 - COUNT_W - 1)
        name = key if len(key) <= name_w else key[: name_w - 1] + "…"
        return [Segment(mark + " ", self.style("mark", base) if have else base),
                Segment(f"{count:>{COUNT_W},} ", self.style("dim", base)), Segment(name)]

    def action_toggle_tag(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(TagPanel.Toggle(str(key)))

    def action_narrow_back(self) -> None:
        panel = self.query_ancestor(TagPanel)
        panel.narrow(panel.typed[:-1])

    def action_leave(self) -> None:
        self.post_message(TagPanel.Leave())

    def on_key(self, event: events.Key) -> None:
        # typing always narrows the list: a printable key is never a command here
        if event.is_printable and event.character and event.character != " ":
            event.stop()
            event.prevent_default()
            panel = self.query_ancestor(TagPanel)
            panel.narrow(panel.typed + event.character)


class TagPanel(Vertical):
    DEFAULT_CSS = """
    TagPanel { height: 1fr; }
    TagPanel > #tagpanel-filter { height: 1; color: $text-muted; }
    TagPanel > TagPanelList { height: 1fr; }
    """

    class Toggle(Message):
        def __init__(self, tag: str) -> None:
            super().__init__()
            self.tag = tag

    class Leave(Message):
        pass

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.typed = ""
        self.border_title = "All tags"
        self._ranked: list[tuple[str, str, int]] = []
        self._known: set[str] = set()
        self._ranked_generation = -1
        self._targets_key: tuple | None = None
        self._narrowed: dict[str, tuple[list[str], list[tuple[str, str, int]]]] = {}
        """typed -> (its rows, its matches as (tag, loose form, count) in the ranked order)"""
        self._narrowed_from: list | None = None

    def compose(self):
        yield Static("type to narrow", id="tagpanel-filter", markup=False)
        yield TagPanelList(id="tagpanel-list")

    @property
    def list(self) -> TagPanelList:
        return self.query_one(TagPanelList)

    def show(self, dataset) -> None:
        """(Re)list the dataset's tags, most frequent first; the order is kept across edits until
        the panel is shown again or the filter changes (rows do not jump under the cursor)."""
        self.list.dataset = dataset
        if dataset is None:
            self._ranked = []
        elif self._ranked_generation != dataset.generation or not self._ranked:
            self._ranked = [(t, normalize_tag(t), n) for t, n in dataset.index.most_common()]
            self._known = {t for t, _, _ in self._ranked}
            self._ranked_generation = dataset.generation
        self.narrow(self.typed)

    def narrow(self, typed: str) -> None:
        self.typed = typed
        if typed.strip():
            rows = self._matches(typed)
        else:
            rows = [t for t, _, _ in self._ranked]
        self.query_one("#tagpanel-filter", Static).update(
            f"filter: {typed}  ({len(rows):,})" if typed else f"type to narrow  ({len(rows):,} tags)")
        self.list.set_rows(rows)

    def _matches(self, typed: str) -> list[str]:
        """``rank_matches`` over every tag, remembered per query: a key typed after another ranks
        only what the shorter query matched (a query extending a loose query of two or more
        characters matches a subset of it: prefix, substring and in-order letters alike), and
        backspace finds the shorter query's rows remembered."""
        if self._narrowed_from is not self._ranked:
            self._narrowed = {}  # the tags changed: earlier results are stale
            self._narrowed_from = self._ranked
        hit = self._narrowed.get(typed)
        if hit is not None:
            return hit[0]
        p = normalize_tag(typed)
        pool = self._ranked
        for n in range(len(typed) - 1, 0, -1):
            shorter = self._narrowed.get(typed[:n])
            if shorter is not None:
                q = normalize_tag(typed[:n])
                if len(q) >= 2 and p.startswith(q):
                    pool = shorter[1]
                break
        rows = [t for t, _ in rank_matches(typed, pool, limit=len(pool))]
        matched = set(rows)
        if len(self._narrowed) >= 64:
            self._narrowed.clear()
        self._narrowed[typed] = (rows, [r for r in pool if r[0] in matched])  # the pool keeps the ranked order
        return rows

    def set_targets(self, tag_lists: Iterable[list[str]], key: tuple | None = None) -> None:
        """The tags of the images a toggle acts on (the current image, or the selection); ``key``
        names them (dataset generation + ids): the same key again is not recounted."""
        if key is not None and key == self._targets_key:
            return
        self._targets_key = key
        have: Counter = Counter()
        n = 0
        for tags in tag_lists:
            n += 1
            have.update({bare_tag(t) for t in tags} | set(tags))
        self.list.have = have
        self.list.n_targets = n
        self.list.refresh()

    def add_new_tags(self, tags: Iterable[str]) -> None:
        """Tags an edit created: appended (not re-sorted) so the panel can toggle them back."""
        new = [(t, normalize_tag(t), 0) for t in dict.fromkeys(tags) if t not in self._known]
        if new:
            self._ranked = self._ranked + new  # a new list: narrowing results of the old one are dropped
            self._known.update(t for t, _, _ in new)
            self.narrow(self.typed)
