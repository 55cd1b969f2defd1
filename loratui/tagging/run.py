"""A tagging run over a dataset: the API the CLI (`loratui tag`) and the TUI's tagging dialog share.

One run = one journal entry. The model's output for every image is kept in the probability cache
as soon as its batch finishes; captions are written in one journaled ``Dataset.apply`` when the run
ends, is cancelled, or is interrupted with Ctrl+C. So one undo reverts a whole run, and a run that
was killed outright (SIGKILL, power loss) loses no model work: running it again reads the kept
probabilities back instead of re-running the model, and only writes. Selection and merging are
idempotent, so re-running any mode never changes a caption it already wrote.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from loratui.dataset import ApplyResult, Dataset, FileChange, Operation, Plan, Problem
from loratui.dataset.report import ERROR, WARNING

from .cache import ProbCache, remember_labels, stored_form
from .labels import LabelsError, load_labels
from .models import ModelError, resolve_model
from .options import MODE_HELP, MODES, PRESETS, Preset, TaggingOptions, apply_preset  # noqa: F401 (re-exported)
from .select import merge_tags, select_tags


@dataclass
class TaggingProgress:
    phase: str
    """loading | tagging | writing | done"""
    done: int
    """Images handled (tagged from the model or the cache, or failed)."""
    total: int
    """Images to handle in this run (after skipping captioned ones in skip mode)."""
    failed: int = 0
    elapsed: float = 0.0
    device: str = ""
    """CUDA | CPU | "" before the model is loaded (or when everything came from the cache)."""

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        r = self.rate
        return (self.total - self.done) / r if r > 0 else None


@dataclass
class TaggingSummary:
    model: str
    mode: str
    device: str = ""
    selected: int = 0
    """Images in the selection."""
    tagged: int = 0
    """Caption files written."""
    unchanged: int = 0
    """Images whose caption already equalled the result (e.g. a resumed run)."""
    skipped_captioned: int = 0
    """Images left alone because they already had tags (skip mode)."""
    failed: list[Problem] = field(default_factory=list)
    """Images not tagged: corrupt, truncated, empty, too large, unreadable caption, shared caption."""
    refused: list[Problem] = field(default_factory=list)
    """Caption writes refused by the dataset core (changed on disk meanwhile, read-only)."""
    cancelled: bool = False
    inferred: int = 0
    """Images run through the model."""
    from_cache: int = 0
    """Images whose probabilities came from the cache."""
    new_tags: Counter = field(default_factory=Counter)
    """Tags added, with how many captions gained each."""
    elapsed: float = 0.0
    result: ApplyResult | None = None
    """The journaled write (``result.image_ids``: images whose tags changed, for incremental UI updates)."""

    @property
    def images_per_s(self) -> float:
        n = self.inferred + self.from_cache
        return n / self.elapsed if self.elapsed > 0 else 0.0

    def lines(self, top: int = 10) -> list[str]:
        out = [f"{'stopped' if self.cancelled else 'done'}: {self.tagged:,} caption(s) written, "
               f"{self.unchanged:,} unchanged, {self.skipped_captioned:,} skipped (already tagged), "
               f"{len(self.failed):,} failed"
               + (f", {len(self.refused):,} refused" if self.refused else "")]
        out.append(f"model {self.model} on {self.device or 'cache only'}: {self.inferred:,} image(s) run, "
                   f"{self.from_cache:,} from kept probabilities, {self.elapsed:.1f}s "
                   f"({self.images_per_s:.1f} images/s)")
        if self.new_tags:
            out.append("top new tags: " + ", ".join(f"{t} ({n})" for t, n in self.new_tags.most_common(top)))
        return out


class AutoTag(Operation):
    """The journaled write of a tagging run: each caption gets its precomputed new tags.

    ``new_tags`` maps caption path -> the tags planned for it. ``Dataset.apply`` recomputes each
    change on the caption's current tags through ``run_for``, so a caption edited by hand between
    planning and writing is merged again with the model's tags (same rules as the run's mode).
    """

    name = "auto-tag"
    creates_captions = True

    def __init__(self, description: str, new_tags: dict[str, list[str]],
                 merge: Callable[[list[str]], list[str]] | None = None):
        self.description = description
        self._new = new_tags
        self._merge = merge

    def run(self, tags, notes):
        raise TypeError("auto-tag needs the image: Dataset calls run_for")

    def run_for(self, entry, tags, notes):
        planned = self._new.get(entry.caption_path)
        if planned is None:
            return tags
        if self._merge is None or tags == planned:
            return list(planned)
        return self._merge(entry, tags)

    def describe(self):
        return self.description


ProgressCallback = Callable[[TaggingProgress], None]


def run_tagging(ds: Dataset, options: TaggingOptions, ids: Sequence[int] | None = None,
                progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                tagger=None, progress_interval: float = 0.1) -> TaggingSummary:
    """Tag images ``ids`` of ``ds`` (all when None) and write their captions as one journaled edit.

    Blocking; meant for a thread worker (it never touches any UI). ``progress`` is called from this
    thread: at each phase change (loading, tagging, writing, done) and at most once per
    ``progress_interval`` seconds while tagging. Setting ``cancel`` (or Ctrl+C when run in the main
    thread) stops the model and writes what was tagged so far, as one journal entry marked
    "[stopped after N of M]"; calling again with the same options continues (captions already
    written are skipped or rewritten identically, kept probabilities are reused).

    ``ds.lock`` is held only while taking the work list and while writing. Hand edits made during
    the run win in skip mode; append merges into the caption as it is at write time.

    Raises ``ModelError`` when the model cannot be found or loaded (nothing is written) and
    ``ValueError`` for invalid options. ``tagger``: an already loaded ``Tagger`` to reuse.
    The returned summary's ``result.image_ids`` are the images whose tags changed.
    """
    options.validate()
    t0 = time.monotonic()
    files = tagger.files if tagger is not None else resolve_model(options.model, options.model_dir)
    try:
        labels = tagger.labels if tagger is not None else load_labels(files.labels_path)
    except LabelsError as e:
        raise ModelError(str(e)) from None
    summary = TaggingSummary(files.name, options.mode)
    model_key = files.key()
    sel = options.select

    # 1. what to do, from a snapshot taken under the lock (released during inference)
    todo: list[str] = []
    with ds.lock:
        ids = list(ds.all_ids() if ids is None else ids)
        summary.selected = len(ids)
        seen_caps: dict[str, str] = {}
        for i in ids:
            e = ds.images[i]
            if e.caption_path in seen_caps:
                summary.failed.append(Problem("shared-caption", e.path,
                                              f"shares its caption file with {seen_caps[e.caption_path]}; "
                                              "only that image was tagged", WARNING))
                continue
            seen_caps[e.caption_path] = e.path
            if not e.editable:
                summary.failed.append(Problem(e.state, e.caption_path, "caption unreadable; not tagged", WARNING))
            elif options.mode == "skip" and e.state == "ok":
                summary.skipped_captioned += 1
            else:
                todo.append(e.path)

    total = len(todo)
    state = TaggingProgress("loading", 0, total)
    last_emit = [0.0]

    def emit(phase: str | None = None, force: bool = False) -> None:
        if progress is None:
            return
        now = time.monotonic()
        if phase:
            state.phase = phase
        if force or phase or now - last_emit[0] >= progress_interval:
            last_emit[0] = now
            state.elapsed = now - t0
            state.failed = len(summary.failed)
            progress(replace(state))

    # 2. probabilities: kept ones first, the model for the rest
    predicted: dict[str, list[str]] = {}
    cache = ProbCache(ds.root) if (options.keep_probs or options.use_cache) else None
    try:
        if options.keep_probs:
            try:
                remember_labels(ds.root, model_key, files.labels_path)
            except OSError:
                pass  # read-only dataset: confidences just stay unknown
        need: list[str] = []
        for rel in todo:
            p = cache.get(model_key, rel, len(labels)) if (cache is not None and options.use_cache) else None
            if p is None:
                need.append(rel)
            else:
                predicted[rel] = [t for t, _ in select_tags(p, labels, sel)]
                summary.from_cache += 1
        state.done = summary.from_cache
        emit("loading" if need else "tagging")
        if need and not (cancel is not None and cancel.is_set()):
            _infer(ds, need, files, labels, options, tagger, cache, model_key, predicted, summary, state, emit, cancel)
        if cancel is not None and cancel.is_set():
            summary.cancelled = True
        emit(force=True)  # the last tagging figures, whatever the throttle skipped
    except KeyboardInterrupt:
        # Ctrl+C (or SIGTERM/SIGHUP in the CLI): keep what is done, write it below
        summary.cancelled = True
    finally:
        if cache is not None:
            cache.close()

    # 3. one journaled write for the whole run
    emit("writing")
    _write(ds, predicted, options, summary, model_name=files.name, planned=total, stopped=summary.cancelled)
    summary.elapsed = time.monotonic() - t0
    state.done = summary.inferred + summary.from_cache + sum(1 for p in summary.failed if p.kind == "image")
    emit("done", force=True)
    return summary


def _infer(ds, need, files, labels, options, tagger, cache, model_key, predicted, summary, state, emit,
           cancel) -> None:
    """Run the model over ``need``; fills ``predicted`` batch by batch (so an interruption keeps them)."""
    from .pipeline import predict
    from .session import Tagger

    if tagger is None:
        tagger = Tagger.load(files, batch=options.batch, require_gpu=options.require_gpu)
    summary.device = state.device = tagger.device
    emit("tagging")
    paths = [(k, ds.abspath(rel)) for k, rel in enumerate(need)]
    for done, skipped in predict(paths, tagger.run, tagger.size, tagger.batch_size, options.workers,
                                 cancel, options.max_pixels, options.fast_decode):
        kept = []
        for k, probs in done:
            p = stored_form(probs)
            predicted[need[k]] = [t for t, _ in select_tags(p, labels, options.select)]
            kept.append((need[k], p))
        for k, why in skipped:
            summary.failed.append(Problem("image", need[k], why, ERROR))
        summary.inferred += len(done)
        if cache is not None and options.keep_probs and kept:
            cache.put_many(model_key, kept)
        state.done += len(done) + len(skipped)
        emit()


def _write(ds: Dataset, predicted: dict[str, list[str]], options: TaggingOptions, summary: TaggingSummary,
           model_name: str, planned: int, stopped: bool) -> None:
    if not predicted:
        return
    sel = options.select
    what = f"auto-tag {len(predicted):,} image(s) with {model_name} ({options.mode}"
    what += f", general>{'mcut' if sel.general_mcut else sel.general_threshold}"
    what += f", character>{'mcut' if sel.character_mcut else sel.character_threshold})"
    if stopped:
        what += f" [stopped after {len(predicted):,} of {planned:,}]"
    with ds.lock:
        by_path = {e.path: e for e in ds.images}
        changes: list[FileChange] = []
        planned: dict[str, list[str]] = {}
        predicted_by_caption: dict[str, list[str]] = {}
        unchanged = 0
        for rel, tags in predicted.items():
            e = by_path.get(rel)
            if e is None:
                summary.failed.append(Problem("image", rel, "image gone since the run started", WARNING))
                continue
            if not e.editable:
                summary.refused.append(Problem(e.state, e.caption_path, "caption became unreadable", ERROR))
                continue
            if options.mode == "skip" and e.state == "ok":
                unchanged += 1  # tagged by hand while the model ran: theirs wins
                continue
            new = merge_tags(e.tags, tags, options.mode, sel.always_first)
            if new == e.tags and e.state != "missing":
                unchanged += 1
                continue
            if not new and e.state == "missing":
                unchanged += 1
                continue
            changes.append(FileChange(e.caption_path, ds.images_sharing_caption(e), list(e.tags), new,
                                      create=e.state == "missing"))
            planned[e.caption_path] = new
            predicted_by_caption[e.caption_path] = tags

        def remerge(entry, current, _p=predicted_by_caption):
            # the caption changed between planning and writing: merge the model's tags into it
            if options.mode == "skip" and entry.state == "ok":
                return current
            return merge_tags(current, _p[entry.caption_path], options.mode, sel.always_first)

        op = AutoTag(what, planned, remerge)
        plan = Plan(op, len(predicted), changes, Counter())
        result = ds.apply(plan) if changes else None
    summary.unchanged += unchanged
    summary.result = result
    if result is None:
        return
    summary.tagged = len(result.written)
    summary.refused.extend(result.refused)
    written = set(result.written)
    for ch in changes:
        if ch.caption_path in written:
            summary.new_tags.update(ch.added)


def confidences(ds: Dataset, image_id: int, model_key: str | None = None) -> dict[str, float]:
    """Known confidence per tag (keys: ``normalize_tag`` of the tag) for the caption editor."""
    from .cache import tag_confidences

    return tag_confidences(ds.root, ds.images[image_id].path, model_key)


