"""`loratui tags DIR`: list tag frequencies, or edit tags in bulk (previewed, journaled, undoable)."""

from __future__ import annotations

import sys

from loratui.dataset import (
    AddTags,
    Dedupe,
    MoveToFront,
    Operation,
    QueryError,
    RemoveTags,
    RenameTag,
    ReplaceRegex,
    SortTags,
    normalize_tag,
)

from .common import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, add_dataset_args, open_dataset, print_recovery

HELP = "list tag counts, or bulk-edit tags: rename/merge, remove, add, move to front, sort, dedupe"
DESCRIPTION = """\
Without an edit option: list every tag with its image count.
With edit options: apply them in the order given (rename, replace, remove, add, front, sort, dedupe),
each one journaled so `loratui undo DIR` reverts it. --dry-run shows what would change.

examples:
  loratui tags DIR --rename "blonde hair=yellow hair"
  loratui tags DIR --where "1girl -solo" --remove "multiple girls"
  loratui tags DIR --where "subset:10_mychar" --add mychar --front
  loratui tags DIR --sort frequency --keep-first 1 --dry-run"""


def add_arguments(p) -> None:
    add_dataset_args(p)
    p.add_argument("--where", default="", metavar="QUERY",
                   help='only images matching a tag query, e.g. "1girl -solo", "hat | cap", "tags<5", "no-caption"')
    p.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                   help="rename a tag (merges into NEW where both are present); repeatable")
    p.add_argument("--replace", action="append", default=[], metavar="REGEX=REPL",
                   help="regex replace inside every tag (Python syntax; a tag that becomes empty is dropped)")
    p.add_argument("--remove", action="append", default=[], metavar="TAG", help="remove a tag; repeatable")
    p.add_argument("--add", action="append", default=[], metavar="TAG", help="add a tag (no duplicates); repeatable")
    p.add_argument("--normalize", nargs="?", const="auto", choices=["auto", "spaces", "underscores"],
                   help="with --add/--rename: write the new tags in the dataset's style (red_hair -> red hair "
                        "where captions use spaces; auto detects it; kaomoji such as ^_^ are kept)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--front", action="store_true", help="with --add: put the added tags first")
    where.add_argument("--at", type=int, metavar="N", help="with --add: insert at position N (0 = first)")
    p.add_argument("--move-front", action="append", default=[], metavar="TAG",
                   help="move a tag to the front (e.g. the trigger word); repeatable, order kept")
    p.add_argument("--sort", choices=["alpha", "frequency"], help="sort each caption's tags")
    p.add_argument("--keep-first", type=int, default=0, metavar="N", help="with --sort: leave the first N tags in place")
    p.add_argument("--dedupe", action="store_true", help="remove repeated tags (red_hair = red hair)")
    p.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
    p.add_argument("--top", type=int, default=0, metavar="N", help="when listing: only the N most common")
    p.add_argument("--by-name", action="store_true", help="when listing: sort by name instead of count")


def _pairs(values: list[str], flag: str) -> list[tuple[str, str]]:
    out = []
    for v in values:
        old, sep, new = v.partition("=")
        if not sep or not old.strip():
            raise ValueError(f"{flag} {v!r}: expected OLD=NEW, e.g. {flag} \"blonde hair=yellow hair\"")
        out.append((old.strip(), new.strip()))
    return out


def _styler(args, ds):
    """``--normalize``: a function writing a typed tag in the dataset's style (identity without it)."""
    if not getattr(args, "normalize", None):
        return lambda t: t
    from loratui.dataset.tag_style import resolve_style, to_style

    style = resolve_style(args.normalize, ds.index.most_common())

    def styled(tag: str) -> str:
        new = to_style(tag, style)
        if new != tag.strip():
            print(f"loratui: --normalize: {tag.strip()!r} written as {new!r} ({style})", file=sys.stderr)
        return new
    return styled


