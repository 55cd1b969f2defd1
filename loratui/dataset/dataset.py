"""A dataset folder in memory: its images, captions, subsets and tag index, and safe edits to it.

Thread-safe: the TUI reads from the UI thread while a worker applies edits. All writes hold
``Dataset.lock`` (in-process) and the journal's file lock (between processes).
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from . import snapshot
from .caption import Caption, parse_caption
from .caption_file import (
    CaptionError,
    CaptionText,
    atomic_write,
    encode_caption,
    read_caption,
    read_only_reason,
    remove_file,
    write_many,
)
from .journal import FileRecord, Journal, JournalError, OpRecord
from .ops import Operation, SetTags
from .query import select as query_select
from .report import ERROR, NOTE, WARNING, Problem
from .scan import STATE_DIR, ImageEntry, Subset, scan
from .tag_index import TagIndex


class DatasetError(Exception):
    """The dataset cannot be opened at all (missing folder, not a folder, unreadable)."""


@dataclass
class FileChange:
    caption_path: str
    image_ids: list[int]
    old: list[str]
    new: list[str]
    create: bool = False

    @property
    def added(self) -> list[str]:
        old = set(self.old)
        return [t for t in self.new if t not in old]

    @property
    def removed(self) -> list[str]:
        new = set(self.new)
        return [t for t in self.old if t not in new]


@dataclass
class Plan:
    """What an operation would change, before anything is written."""

    op: Operation
    selected: int
    changes: list[FileChange]
    notes: Counter
    skipped: list[Problem] = field(default_factory=list)
    refused: list[Problem] = field(default_factory=list)
    """Changes the write will refuse (read-only files), known before Apply."""

    @property
    def files(self) -> int:
        return len(self.changes)

    def summary(self) -> str:
        s = self.op.summarize(len(self.changes), self.notes)
        if self.skipped:
            s += f"; {len(self.skipped):,} skipped (unreadable captions)"
        if self.refused:
            s += f"; {len(self.refused):,} will be refused (read-only)"
        return s


@dataclass
class ApplyResult:
    description: str
    written: list[str] = field(default_factory=list)
    """Caption paths written (relative)."""
    refused: list[Problem] = field(default_factory=list)
    already: int = 0
    """Files that already held the wanted text (undo/redo)."""
    image_ids: set[int] = field(default_factory=set)
    """Images whose tags changed."""

    @property
    def ok(self) -> bool:
        return not self.refused

    def summary(self) -> str:
        s = f"{self.description}: {len(self.written):,} file{'s' if len(self.written) != 1 else ''} written"
        if self.refused:
            s += f", {len(self.refused):,} refused"
        return s


@contextlib.contextmanager
def _no_cyclic_gc():
    """Pause the cyclic garbage collector while a scan builds its objects.

    A scan allocates a few objects per image (entry, caption, tag list) and creates no reference
    cycles, yet each allocation burst triggers collections that walk every object already built:
    on 100k images that was a third of the open time. Reference counting still frees everything.
    Afterwards the new objects go straight to the oldest generation (``gc.freeze`` then
    ``gc.unfreeze``, which moves them without walking them): left in the youngest one, the first
    collection after opening (typically during the first filter typed) walked all of them, half a
    second at 100k images. They stay collectable (a plain ``freeze`` would keep any cyclic garbage
    alive for good: an earlier dataset, in a long-lived process).
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if was:
            gc.enable()


