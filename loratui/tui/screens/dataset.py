"""The dataset screen: subsets | image list (with the filter box) | preview + caption editor."""

from __future__ import annotations

import os

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from loratui.dataset import AddTags, Dataset, Dedupe, ProgressiveSelect, QueryError, RemoveTags, bare_tag
from loratui.demo import TRAIN_CONFIG
from loratui.tui.dialogs.prompt import PromptScreen
from loratui.tui.messages import DatasetFailed, DatasetLoaded, EditDone, ScanProgress, ScanRows, ShowImages
from loratui.tui.screens.base import LoraScreen
from loratui.tui.services.tag_vocabulary import TagSuggester
from loratui.tui.services.thumbnails import ThumbnailCache
from loratui.tui.widgets.caption_editor import CaptionEditor
from loratui.tui.widgets.image_list import ImageList, ScanView
from loratui.tui.widgets.ordered_keys import OrderedInput
from loratui.tui.widgets.preview import Preview
from loratui.tui.widgets.status_bar import StatusBar
from loratui.tui.widgets.subset_list import SubsetList
from loratui.tui.widgets.tag_list import TagList
from loratui.tui.widgets.tag_panel import TagPanel

SORTS = ("name", "tags", "modified")
NARROW = 100
"""Below this many columns the subset pane hides (b shows it) and the right column narrows."""


class FilterInput(OrderedInput):
    BINDINGS = [Binding("escape", "leave", "Back to list"), Binding("down", "leave", show=False)]

    def action_leave(self) -> None:
        self.screen.query_one(ImageList).focus()