def build_ops(args, ds) -> list[Operation]:
    ops: list[Operation] = []
    styled = _styler(args, ds)
    for old, new in _pairs(args.rename, "--rename"):
        ops.append(RenameTag(old, styled(new)))
    for pat, repl in _pairs(args.replace, "--replace"):
        ops.append(ReplaceRegex(pat, repl))
    if args.remove:
        ops.append(RemoveTags([t.strip() for t in args.remove]))
    if args.add:
        pos = "front" if args.front else (args.at if args.at is not None else "end")
        ops.append(AddTags([styled(t) for t in args.add if t.strip()] or args.add, pos))
    elif args.front or args.at is not None:
        raise ValueError("--front and --at only go with --add (use --move-front TAG to move an existing tag)")
    if args.move_front:
        ops.append(MoveToFront([t.strip() for t in args.move_front]))
    if args.sort:
        ops.append(SortTags(args.sort, args.keep_first, frequency=ds.index.count))
    if args.dedupe:
        ops.append(Dedupe())
    return ops


def _missing_tag_hints(ds, ops) -> list[str]:
    """For tags named in the edit that no image has, suggest the spelling the dataset uses."""
    named: list[str] = []
    for op in ops:
        if isinstance(op, RenameTag):
            named.append(op.old)
        elif isinstance(op, (RemoveTags, MoveToFront)):
            named.extend(op.tags)
    hints = []
    for t in named:
        if t in ds.index:
            continue
        near = [x for x in ds.index.tags() if normalize_tag(x) == normalize_tag(t)]
        hint = f"; did you mean {', '.join(repr(x) for x in near)}?" if near else ""
        hints.append(f"no image has the tag {t!r}{hint}")
    return hints


def run(args) -> int:
    ds = open_dataset(args)
    if ds is None:
        return EXIT_USAGE
    print_recovery(ds)
    try:
        ids = ds.select(args.where)
    except QueryError as e:
        print(f"loratui: --where: {e}", file=sys.stderr)
        return EXIT_USAGE
    try:
        ops = build_ops(args, ds)
    except ValueError as e:
        print(f"loratui: {e}", file=sys.stderr)
        return EXIT_USAGE
    if not ops:
        return _list(ds, ids, args)
    for h in _missing_tag_hints(ds, ops):
        print(f"loratui: {h}", file=sys.stderr)
    scope = f" (of {len(ids):,} images matching {args.where!r})" if args.where else ""
    status = EXIT_OK
    changes = 0
    for op in ops:
        try:
            plan = ds.plan(op, ids)
        except ValueError as e:
            print(f"loratui: {e}", file=sys.stderr)
            return EXIT_USAGE
        changes += len(plan.changes)
        if args.dry_run:
            print(f"would {plan.summary()}{scope}")
            for ch in plan.changes[:20]:
                diff = " ".join([*(f"-{t!r}" for t in ch.removed), *(f"+{t!r}" for t in ch.added)]) or "(reordered)"
                print(f"  {ch.caption_path}: {diff}")
            if len(plan.changes) > 20:
                print(f"  ... and {len(plan.changes) - 20:,} more files")
            continue
        result = ds.apply(plan)
        print(result.summary() + scope)
        for p in result.refused:
            print(f"  refused {p.path}: {p.message}", file=sys.stderr)
            status = EXIT_PARTIAL
    if args.dry_run and len(ops) > 1:
        print("(dry run: each preview is computed on the current captions, not on the previous step's result)")
    if not changes:
        print("loratui: nothing to do: no caption would change", file=sys.stderr)
        return EXIT_ERROR
    return status


def _list(ds, ids, args) -> int:
    if args.where:
        from collections import Counter

        counts = Counter(t for i in ids for t in set(ds.images[i].tags))
    else:
        counts = ds.index.counts()
    items = sorted(counts.items(), key=(lambda kv: kv[0]) if args.by_name else (lambda kv: (-kv[1], kv[0])))
    if args.top:
        items = items[: args.top]
    for tag, n in items:
        print(f"{n:>7}  {tag}")
    return EXIT_OK if items or not ids else EXIT_OK