class Dataset:
    """Open with ``Dataset.open(path)``."""

    def __init__(self, root: str, caption_ext: str = ".txt"):
        self.root = os.path.abspath(root)
        self.caption_ext = caption_ext if caption_ext.startswith(".") else "." + caption_ext
        self.state_dir = os.path.join(self.root, STATE_DIR)
        self.journal = Journal(self.state_dir, self.root)
        self.lock = threading.RLock()
        self.subsets: list[Subset] = []
        self.images: list[ImageEntry] = []
        self.problems: list[Problem] = []
        self.recovery: list[Problem] = []
        self.index = TagIndex()
        self.masks: dict[str, str] = {}
        """Image path -> its loss mask's path (``NAME.mask.png``; mask files are not images)."""
        self._by_caption: dict[str, int] = {}
        """Caption path -> the (first) image using it."""
        self._shared_caption: dict[str, list[int]] = {}
        """Caption path -> all its images, only for captions shared by same-stem images."""
        self.generation = 0
        """Bumped on every change of the in-memory state; views compare it to know when to redraw."""

    # --- opening ---------------------------------------------------------------------------------
    @classmethod
    def open(cls, root: str, caption_ext: str = ".txt", progress=None, partial=None) -> "Dataset":
        """Recover any interrupted edit, then scan ``root``. Raises DatasetError if unusable.

        ``progress(done, total)`` is called from the scanning thread as captions are loaded;
        ``partial(ScanPartial)`` too, with the rows so far (see ``scan.ScanPartial``): they are
        for showing only; the dataset can be queried and edited once ``open`` has returned."""
        if not os.path.exists(root):
            raise DatasetError(f"{root}: no such folder")
        if not os.path.isdir(root):
            raise DatasetError(f"{root}: not a folder (give the dataset folder, e.g. the one holding `10_name/`)")
        if not os.access(root, os.R_OK | os.X_OK):
            raise DatasetError(f"{root}: folder cannot be read (permission denied)")
        ds = cls(root, caption_ext)
        ds.recover()
        ds._scan_and_load(progress, partial)
        return ds

    def _scan_and_load(self, progress=None, partial=None) -> None:
        """Scan (captions unchanged since the last snapshot come from it), load, refresh the snapshot."""
        snap = snapshot.load(self.root, self.caption_ext)
        with _no_cyclic_gc():
            result = scan(self.root, self.caption_ext, snap, progress, partial)
            built = self._load(result, snap if result.unchanged else None)
        if snap is None or result.misses or not result.unchanged or result.relisted:
            names, flat, lengths = built
            snapshot.save(self.root, self.caption_ext, self.images, result.keys, names, flat, lengths,
                          result.folders)

    def _load(self, result, snap: snapshot.Snapshot | None = None):
        """Take a scan result in; returns the tag table, flat tag ids and counts of the index build.

        ``snap``: the snapshot every row came from unchanged, whose tag ids are reused as they are.
        """
        with self.lock:
            self.subsets = result.subsets
            self.images = result.images
            self.masks = result.masks
            self.problems = self.recovery + result.problems
            self.index = TagIndex([e.subset for e in self.images], len(self.subsets))
            if snap is not None:
                built = (snap.names, snap.flat_arr, snap.lengths)
                self.index.build_from_ids(*built)
            else:
                built = self.index.build([e.caption.tags if e.caption is not None else [] for e in self.images])
            by_cap: dict[str, int] = {}
            shared: dict[str, list[int]] = {}
            for e in self.images:
                first = by_cap.setdefault(e.caption_path, e.id)
                if first != e.id:
                    shared.setdefault(e.caption_path, [first]).append(e.id)
            self._by_caption = by_cap
            self._shared_caption = shared
            self.generation += 1
        self._clean_stray(result)
        return built

    def _clean_stray(self, result) -> None:
        if result.stray_temp_files and self._writable_state():
            with self.journal.locked():
                for p in result.stray_temp_files:
                    try:
                        os.unlink(p)
                    except OSError:
                        pass

    def _leaves_root(self, rel: str, file: bool = True) -> bool:
        """True when writing caption ``rel`` would land outside the dataset (a symlinked caption or
        folder pointing elsewhere). Folders are resolved once per edit; the file costs one lstat
        (``file=False``: its folder only, for a caller that opens it with O_NOFOLLOW instead)."""
        from .safe_paths import is_inside

        folder = os.path.dirname(rel)
        inside = self._inside_cache.get(folder)
        if inside is None:
            inside = self._inside_cache[folder] = is_inside(self.root, os.path.join(self.root, folder))
        if not inside:
            return True
        if not file:
            return False
        p = self.abspath(rel)
        return os.path.islink(p) and not is_inside(self.root, p)

    def _read_to_replace(self, path: str) -> tuple[CaptionText, bool]:
        """Read a caption about to be replaced, with its digest, without following a symlink
        unvetted: ``(text, linked)``, ``linked`` when it was read through a symlink that stays
        inside the dataset (the write goes through it). Raises CaptionError; kind "outside" for a
        symlink leading out of the dataset."""
        try:
            return read_caption(path, digest=True, follow=False), False
        except CaptionError as e:
            if e.kind != "symlink":
                raise
        from .safe_paths import is_inside

        if not is_inside(self.root, path):
            raise CaptionError(path, "outside", "is a symlink leading outside the dataset")
        return read_caption(path, digest=True), True

    @staticmethod
    def _outside(rel: str) -> Problem:
        return Problem("outside", rel, "is a symlink (or in a symlinked folder) leading outside the dataset; "
                       "loratui does not write there", ERROR)

    def _writable_state(self) -> bool:
        return self.read_only() is None

    def read_only(self) -> str | None:
        """Why this dataset cannot be edited here (read-only mount, a folder the user cannot
        write), or None when it can. Browsing, ``stats`` and ``check`` work either way."""
        try:
            if os.statvfs(self.root).f_flag & os.ST_RDONLY:
                return "it is on a read-only file system"
        except (OSError, AttributeError):
            pass
        if not os.access(self.root, os.W_OK):
            return "you cannot write to its folder"
        return None

    def _refuse_if_read_only(self) -> None:
        why = self.read_only()
        if why is not None:
            raise JournalError(f"{self.root}: this dataset is read-only here ({why}); nothing was changed. "
                               "Browsing, stats and check still work; copy the dataset to edit it")

    def recover(self) -> list[Problem]:
        """Roll back an edit that was interrupted (crash, kill, power loss of the process)."""
        found: list[Problem] = []
        try:
            self.journal.check_folders()
            if not os.path.isdir(self.journal.dir):
                self.recovery = found
                return found
            if not self._writable_state():
                # nothing can be rolled back on a read-only dataset; say so only if something is pending
                if self.journal.read_state()["pending"]:
                    found.append(Problem("journal", ".loratui/journal",
                                         "an interrupted edit is pending, but this dataset is read-only here: "
                                         "it is rolled back the next time the dataset is opened writable", WARNING))
                self.recovery = found
                return found
            with self.journal.locked():
                pending = self.journal.pending()
                if pending is not None:
                    direction, rec = pending
                    if rec is None:
                        found.append(Problem("recovered", ".", "an interrupted edit's journal entry was missing; "
                                             "nothing could be rolled back", WARNING))
                    else:
                        restored, conflicts = self._rollback(direction, rec)
                        found.append(Problem(
                            "recovered", ".",
                            f"an interrupted edit ({direction} of: {rec.description}) was rolled back: "
                            f"{restored} caption file(s) restored"
                            + (f", {len(conflicts)} left as found (changed since)" if conflicts else ""), NOTE))
                        found.extend(conflicts)
                    self.journal.abandon()
                self.journal.collect_garbage()
        except JournalError as e:
            found.append(Problem("journal", ".loratui/journal", self._journal_trouble(e), ERROR))
        except OSError as e:
            found.append(Problem("journal", ".loratui/journal", f"journal not usable: {e}", ERROR))
        self.recovery = found
        return found

    def _journal_trouble(self, e: JournalError) -> str:
        """Message for a journal that cannot be used; a bad one (crafted, corrupt) is set aside so it
        is never replayed and new edits start a fresh history."""
        if not e.bad:
            return f"journal not usable: {e}"
        where = self.journal.set_aside() if self._writable_state() else None
        if where is None:
            return f"journal not usable: {e}; it is ignored (move .loratui/journal away to edit again)"
        return (f"journal not usable: {e}; set aside as {os.path.relpath(where, self.root)} "
                "(not replayed; the edit history starts afresh)")

    def _rollback(self, direction: str, rec: OpRecord) -> tuple[int, list[Problem]]:
        restored = 0
        conflicts: list[Problem] = []
        for f in rec.files:
            # the interrupted transaction was moving each file from `src` to `dst`
            src, dst = (f.after, f.before) if direction == "undo" else (f.before, f.after)
            status = self._move_file(f, want=src, expect_now=dst)
            if status == "written":
                restored += 1
            elif status != "already":
                conflicts.append(Problem("recovered", f.path, status or "not restored", WARNING))
        return restored, conflicts

    def _move_file(self, f: FileRecord, want: str | None, expect_now: str | None) -> str:
        """Make ``f.path`` hold ``want`` if it now holds ``expect_now`` (None: no file).

        Returns "written", "already" (it holds ``want`` already) or a message explaining why the
        file was left as it is (it holds neither text: changed outside loratui, or unreadable).
        """
        path = self.abspath(f.path)
        linked = False  # no file (missing): nothing to write through
        try:
            cur, linked = self._read_to_replace(path)
            current: str | None = cur.text
            fp, digest = cur.fingerprint, cur.digest
        except CaptionError as e:
            if e.kind != "missing":
                return f"{e.message}; left as is"
            current, fp, digest = None, None, None
        if current == want:
            return "already"
        if current != expect_now:
            return "changed outside loratui since this edit; left as is"
        try:
            if want is None:
                remove_file(path, fp)
            else:
                atomic_write(path, encode_caption(want, f.encoding), fp, create=current is None,
                             expect_digest=digest, follow=linked)
        except CaptionError as e:
            return e.message
        return "written"

    # --- reading ---------------------------------------------------------------------------------
    def abspath(self, rel: str) -> str:
        return os.path.join(self.root, rel)

    def all_ids(self) -> range:
        return range(len(self.images))

    def select(self, query: str = "", ids: Sequence[int] | None = None) -> list[int]:
        """Ids matching a tag query (see ``loratui.dataset.query``); raises QueryError."""
        with self.lock:
            return query_select(self, query, ids)

    def images_sharing_caption(self, entry: ImageEntry) -> list[int]:
        return self._shared_caption.get(entry.caption_path) or [entry.id]

    def caption_ids(self, caption_path: str) -> list[int]:
        """Ids of the images whose caption file is ``caption_path`` (usually one)."""
        shared = self._shared_caption.get(caption_path)
        if shared is not None:
            return shared
        first = self._by_caption.get(caption_path)
        return [] if first is None else [first]

    def pixel_size(self, entry: ImageEntry) -> tuple[int, int] | None:
        """Image width and height from its header (cached); None if unreadable."""
        if entry._pixel_size is None:
            from PIL import Image, UnidentifiedImageError  # lazy: scanning never needs Pillow

            try:
                from .training_images import oriented_size

                with Image.open(self.abspath(entry.path)) as im:
                    entry._pixel_size = oriented_size(im)  # as shown and trained (EXIF orientation)
            except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
                entry._pixel_size = (0, 0)
        return None if entry._pixel_size == (0, 0) else entry._pixel_size

    def image_stat(self, entry: ImageEntry) -> os.stat_result | None:
        return entry.stat(self.root)

    def history(self) -> tuple[list[str], int]:
        """Journal descriptions (oldest first) and how many of them are applied."""
        return self.journal.entries()

    def journal_position(self) -> tuple[int, int]:
        """(applied, total) journal entries, without loading every entry; (0, 0) when the journal is
        unreadable (the status bar must not break on a stranger's broken journal)."""
        try:
            st = self.journal.read_state()
            position, history = st.get("position"), st.get("history")
        except (JournalError, OSError):
            return (0, 0)
        if not isinstance(position, int) or not isinstance(history, list):
            return (0, 0)
        return max(0, min(position, len(history))), len(history)

    # --- planning and applying -------------------------------------------------------------------
    def plan(self, op: Operation, ids: Iterable[int] | None = None) -> Plan:
        """Preview ``op`` over the images ``ids`` (all images if None). Writes nothing."""
        with self.lock:
            ids = self.all_ids() if ids is None else ids
            notes: Counter = Counter()
            changes: list[FileChange] = []
            skipped: list[Problem] = []
            refused: list[Problem] = []
            seen: set[str] = set()
            selected = 0
            for i in ids:
                e = self.images[i]
                selected += 1
                if e.caption_path in seen:
                    continue
                seen.add(e.caption_path)
                if not e.editable:
                    skipped.append(Problem(e.state, e.caption_path, "caption unreadable; not edited", WARNING))
                    continue
                if e.state == "missing" and not op.creates_captions:
                    continue
                old = e.tags
                new = op.run_for(e, list(old), notes)
                if new != old:
                    changes.append(FileChange(e.caption_path, self.images_sharing_caption(e), list(old), new,
                                              create=e.state == "missing"))
                    why = None if e.state == "missing" else read_only_reason(self.abspath(e.caption_path))
                    if why is not None:
                        refused.append(Problem("read-only", e.caption_path, why, ERROR))
            return Plan(op, selected, changes, notes, skipped, refused)

    def apply(self, plan: Plan) -> ApplyResult:
        """Write a plan. Each file is re-checked against disk; changed files are refused and reloaded."""
        result = ApplyResult(plan.op.describe())
        self._refuse_if_read_only()
        self._inside_cache: dict[str, bool] = {}
        with self.lock, self.journal.locked():
            self._check_no_pending()
            records: list[FileRecord] = []
            digests: dict[str, bytes] = {}
            links: set[str] = set()  # captions read through a symlink that stays inside
            for ch in plan.changes:
                e = self.images[ch.image_ids[0]]
                if not e.editable:
                    continue
                new = plan.op.run_for(e, list(e.tags), Counter())  # current tags: the plan may be stale
                if new == e.tags and e.state != "missing":
                    continue
                if e.state == "missing" and not new:
                    continue
                path = self.abspath(e.caption_path)
                if self._leaves_root(e.caption_path, file=e.state == "missing"):
                    result.refused.append(self._outside(e.caption_path))
                    continue
                before = None
                if e.state != "missing":
                    # the journal keeps the exact text to restore: read it now, and make sure it is
                    # still the file loratui parsed. Not through a symlink: the same open tells a
                    # link, which is read (and written through) only when it stays inside
                    cur: CaptionText | CaptionError
                    try:
                        cur, linked = self._read_to_replace(path)
                        if linked:
                            links.add(e.caption_path)
                    except CaptionError as err:
                        if err.kind == "outside":
                            result.refused.append(self._outside(e.caption_path))
                            continue
                        cur = err
                    # same (mtime, size) is not enough: a rewrite can keep the size and restore
                    # the mtime. The text just read must still parse to what loratui holds.
                    if isinstance(cur, CaptionError) or cur.fingerprint != e.fp or \
                            cur.encoding != e.encoding or parse_caption(cur.text) != e.caption:
                        msg = cur.message if isinstance(cur, CaptionError) else \
                            "changed outside loratui since it was read; reloaded, not overwritten"
                        result.refused.append(Problem("changed", e.caption_path, msg, ERROR))
                        self._reload_caption(e.caption_path, changed_outside=True)
                        continue
                    before = cur.text
                    digests[e.caption_path] = cur.digest
                caption = e.caption if e.caption is not None else Caption(tags=[])
                records.append(FileRecord(e.caption_path, before, caption.format(new), e.encoding))
            if not records:
                if result.refused:
                    self.generation += 1
                return result
            jobs = [(self.abspath(r.path), encode_caption(r.after or "", r.encoding),
                     self.images[self._by_caption[r.path]].fp, r.before is None, digests.get(r.path),
                     r.path in links)
                    for r in records]
            try:
                self.journal.begin_apply(plan.op.describe(), records)
            except JournalError as e:
                raise JournalError(self._journal_trouble(e), path=e.path) from None
            except OSError as e:
                raise JournalError(f"{plan.op.describe()}: the edit could not be recorded in the journal "
                                   f"({e.strerror or e}); nothing was written, no caption changed") from None
            try:
                outcomes = write_many(jobs)
                for rec, out in zip(records, outcomes):
                    if isinstance(out, CaptionError):
                        result.refused.append(Problem(out.kind, rec.path, out.message, ERROR))
                        self._reload_caption(rec.path, changed_outside=out.kind == "changed")
                        continue
                    self._set_caption(rec.path, rec.after, rec.encoding, out, result)
                    result.written.append(rec.path)
            finally:
                try:
                    if result.written:
                        self.journal.commit()
                    else:  # every file refused: no history entry that would "undo 0 files"
                        self.journal.abandon()
                except OSError as e:
                    self.generation += 1
                    raise JournalError(
                        f"{plan.op.describe()}: {len(result.written):,} caption file(s) were written, but the journal "
                        f"could not record that the edit finished ({e.strerror or e}); no text is lost: the next "
                        "time the dataset is opened, this edit is rolled back") from None
            self.generation += 1
        return result

    def run(self, op: Operation, ids: Iterable[int] | None = None) -> ApplyResult:
        """Plan and apply in one go (scripts, tests)."""
        return self.apply(self.plan(op, ids))

    def set_tags(self, image_id: int, tags: list[str], label: str = "edit caption") -> ApplyResult:
        """Replace one image's tags (the caption editor). Journaled like any other edit."""
        return self.run(SetTags(tags, label), [image_id])

    def undo(self) -> ApplyResult | None:
        """Undo the last applied operation; None when there is nothing to undo."""
        return self._replay("undo")

    def redo(self) -> ApplyResult | None:
        return self._replay("redo")

    def _replay(self, direction: str) -> ApplyResult | None:
        self._refuse_if_read_only()
        with self.lock, self.journal.locked():
            self._check_no_pending()
            try:
                rec = self.journal.begin_undo() if direction == "undo" else self.journal.begin_redo()
            except JournalError as e:
                raise JournalError(self._journal_trouble(e), path=e.path) from None
            except OSError as e:
                raise JournalError(f"{direction}: the journal could not be written ({e.strerror or e}); "
                                   "nothing was changed") from None
            if rec is None:
                return None
            result = ApplyResult(f"{direction} {rec.description}")
            try:
                for f in rec.files:
                    want, now = (f.before, f.after) if direction == "undo" else (f.after, f.before)
                    status = self._move_file(f, want=want, expect_now=now)
                    if status == "written":
                        result.written.append(f.path)
                    elif status == "already":
                        result.already += 1
                    else:
                        result.refused.append(Problem("changed", f.path, status or "not written", ERROR))
                    self._reload_caption(f.path, changed_outside=status not in ("written", "already"))
                    result.image_ids.update(self.caption_ids(f.path))
            finally:
                self.journal.commit()
            self.generation += 1
            return result

    def _check_no_pending(self) -> None:
        if self.journal.pending() is not None:
            # another process died mid-edit after we opened: recover now, under the lock
            self.recovery = self.recover()
            self.reload()

    # --- keeping memory in step with disk --------------------------------------------------------
    def _set_caption(self, cap_path: str, text: str | None, encoding: str, fp, result: ApplyResult | None) -> None:
        ids = self.caption_ids(cap_path)
        parsed = parse_caption(text) if text is not None else None
        for i in ids:
            e = self.images[i]
            old = e.tags
            e.set_caption_text(text, encoding, fp, parsed)
            e.changed_outside = False
            self.index.update(i, e.subset, old, e.tags)
            if result is not None:
                result.image_ids.add(i)

    def _reload_caption(self, cap_path: str, changed_outside: bool = False) -> None:
        """Re-read one caption file from disk into the index."""
        ids = self.caption_ids(cap_path)
        if not ids:
            return
        try:
            ct = read_caption(self.abspath(cap_path))
        except CaptionError as err:
            if err.kind == "missing":
                self._set_caption(cap_path, None, "utf-8", None, None)
            else:
                for i in ids:
                    e = self.images[i]
                    self.index.remove(i, e.subset, e.tags)
                    e.set_caption_text(None, "utf-8", None)
                    e.state = "encoding" if err.kind == "encoding" else "unreadable"
            return
        self._set_caption(cap_path, ct.text, ct.encoding, ct.fingerprint, None)
        if changed_outside:
            for i in ids:
                self.images[i].changed_outside = True

    def reload(self, caption_paths: Iterable[str] | None = None) -> None:
        """Re-read some caption files (or rescan everything when None)."""
        with self.lock:
            if caption_paths is None:
                self._scan_and_load()
                return
            for p in caption_paths:
                self._reload_caption(p)
            self.generation += 1

    def refresh(self) -> dict[str, int]:
        """Rescan the folder for files added, removed or changed outside loratui.

        Returns counts: added, removed, changed (captions whose text differs from what was loaded).
        """
        with self.lock:
            before = {e.path: (e.fp, e.tags) for e in self.images}
            self._scan_and_load()
            after = {e.path for e in self.images}
            changed = 0
            for e in self.images:
                if e.path in before and before[e.path] != (e.fp, e.tags):
                    e.changed_outside = True
                    changed += 1
            return {
                "added": sum(1 for p in after if p not in before),
                "removed": sum(1 for p in before if p not in after),
                "changed": changed,
            }