class DatasetScreen(LoraScreen):
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("t", "tag_view", "Tags"),
        Binding("a", "add_tag", "Add"),
        Binding("d", "remove_from_selection", "Remove tag from selection", show=False),
        Binding("D", "dedupe", "Remove duplicate tags", show=False),
        Binding("e,enter", "focus_caption", "Edit caption", show=False),
        Binding("u", "undo", "Undo"),
        Binding("U,ctrl+y", "redo", "Redo", show=False),
        Binding("s", "sort", "Sort", show=False),
        Binding("b", "toggle_subsets", "Subsets", show=False),
        Binding("f5,ctrl+r", "refresh", "Reload from disk", show=False),
        Binding("T", "auto_tag", "Auto"),
        Binding("c", "training_config", "Train"),
        Binding("i", "inspect_lora", "Inspect LoRA", show=False),
        Binding("r", "runs", "Runs", show=False),
        Binding("h", "health", "Health"),
        Binding("m", "toggle_mask", "Show loss mask", show=False),
        Binding("p", "tag_panel", "All-tags panel (toggle tags)", show=False),
    ]

    def __init__(self, sort: str = "name", cache_size: int = 64) -> None:
        super().__init__()
        self.sort_mode = sort if sort in SORTS else "name"
        self.query_text = ""
        self.subset: int | None = None
        self.thumbs = ThumbnailCache(cache_size)
        self.load_seconds: float | None = None
        self.pinned: list[int] | None = None
        """Images a health finding pointed at: the list shows only these until the filter changes."""
        self._times_known = False
        self._view_stale = False
        self._shown_generation = -1
        """The dataset generation the list was last computed for (edits made elsewhere bump it)."""
        self._filter_timer = None
        self._config_screen = None
        self._scan = None
        """The latest rows of a scan still running (``ScanPartial``); None once loaded."""
        self._scan_select = ProgressiveSelect()
        self._scan_counts = (0, 0)
        """Captions loaded and in all, as last reported."""
        self._scan_filtered: tuple[int, int] | None = None
        """While scanning with a filter: (images shown, images loaded)."""

    @property
    def dataset(self) -> Dataset | None:
        return self.state.dataset

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield SubsetList(id="subsets")
            with Vertical(id="center"):
                yield FilterInput(placeholder="/ filter: red_hair  1girl -solo  hat | cap  tags<5  no-caption",
                                  id="filter", compact=True)
                yield Static("", id="filter-error", markup=False)
                yield ImageList(id="images")
            with Vertical(id="right"):
                yield Preview(self.state.images_mode, self.thumbs, id="preview")
                yield CaptionEditor(self.state.vocabulary, id="caption")
            yield TagPanel(id="tagpanel")
        yield StatusBar(id="status")
        yield Footer(id="footer")

    def on_mount(self) -> None:
        lst = self.query_one(ImageList)
        lst.loading = True
        # called at once, not by message: the preview and caption repaint in the cursor's own frame
        lst.on_cursor = self.show_image
        self.status(message=f"scanning {self.state.root} …")
        self._apply_width(self.size.width)

    # --- layout --------------------------------------------------------------------------------
    def on_resize(self, event) -> None:
        self._apply_width(event.size.width)

    def _apply_width(self, width: int) -> None:
        narrow = 0 < width < NARROW
        self.set_class(narrow, "-narrow")
        # 80 columns: c/h/q/? stay visible (? lists every key)
        self.fit_footer(width, NARROW)
        if self.is_mounted:
            self.status(filters=self.active_filters())

    def action_toggle_subsets(self) -> None:
        self.toggle_class("-subsets")
        if self.subsets_pane_shown():
            self.query_one(SubsetList).focus()
        elif self.query_one(SubsetList).has_focus:
            self.query_one(ImageList).focus()
        self.status(filters=self.active_filters())

    # --- loading -------------------------------------------------------------------------------
    def on_dataset_loaded(self, event: DatasetLoaded) -> None:
        ds = event.dataset
        self.load_seconds = event.seconds
        self._scan = None
        self._scan_select = ProgressiveSelect()  # its slice indexes are not needed any more
        self.query_one(ImageList).dataset = ds
        self.query_one(SubsetList).show(ds)
        self.query_one(ImageList).loading = False
        self.status(message="", root=ds.root, total=len(ds.images), journal=event.journal,
                    read_only=bool(self.state.read_only))
        self.apply_view()
        self.query_one(ImageList).focus()

    def on_scan_progress(self, event: ScanProgress) -> None:
        if self.dataset is None:
            self._scan_counts = (event.done, event.total)
            self.status(message=self._scanning_message())

    def _scanning_message(self) -> str:
        done, total = self._scan_counts
        text = f"scanning {done:,} / {total:,} captions …"
        if self._scan_filtered is not None:
            shown, loaded = self._scan_filtered
            text += f"  │  filter: {shown:,} of the {loaded:,} images loaded so far"
        return text

    def on_scan_rows(self, event: ScanRows) -> None:
        """Rows while the scan runs, in name order: the cursor, selection and filter work on what
        is loaded (the filter on the images whose captions are read).

        Edits, sorting and subsets wait for the finished scan (``refuse_while_scanning``): tag
        operations on half-loaded captions could plan from captions not read yet."""
        if self.dataset is not None:
            return
        p = self._scan = event.partial
        lst = self.query_one(ImageList)
        if not isinstance(lst.dataset, ScanView):
            lst.dataset = ScanView(self.state.root, p.subsets, p.images)
            lst.loading = False
            self._show_scan_rows()
            lst.focus()
        else:
            lst.dataset.subsets = p.subsets  # folders without images are dropped after the walk
            self._show_scan_rows()

    def _show_scan_rows(self) -> bool:
        """The rows of the scan so far, through the filter when one is typed; False (and the
        message under the box) when the query does not parse."""
        p = self._scan
        if p is None:
            return False
        lst = self.query_one(ImageList)
        if not self.query_text.strip():
            rows: list[int] | range = range(len(p.images))
        elif p.walking:
            rows = []  # folders still being listed: subset numbers may change, captions are not read
        else:
            try:
                rows = self._scan_select.select(self.query_text, p.subsets, p.images, p.ready)
            except QueryError as e:
                self.show_query_error(str(e))
                return False
        self.show_query_error("")
        if rows != lst.rows:
            lst.set_rows(rows)
        else:
            lst.refresh()
        self._scan_filtered = (len(rows), p.ready) if self.query_text.strip() else None
        if p.captions_total:
            self._scan_counts = max(self._scan_counts, (p.captions_done, p.captions_total))
        self.status(total=len(p.images), shown=len(rows), filters=self.active_filters(),
                    message=self._scanning_message() if self._scan_counts[1] else f"scanning {self.state.root} …")
        return True

    def on_dataset_failed(self, event: DatasetFailed) -> None:
        self.query_one(ImageList).loading = False
        self.status(message=event.error)

    # --- the view: subset + query + sort ---------------------------------------------------------
    def apply_view(self, keep_selection: bool = True) -> bool:
        """Recompute the rows; False (and a message) when the query does not parse."""
        ds = self.dataset
        if ds is None:
            return False
        base = ds.subsets[self.subset].image_ids if self.subset is not None else None
        if self.pinned is not None:
            inside = set(base) if base is not None else None
            base = [i for i in self.pinned if i < len(ds.images) and (inside is None or i in inside)]
        if not ds.lock.acquire(blocking=False):
            # the writer holds the dataset for a big edit: say so instead of freezing the UI
            self._view_stale = True
            self.notify("busy with the last edit; the list follows when it is done", timeout=2)
            return False
        try:
            ids = ds.select(self.query_text, base)
        except QueryError as e:
            self.show_query_error(str(e))
            return False
        finally:
            ds.lock.release()
        self._view_stale = False
        self._shown_generation = ds.generation
        self.show_query_error("")
        ids = self.sorted_ids(ids)
        lst = self.query_one(ImageList)
        if not keep_selection:
            lst.selected.clear()
        lst.set_rows(ids)
        self.status(shown=len(ids), selected=len(lst.selected), filters=self.active_filters())
        if not ids:
            self.show_image(None)
        return True

    def subsets_pane_shown(self) -> bool:
        return self.has_class("-narrow") == self.has_class("-subsets")

    def active_filters(self) -> str:
        """The status bar's account of what narrows the list (a hidden subset pane still filters)."""
        ds = self.dataset
        out = []
        if ds is not None and self.subset is not None and self.subset < len(ds.subsets):
            hidden = "" if self.subsets_pane_shown() else " (pane hidden: b)"
            out.append(f"subset {ds.subsets[self.subset].path}{hidden}")
        if self.query_text.strip():
            out.append(f"filter {self.query_text.strip()}")
        if self.pinned is not None:
            out.append(f"{len(self.pinned):,} images of a finding")
        return "; ".join(out)

    def sorted_ids(self, ids: list[int]) -> list[int]:
        ds = self.dataset
        if self.sort_mode == "tags":
            return sorted(ids, key=lambda i: -len(ds.images[i].tags))
        if self.sort_mode == "modified":
            if not self._times_known:
                self._read_file_times()
                return ids  # re-sorted when the file times are in

            def mtime(i):
                st = ds.images[i]._stat
                return -(st.st_mtime if st else 0)
            return sorted(ids, key=mtime)
        return ids

    @work(thread=True, exclusive=True, group="file-times")
    def _read_file_times(self) -> None:
        """stat() every image once (100k files take a while): off the UI thread."""
        ds = self.dataset
        worker = get_current_worker()
        for e in list(ds.images):
            if worker.is_cancelled:
                return
            ds.image_stat(e)
        self.app.call_from_thread(self._file_times_read)

    def _file_times_read(self) -> None:
        self._times_known = True
        if self.sort_mode == "modified":
            self.apply_view()

    def set_query(self, text: str) -> None:
        self.pinned = None
        self.query_text = text
        filt = self.query_one("#filter", FilterInput)
        with filt.prevent(Input.Changed):
            filt.value = text
        self.apply_view()

    def on_show_images(self, event: ShowImages) -> None:
        self.show_images(event.image_ids, event.title)

    def show_images(self, ids: list[int], title: str) -> None:
        """Show just these images (a health finding's), until the filter is changed or cleared."""
        self.set_query("")
        self.pinned = list(ids)
        self.apply_view(keep_selection=False)
        self.query_one(ImageList).focus()
        self.notify(f"showing {len(ids):,} image(s): {title}; change or clear the filter to see all", timeout=6)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.pinned = None
        self.query_text = event.value
        if self.apply_view() or (self.dataset is None and self._show_scan_rows()):
            self.query_one(ImageList).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        # filter as you type, but only when the text parses (half-typed queries are common)
        self.query_text = event.value
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(0.15, self._filter_as_typed)

    def _filter_as_typed(self) -> None:
        from loratui.dataset import parse_query

        try:
            parse_query(self.query_text)
        except QueryError as e:
            # half-typed queries are common: say what is wrong (as the CLI does), keep the list
            self.show_query_error(str(e))
            return
        if self.dataset is None:
            self._show_scan_rows()
            return
        self.apply_view()

    def refuse_while_scanning(self) -> bool:
        """True (and a message) while the dataset is still opening: rows are shown as they load,
        but edits, tag operations and checks wait for the finished scan (they would plan from
        captions not read yet)."""
        if self.dataset is not None:
            return False
        self.notify("still scanning the dataset; edits and checks are possible when it is loaded",
                    severity="warning", timeout=3)
        return True

    def show_query_error(self, error: str) -> None:
        """The query's parse error inline under the box, worded as the CLI words it ("" hides it)."""
        self.query_one("#filter", FilterInput).set_class(bool(error), "-error")
        line = self.query_one("#filter-error", Static)
        line.update(f"--where: {error} (the list still shows the last valid filter)" if error else "")
        line.set_class(bool(error), "-shown")

    def on_subset_list_chosen(self, event: SubsetList.Chosen) -> None:
        if event.subset != self.subset:
            self.subset = event.subset
            self.apply_view()

    def action_sort(self) -> None:
        self.sort_mode = SORTS[(SORTS.index(self.sort_mode) + 1) % len(SORTS)]
        self.status(sort=self.sort_mode)
        self.apply_view()
        self.app.remember(sort=self.sort_mode)

    # --- cursor and selection -------------------------------------------------------------------
    def on_virtual_list_cursor_moved(self, event) -> None:
        if isinstance(event.list, ImageList):
            self.show_image(event.key)

    def on_virtual_list_selection_changed(self, event) -> None:
        if isinstance(event.list, ImageList):
            self.status(selected=len(event.list.selected))
            self._update_tag_panel()

    # --- the all-tags panel (p) ------------------------------------------------------------------
    def panel_targets(self) -> list[int]:
        """What a panel toggle acts on: the selected images, else the image under the cursor."""
        lst = self.query_one(ImageList)
        if lst.selected:
            return sorted(lst.selected)
        key = lst.cursor_key
        return [] if key is None else [key]

    def _update_tag_panel(self) -> None:
        if self.dataset is None or not self.has_class("-tagpanel"):
            return
        panel = self.query_one(TagPanel)
        ids = self.panel_targets()
        key = (self.dataset.generation, len(ids), sum(ids), ids[0] if ids else None, ids[-1] if ids else None)
        if key == panel._targets_key:
            return  # the cursor moved inside a selection: same targets, nothing to recount
        tag_lists = [self.dataset.images[i].tags for i in ids]
        panel.add_new_tags(t for tags in tag_lists for t in tags)
        panel.set_targets(tag_lists, key)

    def action_tag_panel(self) -> None:
        """Show the all-tags panel and focus it, or hide it (p again, from the images or caption;
        inside the panel letters narrow the list and Esc comes back)."""
        panel = self.query_one(TagPanel)
        if not self.has_class("-tagpanel"):
            self.add_class("-tagpanel")
            panel.show(self.dataset)
            self._update_tag_panel()
            panel.list.focus()
        else:
            self.remove_class("-tagpanel")
            if panel.list.has_focus:
                self.query_one(ImageList).focus()

    @on(TagPanel.Leave)
    def _panel_leave(self) -> None:
        self.query_one(ImageList).focus()

    @on(TagPanel.Toggle)
    def _panel_toggle(self, event: TagPanel.Toggle) -> None:
        ds = self.dataset
        ids = self.panel_targets()
        if ds is None or not ids or self.refuse_if_read_only():
            return
        tag = event.tag
        have = sum(1 for i in ids if tag in ds.images[i].tags or tag in {bare_tag(t) for t in ds.images[i].tags})
        op = RemoveTags([tag]) if have == len(ids) else AddTags([tag])
        where = "this image" if len(ids) == 1 else f"{len(ids):,} selected images"
        label = f"{'remove' if have == len(ids) else 'add'} `{tag}` ({where})"
        self.submit_edit(label, lambda: ds.run(op, ids), refilter=False, quiet=len(ids) == 1)

    def show_image(self, image_id: int | None) -> None:
        ds = self.dataset
        editor = self.query_one(CaptionEditor)
        preview = self.query_one(Preview)
        if ds is None or image_id is None:
            editor.tag_list.confidence = {}
            editor.load(None, [], set(), title="Caption")
            preview.show(None, None)
            return
        e = ds.images[image_id]
        state = {"missing": " (no caption file)", "empty": " (empty)", "unreadable": " (unreadable!)",
                 "encoding": " (unreadable encoding!)"}.get(e.state, "")
        if e.changed_outside:
            state += " (changed outside)"
        editor.tag_list.confidence = self.state.confidences.get(ds, image_id)
        why = ""
        file_read_only = None
        if e.editable and not self.state.read_only and e.has_caption:
            from loratui.dataset.caption_file import read_only_reason

            file_read_only = read_only_reason(ds.abspath(e.caption_path))  # one stat: the write's own rule
        if self.state.read_only:
            why = self.state.read_only_message()
        elif file_read_only:
            why = f"{e.caption_path} {file_read_only}"
        elif not e.editable:
            why = next((f"{p.path}: {p.message}" for p in ds.problems if p.path == e.caption_path),
                       f"{e.caption_path}: cannot be read")
        editor.load(image_id, e.tags, self.state.trigger_tags(), editable=e.editable and not (self.state.read_only or file_read_only),
                    title=f"Caption{state}", why_not=why, read_only=bool(self.state.read_only or file_read_only))
        lst = self.query_one(ImageList)
        at = lst.cursor if lst.cursor_key == image_id else -1
        near = [lst.rows[i] for i in (at + 1, at - 1) if at >= 0 and 0 <= i < len(lst.rows)]
        preview.show(image_id, ds.abspath(e.path), e.path,
                     prefetch=[ds.abspath(ds.images[k].path) for k in near if k < len(ds.images)])
        self._update_tag_panel()

    # --- edits (all go through the app's writer thread) -----------------------------------------
    def on_caption_editor_tags_edited(self, event: CaptionEditor.TagsEdited) -> None:
        ds = self.dataset
        if ds is None:
            return
        image_id, tags, label = event.image_id, event.tags, event.label
        self.submit_edit(label, lambda: ds.set_tags(image_id, tags, label), refilter=False, quiet=True)

    def edit_queued(self) -> None:
        self.status(pending=self.app.edits.pending)

    def show_busy(self, text: str) -> None:
        self.status(message=text)

    def on_edit_done(self, event: EditDone) -> None:
        """An edit this screen asked for is written (the message goes on to the app, which reports it)."""
        outcome = event.outcome
        self.status(pending=self.app.edits.pending, journal=outcome.journal)
        if self.dataset is not None and self.app.edits.pending == 0:
            if outcome.label == "refresh" or isinstance(outcome.result, dict):  # a rescan (exclude, restore)
                self._times_known = False
                self.query_one(SubsetList).show(self.dataset)
                self.status(total=len(self.dataset.images))
            if outcome.refilter or self._view_stale:
                self.apply_view()
            lst = self.query_one(ImageList)
            lst.refresh()
            self.show_image(lst.cursor_key)

    def action_undo(self) -> None:
        if not self.refuse_while_scanning() and not self.refuse_if_read_only():
            self.submit_edit("undo", self.dataset.undo)

    def action_redo(self) -> None:
        if not self.refuse_while_scanning() and not self.refuse_if_read_only():
            self.submit_edit("redo", self.dataset.redo)

    def action_refresh(self) -> None:
        if self.dataset is not None:
            self.submit_edit("refresh", self.dataset.refresh, writes=False)

    def action_add_tag(self) -> None:
        """Add to the caption being edited, or to every selected image (with a preview)."""
        if self.refuse_while_scanning() or self.refuse_if_read_only():
            return
        lst = self.query_one(ImageList)
        if len(lst.selected) <= 1 or self.focused is not lst:
            self.query_one(CaptionEditor).start_add()
            return
        ids = sorted(lst.selected)

        def done(text: str | None) -> None:
            if text:
                try:
                    op = AddTags(text.split(","))
                except ValueError as e:
                    self.notify(str(e), severity="error")
                    return
                self.preview_and_apply(op, ids)

        self.app.push_screen(PromptScreen(f"Add a tag to the {len(ids):,} selected images:", "",
                                          TagSuggester(self.state.vocabulary)), done)

    def target_ids(self) -> list[int]:
        """The images a bulk edit from the list acts on: the selection, else every image shown."""
        lst = self.query_one(ImageList)
        return sorted(lst.selected) if lst.selected else list(lst.rows)

    def action_remove_from_selection(self) -> None:
        """Remove a tag from the selected images (with a preview); suggestions are their own tags."""
        lst = self.query_one(ImageList)
        ds = self.dataset
        if self.refuse_while_scanning() or self.refuse_if_read_only():
            return
        if not lst.selected:
            self.notify("select images first (Space, Shift+↓, Ctrl+A); `d` in the caption deletes one tag",
                        timeout=4)
            return
        ids = sorted(lst.selected)

        def done(text: str | None) -> None:
            wanted = [t.strip() for t in (text or "").split(",") if t.strip()]
            if wanted:
                self.preview_and_apply(RemoveTags(wanted), ids)

        from loratui.tui.services.tag_vocabulary import TagVocabulary

        present = TagVocabulary.of_images(ds, ids)
        self.app.push_screen(PromptScreen(f"Remove a tag from the {len(ids):,} selected images:", "",
                                          TagSuggester(present)), done)

    def action_dedupe(self) -> None:
        """Remove repeated tags (``red_hair``/``red hair``, ``(smile:1.2)``/``smile``) with a preview."""
        if not self.refuse_while_scanning():
            self.preview_and_apply(Dedupe(), self.target_ids())

    # --- navigation -----------------------------------------------------------------------------
    def action_focus_filter(self) -> None:
        self.query_one("#filter", FilterInput).focus()

    def action_focus_caption(self) -> None:
        self.query_one(TagList).focus()

    def tag_scope(self) -> tuple[list[int] | None, str]:
        """What the tag view counts: the selection, else the list as filtered (subset, query, a
        finding's images), else None (the whole dataset)."""
        lst = self.query_one(ImageList)
        if lst.selected:
            return sorted(lst.selected), "the selection"
        filters = self.active_filters()
        if filters:
            return list(lst.rows), filters.replace(" (pane hidden: b)", "")
        return None, ""

    def action_tag_view(self) -> None:
        if self.dataset is not None:
            from loratui.tui.screens.tag_frequency import TagFrequencyScreen

            def show(query: str | None) -> None:
                if query is not None:
                    self.set_query(query)

            ids, label = self.tag_scope()
            self.app.push_screen(TagFrequencyScreen(ids, label), show)

    def status(self, **changes) -> None:
        self.query_one(StatusBar).set(**changes)

    def palette_commands(self):
        yield "Images: filter", "Focus the query box (red_hair, 1girl -solo, hat | cap, tags<5, no-caption)", self.action_focus_filter
        yield "Images: clear filter", "Show every image of the subset", lambda: self.set_query("")
        yield "Images: sort by name / tag count / modified", "Cycle the image list order", self.action_sort
        yield "Images: select all shown", "Select every image the filter shows", lambda: self.query_one(ImageList).action_select_all()
        yield "Images: clear selection", "Unselect every image", self._clear_selection
        yield "Images: add a tag to the selection", "Add a tag to the selected images (with a preview)", self._add_to_selection
        yield "Images: remove a tag from the selection", "Remove a tag from the selected images (d, with a preview)", self.action_remove_from_selection
        yield "Images: remove duplicate tags", "Dedupe the selection (or every image shown): red_hair = red hair, (smile:1.2) = smile (D)", self.action_dedupe
        yield "Images: show subsets pane", "Toggle the subset list (hidden in narrow terminals)", self.action_toggle_subsets
        yield "Caption: add tag", "Add a tag to the current image (autocomplete)", self.action_add_tag
        yield ("Tags: style of typed tags", "Cycle auto / spaces / underscores / off: red_hair typed in a "
               "dataset written with spaces becomes red hair", self.cycle_tag_style)
        yield "Caption: edit tag", "Edit the tag under the cursor in place", lambda: self.query_one(CaptionEditor).start_edit()
        yield "Caption: delete tag", "Delete the tag under the cursor", lambda: self.query_one(CaptionEditor).remove_current()
        yield "Caption: move tag up", "Move the tag under the cursor up", lambda: self.query_one(CaptionEditor).move_current(-1)
        yield "Caption: move tag down", "Move the tag under the cursor down", lambda: self.query_one(CaptionEditor).move_current(1)
        yield "Caption: move tag to front", "Move the tag under the cursor to the front", lambda: self.query_one(CaptionEditor).move_current_to_front()
        yield "Edit: undo", "Undo the last edit (journaled on disk)", self.action_undo
        yield "Edit: redo", "Redo the last undone edit", self.action_redo
        yield "Dataset: reload from disk", "Pick up files added, removed or changed outside loratui", self.action_refresh
        yield "Dataset: tag frequencies", "Every tag with its count; bulk rename, merge, remove", self.action_tag_view
        yield "Dataset: auto-tag (WD14)", "Tag images with a WD14 tagger: thresholds, modes, presets", self.action_auto_tag
        yield "Training: configuration", "Presets, validated form, step math, kohya import/export", self.action_training_config
        yield "Dataset: health check", "Duplicates, tiny images, caption problems, trigger word, framing mix", self.action_health
        yield "Training: runs", "Every training run of this dataset: state, attach to the live monitor", self.action_runs
        yield "LoRA: inspect a file", "Format, ranks, alphas and training settings of a .safetensors LoRA", self.action_inspect_lora

    def cycle_tag_style(self) -> None:
        from loratui.tui.services.settings import TAG_STYLES

        vocab = self.state.vocabulary
        vocab.style_setting = TAG_STYLES[(TAG_STYLES.index(vocab.style_setting) + 1) % len(TAG_STYLES)] \
            if vocab.style_setting in TAG_STYLES else "auto"
        self.app.remember(tag_style=vocab.style_setting)
        now = vocab.style()
        self.notify(f"typed tags: {vocab.style_setting}"
                    + (f" (this dataset: {now})" if vocab.style_setting == "auto" else ""), timeout=4)

    def action_auto_tag(self) -> None:
        if self.refuse_while_scanning() or self.refuse_if_read_only():
            return
        from loratui.tui.dialogs.tagging import TaggingDialog

        lst = self.query_one(ImageList)
        self.app.push_screen(TaggingDialog(self.dataset, ids_filtered=list(lst.rows),
                                           ids_selected=[k for k in lst.rows if k in lst.selected],
                                           options=self.state.last_tagging, filter_text=self.query_text))

    def action_training_config(self) -> None:
        from loratui.config import ConfigError, TrainConfig, new_config
        from loratui.tui.screens.config import ConfigScreen

        st = self.state
        own = st.own_config_path(TRAIN_CONFIG)
        if st.training_config is None and os.path.isfile(own):
            # the dataset's own config (the demo ships one): open it, errors are shown by the form
            try:
                st.training_config, st.training_config_path = TrainConfig.load(own), own
            except ConfigError as e:
                self.notify(f"{own}: {e}", severity="warning", timeout=10)
        if st.training_config is None and self.dataset is not None:
            preset = "character" if any(s.class_tokens for s in self.dataset.subsets) else "style"
            try:
                st.training_config = new_config(self.dataset.root, preset)
            except Exception as e:  # a dataset the preset cannot describe: start from an empty form
                self.notify(f"could not prefill the config from this dataset: {e}", severity="warning")
        self._config_screen = ConfigScreen(st.training_config, st.training_config_path,
                                           dirty=st.training_config_dirty)
        self.app.push_screen(self._config_screen)

    def on_screen_resume(self) -> None:
        # coming back from the config screen: keep its edits for the next visit (saved or not)
        screen = self._config_screen
        if screen is not None:
            self.state.training_config, self.state.training_config_path = screen.config, screen.path
            self.state.training_config_dirty = screen.dirty
            self._config_screen = None
        # edits made on other screens (health fixes, the tag view): the list follows
        ds = self.dataset
        if ds is not None and ds.generation != self._shown_generation and self.app.edits.pending == 0:
            self.apply_view()
            self.query_one(SubsetList).show(ds)
            self.status(total=len(ds.images), journal=self.state.journal)
            lst = self.query_one(ImageList)
            lst.refresh()
            self.show_image(lst.cursor_key)

    def action_runs(self) -> None:
        from loratui.tui.screens.monitor import RunsScreen

        self.app.push_screen(RunsScreen(self.state.runs_roots(), monitor_kw={"images": self.state.images_mode}))

    def action_toggle_mask(self) -> None:
        """Show the current image's loss mask (alpha channel or NAME.mask.png), or the image again."""
        on = self.query_one(Preview).toggle_mask()
        self.notify("preview: loss mask (white = trained, black = ignored)" if on else "preview: image", timeout=3)

    def action_health(self) -> None:
        if self.refuse_while_scanning():
            return
        from loratui.tui.screens.health import HealthScreen

        screen = HealthScreen(None)
        self.app.push_screen(screen)
        self.app.run_health_check(screen)

    def action_inspect_lora(self) -> None:
        from loratui.tui.screens.inspector import InspectorScreen

        self.app.push_screen(InspectorScreen(None))

    def _clear_selection(self) -> None:
        lst = self.query_one(ImageList)
        lst.selected.clear()
        lst.refresh()
        self.status(selected=0)

    def _add_to_selection(self) -> None:
        self.query_one(ImageList).focus()
        self.action_add_tag()
