"""`loratui check DIR`: the dataset health check, grouped, errors before warnings."""

from __future__ import annotations

import json
import os
import sys

from .common import EXIT_ERROR, EXIT_OK, EXIT_USAGE

HELP = "health check before training: corrupt files, duplicates, resolution, buckets, captions, variety"
DESCRIPTION = """\
Finds the dataset mistakes that waste a night of GPU time and says what to do about each.
Exit code 1 when there are errors (corrupt images, no usable image, ...), 0 otherwise.

examples:
  loratui check ~/datasets/mychar
  loratui check ~/datasets/mychar --config run.toml      resolution, buckets, keep_tokens, trigger, steps
  loratui check DIR --exclude-duplicates                 move the extra copies to DIR/.loratui/excluded/
  loratui check DIR --restore-excluded                   move them back"""

DETAIL_LINES = 6
SAME_CODE = 8
"""Findings of one kind shown before "... more" (a big dataset has hundreds of duplicate groups)."""


def add_arguments(p) -> None:
    p.add_argument("dir", metavar="DIR", nargs="?", default=None,
                   help="dataset folder (default with --config: its dataset.root)")
    p.add_argument("--config", metavar="C",
                   help="training config (TOML): resolution, buckets, keep_tokens, trigger words, steps")
    p.add_argument("--caption-ext", default=None, metavar="EXT", help="caption extension (default: the config's, or .txt)")
    p.add_argument("--trigger", action="append", default=[], metavar="WORD",
                   help="trigger word (default: the config's, or guessed from a `10_name` folder); repeatable")
    p.add_argument("--json", action="store_true", help="machine-readable report")
    p.add_argument("-v", "--verbose", action="store_true", help="list every file of every finding")
    p.add_argument("--no-cache", action="store_true", help="decode every image again (ignore DIR/.loratui/cache)")
    p.add_argument("--exclude-duplicates", nargs="?", const="exact", choices=("exact", "near", "all"), default=None,
                   help="after checking, move duplicates (exact by default; near or all) to DIR/.loratui/excluded/, "
                        "keeping the best copy of each group")
    p.add_argument("--restore-excluded", action="store_true", help="move every excluded file back, then check")


def _options(args):
    from loratui.check import CheckOptions

    cfg = None
    if args.config:
        from loratui.config import ConfigError, TrainConfig

        try:
            cfg = TrainConfig.load(args.config)
        except ConfigError as e:
            return _usage(str(e) if args.config in str(e) else f"{args.config}: {e}")
        except OSError as e:
            return _usage(f"{args.config}: {e.strerror or e}")
    root = args.dir
    if root is None:
        if cfg is None or not cfg.dataset.root:
            return _usage("give a dataset folder (or --config with dataset.root)")
        root = cfg.abspath(cfg.dataset.root)
    caption_ext = args.caption_ext or (cfg.dataset.caption_extension if cfg else "") or ".txt"
    opts = CheckOptions.from_config(cfg, root=root) if cfg else CheckOptions()
    if args.trigger:
        opts.trigger_words = list(args.trigger)
    opts.use_cache = not args.no_cache
    return root, caption_ext, opts


def _usage(msg: str) -> int:
    print(f"loratui: {msg}", file=sys.stderr)
    return EXIT_USAGE


def run(args) -> int:
    from loratui.check import GROUP_TITLES, check_dataset, exclude_images, restore_excluded
    from loratui.check.excluded import ExcludeError
    from loratui.dataset import Dataset, DatasetError

    got = _options(args)
    if isinstance(got, int):
        return got
    root, caption_ext, opts = got
    if args.restore_excluded:
        try:
            restored, problems = restore_excluded(root)
        except ExcludeError as e:
            return _usage(str(e))
        for p in problems:
            print(f"loratui: {p}", file=sys.stderr)
        print(f"restored {len(restored):,} file{'s' if len(restored) != 1 else ''} from .loratui/excluded/",
              file=sys.stderr if args.json else sys.stdout)
    try:
        ds = Dataset.open(root, caption_ext)
    except DatasetError as e:
        return _usage(str(e))
    report = check_dataset(ds, opts)
    moved: list[str] = []
    if args.exclude_duplicates:
        codes = {"exact": ("exact-duplicates",), "near": ("near-duplicates",),
                 "all": ("exact-duplicates", "near-duplicates")}[args.exclude_duplicates]
        ids = sorted({i for f in report.findings if f.code in codes and f.fix for i in f.fix.image_ids})
        if ids:
            try:
                moved, problems = exclude_images(
                    ds, ids, reason=f"loratui check --exclude-duplicates {args.exclude_duplicates}")
            except ExcludeError as e:
                moved, problems = [], [str(e)]
            for p in problems:
                print(f"loratui: {p}", file=sys.stderr)
    if args.json:
        d = report.to_dict()
        if args.exclude_duplicates:
            d["excluded"] = moved
        print(json.dumps(d, ensure_ascii=False, indent=2))
        return EXIT_ERROR if report.errors else EXIT_OK
    st = report.stats
    print(f"loratui check: {report.root}  ({st.get('images', 0):,} images, {len(ds.subsets)} subset"
          f"{'s' if len(ds.subsets) != 1 else ''})")
    for group, findings in report.by_group():
        print()
        print(GROUP_TITLES.get(group, group))
        shown: dict[str, int] = {}
        for f in findings:
            n = shown[f.code] = shown.get(f.code, 0) + 1
            if n > SAME_CODE and not args.verbose:
                if n == SAME_CODE + 1:
                    rest = sum(1 for g in findings if g.code == f.code) - SAME_CODE
                    print(f"  {'':<8} ... {rest:,} more like this (-v lists all)")
                continue
            print(f"  {f.level:<8} {f.message}")
            if f.hint:
                print(f"  {'':<8} -> {f.hint}")
            lines = f.detail if args.verbose else f.detail[:DETAIL_LINES]
            for line in lines:
                print(f"  {'':<10}{line}")
            if len(f.detail) > len(lines):
                print(f"  {'':<10}... {len(f.detail) - len(lines):,} more (-v lists all)")
    fs = st.get("image_facts", {})
    secs = sum(st.get("seconds", {}).values())
    print()
    print(f"{report.summary()}  (checked in {secs:.1f} s; {fs.get('decoded', 0):,} images decoded, "
          f"{fs.get('from_cache', 0):,} from the cache)")
    if st.get("token_counter") == "estimate":
        print("caption lengths are estimates: no CLIP tokenizer found (a diffusers model's tokenizer/ "
              "folder via --config gives exact counts)")
    if moved:
        print(f"moved {len(moved):,} duplicate{'s' if len(moved) != 1 else ''} (and their captions) to "
              f"{os.path.join(report.root, '.loratui', 'excluded')}; undo: loratui check DIR --restore-excluded")
    elif any(f.code.endswith("-duplicates") for f in report.findings) and not args.exclude_duplicates:
        print("duplicates: `loratui check DIR --exclude-duplicates` (or `=near`, `=all`) moves the extra copies "
              "to .loratui/excluded/ (reversible)")
    return EXIT_ERROR if report.errors else EXIT_OK
