"""Counts and files: how many images (and the steps they make), and files training cannot use.

Problems the scan already found (``Dataset.problems``) are reused, grouped by kind; decoding
problems come from the image facts (zero-byte, corrupt, truncated)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .findings import ERROR, LEVEL_ORDER, NOTE, WARNING, Finding, files_phrase, plural
from .image_facts import ImageFacts
from .options import CheckOptions

if TYPE_CHECKING:
    from loratui.dataset import ImageEntry

# kind -> (code, headline for n files, hint); the level is the scan's own
_SCAN_KINDS = {
    "no-caption": ("no-caption", "{n} without a caption file",
                   "trainers fall back to the folder's class tokens; tag them (`loratui tag DIR`) or add captions"),
    "empty-caption": ("empty-caption", "{n} with an empty caption", "an empty caption teaches nothing; tag them"),
    "orphan-caption": ("orphan-caption", "{n} without an image", "remove them or restore the image"),
    "orphan-mask": ("orphan-mask", "{n} without an image (NAME.mask.png beside no NAME.png/.jpg…; "
                    "never trained on)", "remove them or restore the image"),
    "encoding": ("caption-encoding", "{n} not readable as text", "save them as UTF-8"),
    "unreadable": ("unreadable", "{n} cannot be read", "check permissions"),
    "broken-symlink": ("broken-symlink", "{n} broken symlinks", "fix or remove them"),
    "duplicate-name": ("duplicate-stem", "{n} image names used with two extensions (share one caption)",
                       "rename all but one so each image has its own caption"),
    "unsupported": ("unsupported-extension", "{n} images in formats training skips", "convert them to PNG or JPEG"),
    "no-repeats": ("no-repeats", "{n} folders without a `<repeats>_<name>` prefix", "rename like `10_mychar`"),
}
_NOUN = {"no-caption": "image", "empty-caption": "caption", "orphan-caption": "caption file", "orphan-mask": "loss mask",
         "encoding": "caption", "unreadable": "file", "broken-symlink": "", "duplicate-name": "",
         "unsupported": "", "no-repeats": ""}


def scan_findings(ds) -> list[Finding]:
    import os

    by_path = {e.path: e.id for e in ds.images}
    by_stem: dict[str, list[int]] = {}
    for e in ds.images:
        if e.duplicate_name:
            by_stem.setdefault(os.path.splitext(e.path)[0], []).append(e.id)
    by_kind: dict[str, list] = {}
    for p in ds.problems:
        by_kind.setdefault(p.kind, []).append(p)
    out = []
    for kind, ps in by_kind.items():
        paths = [p.path for p in ps]
        ids: list[int] = []
        for p in ps:
            if p.path in by_path:
                ids.append(by_path[p.path])
            elif p.path in by_stem:
                ids.extend(by_stem[p.path])
            else:
                ids.extend(ds.caption_ids(p.path))
        level = min((p.level for p in ps), key=lambda lv: LEVEL_ORDER.get(lv, 3))
        if kind in ("recovered", "journal"):
            level = NOTE  # loratui's own edit history: nothing training reads
        if kind in _SCAN_KINDS:
            code, head, hint = _SCAN_KINDS[kind]
            noun = _NOUN[kind]
            n = plural(len(ps), noun) if noun else f"{len(ps):,}"
            msg = head.format(n=n) + ": " + files_phrase(paths)
            if len(ps) == 1:
                msg = f"`{ps[0].path}`: {ps[0].message}"
        else:
            code, hint = kind, ""
            msg = f"`{ps[0].path}`: {ps[0].message}" + (f" (and {len(ps) - 1:,} more)" if len(ps) > 1 else "")
        out.append(Finding(level, code, "files", msg, hint, paths, sorted(set(ids)),
                           [f"{p.path}: {p.message}" for p in ps] if len(ps) > 1 else []))
    return out


CAPTION_EXTS = (".txt", ".caption")
"""The two caption extensions kohya tools use (kohya's own default is .caption)."""


def caption_pair_findings(ds) -> list[Finding]:
    """Images with a caption file in both ``.txt`` and ``.caption``: only one is read for training
    (the dataset's caption extension), and another tool set up differently would read the other."""
    import os

    used = ds.caption_ext.lower()
    others = [e for e in CAPTION_EXTS if e != used]
    by_dir: dict[str, list] = {}
    for e in ds.images:
        by_dir.setdefault(os.path.dirname(e.path), []).append(e)
    pairs: list[tuple[ImageEntry, str]] = []
    wrong_ext: list[tuple[ImageEntry, str]] = []
    for d, entries in by_dir.items():
        try:
            with os.scandir(ds.abspath(d) if d else ds.root) as it:
                names = {x.name for x in it}
        except OSError:
            continue
        if not any(n.endswith(ext) for n in names for ext in others):
            continue  # the usual folder: no caption file with the other extension at all
        for e in entries:
            stem = os.path.splitext(os.path.basename(e.path))[0]
            for ext in others:
                if stem + ext in names:
                    other = (f"{d}/" if d else "") + stem + ext
                    (wrong_ext if e.state == "missing" else pairs).append((e, other))
    out: list[Finding] = []
    if wrong_ext:
        paths = [p for _, p in wrong_ext]
        out.append(Finding(WARNING, "caption-other-extension", "files",
                           f"{plural(len(paths), 'caption file')} with the other extension, not read (captions are "
                           f"read from {used} files): {files_phrase(paths)}",
                           f"rename them to {used}, or set the caption extension to match; until then those images "
                           "train on their folder's class tokens", paths, sorted({e.id for e, _ in wrong_ext})))
    if not pairs:
        return out
    paths = [p for _, p in pairs]
    ids = sorted({e.id for e, _ in pairs})
    first_e, first_other = pairs[0]
    if len(pairs) == 1:
        msg = (f"`{first_e.path}` has two caption files: `{first_e.caption_path}` is used for training "
               f"(caption extension {used}); `{first_other}` is ignored")
    else:
        msg = (f"{plural(len(pairs), 'image')} with two caption files: the {used} ones are used for training "
               f"(caption extension {used}), the others ignored: {files_phrase(paths)}")
    out.append(Finding(WARNING, "two-caption-files", "files", msg,
                       "merge them into the one that is used and delete the other; a tool set to the other "
                       "extension (kohya's default is .caption) would train on different captions",
                       paths, ids, [f"{e.caption_path} (used) / {o} (ignored)" for e, o in pairs]))
    return out


def image_file_findings(ds, facts: dict[int, ImageFacts]) -> list[Finding]:
    zero = [i for i, f in facts.items() if f.error.startswith("zero-byte")]
    bad = [i for i, f in facts.items() if f.error and not f.error.startswith("zero-byte")]
    out = []
    for ids, code, what, hint in (
        (zero, "zero-byte-image", "empty (zero-byte) image file", "re-download or remove them"),
        (bad, "corrupt-image", "image that cannot be decoded", "re-download, re-export or remove them; "
                                                                 "training stops on (or skips) such files"),
    ):
        if not ids:
            continue
        ids.sort()
        paths = [ds.images[i].path for i in ids]
        if len(ids) == 1:
            msg = f"`{paths[0]}`: {facts[ids[0]].error}"
        else:
            msg = f"{plural(len(ids), what)}: {files_phrase(paths)}"
        out.append(Finding(ERROR, code, "files", msg, hint, paths, ids,
                           [f"{p}: {facts[i].error}" for p, i in zip(paths, ids)] if len(ids) > 1 else []))
    return out


def count_findings(ds, opts: CheckOptions, facts: dict[int, ImageFacts]) -> tuple[list[Finding], dict]:
    out: list[Finding] = []
    # training images: the one definition (loratui.dataset.training_images), shared with stats,
    # the config's step math and the worker
    usable = {i for i, f in facts.items() if f.training}
    train_subsets = [s for s in ds.subsets if s.path not in opts.reg_subsets]
    total = sum(1 for s in train_subsets for i in s.image_ids if i in usable)
    stats = {"images": len(ds.images), "usable_images": len(usable), "training_images": total,
             "subsets": [{"path": s.path, "repeats": s.repeats, "images": s.image_count,
                          "usable": sum(1 for i in s.image_ids if i in usable),
                          "is_reg": s.path in opts.reg_subsets} for s in ds.subsets],
             "views_per_epoch": sum(s.repeats * sum(1 for i in s.image_ids if i in usable) for s in train_subsets)}
    if not ds.images:
        out.append(Finding(ERROR, "no-images", "counts", f"no images in `{ds.root}`",
                           "put images (png, jpg, jpeg, webp, bmp) in `<repeats>_<name>` folders, e.g. `10_mychar/`"))
        return out, stats
    if total == 0:
        out.append(Finding(ERROR, "no-usable-images", "counts", "no usable training image (every image is unreadable)",
                           "see the file errors below"))
    elif total < opts.min_images:
        out.append(Finding(WARNING, "few-images", "counts", f"only {plural(total, 'training image')}",
                           f"collect at least {opts.min_images} varied images (close-ups, upper body, full body, angles)",
                           image_ids=sorted(i for s in train_subsets for i in s.image_ids)))
    if len(train_subsets) > 1 or total >= opts.min_images:
        for s in train_subsets:
            n = sum(1 for i in s.image_ids if i in usable)
            if 0 < n < opts.min_images:
                where = "the dataset folder" if s.path == "." else f"`{s.path}`"
                out.append(Finding(WARNING, "few-images-subset", "counts",
                                   f"{where} has only {plural(n, 'image')} (x{s.repeats} repeats)",
                                   f"fewer than {opts.min_images}: each image is seen very often; add images or "
                                   "lower its repeats", [s.path], list(s.image_ids)))
    cfg: Any = opts.config  # a TrainConfig (typed loosely: the check imports no config code)
    if cfg is not None:
        try:
            sm = cfg.step_math()
        except Exception as e:  # a half-written config must not break the dataset check
            out.append(Finding(NOTE, "steps", "counts", f"steps could not be computed from the config ({e})"))
        else:
            ep = f"{sm.epochs:g}"
            out.append(Finding(NOTE, "steps", "counts",
                               f"{sm.steps_per_epoch:,} steps per epoch, {sm.total_steps:,} in total ({ep} epochs); "
                               f"each image seen ~{sm.views_per_image:.0f} times",
                               "about 100 views per image (10 repeats x 10 epochs) is the usual start",
                               detail=sm.lines()))
            stats["steps_per_epoch"] = sm.steps_per_epoch
            stats["total_steps"] = sm.total_steps
    else:
        out.append(Finding(NOTE, "steps", "counts",
                           f"{stats['views_per_epoch']:,} images x repeats per epoch "
                           f"(= steps per epoch at batch size 1)", "pass --config for the steps of a run"))
    return out, stats
