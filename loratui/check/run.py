"""Running every check over a dataset, and the pre-launch gate."""

from __future__ import annotations

import os
import time

from .captions import _keys, duplicate_tag_findings, length_findings, load_vocabulary, tag_findings, trigger_findings
from .duplicates import duplicate_findings
from .files import caption_pair_findings, count_findings, image_file_findings, scan_findings
from .findings import ERROR, NOTE, Finding, Report
from .image_facts import Progress, collect_facts
from .masks import mask_findings
from .options import CheckOptions
from .resolution import resolution_findings
from .tokens import token_counter
from .variety import variety_findings


def check_dataset(ds, opts: CheckOptions | None = None, progress: Progress | None = None) -> Report:
    """Every check over an open ``loratui.dataset.Dataset``. Never raises for bad files: they
    are findings. Decodes each image once; later checks read the cache."""
    opts = opts or CheckOptions()
    report = Report(ds.root)
    timings: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        timings[name] = round(now - t, 4)
        t = now

    with ds.lock:
        snapshot = list(ds.images)
    # decoding is slow on a cold cache: done without the lock, so edits are not held up
    facts, fstats = collect_facts(ds, use_cache=opts.use_cache, progress=progress, entries=snapshot)
    with ds.lock:
        if len(ds.images) != len(snapshot) or any(a is not b for a, b in zip(ds.images, snapshot)):
            # rescanned meanwhile (ids changed): again, from the cache this time
            facts, fstats = collect_facts(ds, use_cache=opts.use_cache, progress=progress)
        lap("image_facts")
        f = report.findings
        counts, cstats = count_findings(ds, opts, facts)
        f += counts
        f += scan_findings(ds)
        f += caption_pair_findings(ds)
        f += image_file_findings(ds, facts)
        f += mask_findings(ds)
        if fstats.get("cache_problem"):
            f.append(Finding(NOTE, "cache", "files", fstats["cache_problem"]))
        lap("files")
        if progress is not None:
            progress("duplicates", 0, 1)
        dups, dstats = duplicate_findings(ds, facts, opts.near_threshold)
        f += dups
        lap("duplicates")
        res, rstats = resolution_findings(ds, facts, opts)
        f += res
        lap("resolution")
        keys = _keys(ds)
        trig, tstats = trigger_findings(ds, opts, keys)
        f += trig
        counter = token_counter(opts.tokenizer_paths)
        lens, lstats = length_findings(ds, counter)
        f += lens
        vocab = opts.vocabulary if opts.vocabulary is not None else load_vocabulary()
        f += tag_findings(ds, opts, keys, vocab)
        f += duplicate_tag_findings(ds)
        lap("captions")
        triggers = {ds.subsets.index(s): (v["word"], v["source"]) for s in ds.subsets
                    for p, v in tstats["triggers"].items() if s.path == p}
        var, vstats = variety_findings(ds, opts, keys, triggers)
        f += var
        lap("variety")
        for fd in f:
            if fd.fix is not None:
                fd.fix.paths = [ds.images[i].path for i in fd.fix.image_ids]
    report.sort()
    report.stats = {**cstats, **dstats, **rstats, **tstats, **lstats, **vstats, "image_facts": fstats,
                    "tag_vocabulary": vocab is not None, "seconds": timings}
    return report


def check_folder(root: str, opts: CheckOptions | None = None, caption_ext: str = ".txt",
                 progress: Progress | None = None) -> Report:
    """Open ``root`` and check it; a folder that cannot be opened is one error finding."""
    from loratui.dataset import Dataset, DatasetError

    try:
        ds = Dataset.open(root, caption_ext)
    except DatasetError as e:
        return Report(os.path.abspath(root), [Finding(ERROR, "no-dataset", "counts", str(e))])
    return check_dataset(ds, opts, progress)


def pre_launch_check(cfg, progress: Progress | None = None) -> Report:
    """The check a launch runs first: the config's dataset with the config's settings.

    ``report.blocks_launch`` is True when it found errors: the launcher refuses to start unless
    the user overrides explicitly (see ``launch_gate``); warnings are shown, never blocking."""
    c = cfg.resolved()
    d = c.dataset
    roots = [d.root] if d.root else sorted({s.image_dir for s in d.subsets})
    if not roots:
        return Report("", [Finding(ERROR, "no-dataset", "counts", "the config names no dataset folder",
                                   "set dataset.root or add dataset.subsets")])
    reports = [check_folder(r, CheckOptions.from_config(cfg, root=r), d.caption_extension or ".txt", progress)
               for r in roots]
    if len(reports) == 1:
        return reports[0]
    merged = Report(os.path.commonpath(roots), stats={"parts": [r.stats for r in reports]})
    for r in reports:
        for fd in r.findings:
            fd.message = f"[{os.path.basename(r.root)}] {fd.message}"
            fd.image_ids = []  # ids are per dataset: not meaningful once merged
            fd.fix = None
            merged.findings.append(fd)
    merged.sort()
    return merged


def launch_gate(report: Report, override: bool = False) -> tuple[bool, str]:
    """(may launch, what to tell the user). Errors block unless ``override``; warnings never do."""
    e, w = len(report.errors), len(report.warnings)
    if e and not override:
        return False, (f"dataset check found {e} error{'s' if e != 1 else ''}: "
                       f"{report.errors[0].message}" + (f" (and {e - 1} more)" if e > 1 else "")
                       + "; fix them, or launch anyway with the explicit override (--ignore-check)")
    if e:
        return True, f"launching despite {e} dataset error{'s' if e != 1 else ''} (overridden)"
    if w:
        return True, f"dataset check: {w} warning{'s' if w != 1 else ''} (see `loratui check`)"
    return True, "dataset check: no problems"
