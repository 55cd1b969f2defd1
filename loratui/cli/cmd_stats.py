"""`loratui stats DIR`: what is in a dataset and what is wrong with it."""

from __future__ import annotations

import json

from .common import EXIT_OK, EXIT_USAGE, add_dataset_args, open_dataset

HELP = "summary of a dataset: images, captions, subsets and repeats, top tags, problems"


def add_arguments(p) -> None:
    add_dataset_args(p)
    p.add_argument("--top", type=int, default=20, metavar="N", help="how many top tags to list (default 20)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    ds = open_dataset(args)
    if ds is None:
        return EXIT_USAGE
    from loratui.dataset.training_images import training_image_ids

    images = len(ds.images)
    captioned = sum(1 for e in ds.images if e.has_caption)
    # training images: the one definition shared with `check`, the step math and the worker
    training = training_image_ids(ds)
    per_subset = [sum(1 for i in s.image_ids if i in training) for s in ds.subsets]
    not_training = [e.path for e in ds.images if e.id not in training]
    steps = sum(n * s.repeats for n, s in zip(per_subset, ds.subsets))
    top = ds.index.most_common(args.top)
    if args.json:
        print(json.dumps({
            "root": ds.root, "images": images, "training_images": len(training), "not_training": not_training,
            "captioned": captioned, "unique_tags": len(ds.index), "images_x_repeats": steps,
            "masks": len(set(ds.masks.values())),
            "subsets": [{"path": s.path, "repeats": s.repeats, "class_tokens": s.class_tokens,
                         "images": s.image_count, "training_images": n, "note": s.note}
                        for s, n in zip(ds.subsets, per_subset)],
            "top_tags": [{"tag": t, "count": c} for t, c in top],
            "problems": [{"level": p.level, "kind": p.kind, "path": p.path, "message": p.message}
                         for p in ds.problems],
        }, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"dataset   {ds.root}")
    print(f"images    {images:,} ({captioned:,} with a caption, {images - captioned:,} without)")
    bad = (f"; {len(not_training):,} empty or unreadable, not trained on (`loratui check DIR` says why)"
           if not_training else "")
    print(f"training  {len(training):,} images{bad}")
    orphans = sum(1 for p in ds.problems if p.kind == "orphan-mask")
    if ds.masks or orphans:
        masks = len(set(ds.masks.values())) + orphans
        print(f"masks     {masks:,} loss masks (NAME.mask.png)"
              + (f"; {orphans:,} without an image (not trained on)" if orphans else ""))
    print(f"tags      {len(ds.index):,} distinct")
    print(f"per epoch {steps:,} images x repeats")
    print("subsets")
    w = max((len(s.path) for s in ds.subsets), default=0)
    for s, n in zip(ds.subsets, per_subset):
        print(f"  {s.path:<{w}}  repeats {s.repeats:>3}  images {n:>6,}"
              + (f" (+{s.image_count - n:,} unreadable)" if n != s.image_count else "")
              + (f"  class `{s.class_tokens}`" if s.class_tokens else ""))
    if not ds.subsets:
        print("  (none: no images found; supported: png, jpg, jpeg, webp, bmp)")
    if top:
        print("top tags")
        tw = max(len(t) for t, _ in top)
        for t, c in top:
            print(f"  {t:<{tw}}  {c:>6,}  {100 * c / max(images, 1):5.1f}%")
    if ds.problems:
        print(f"problems ({len(ds.problems):,})")
        by_kind: dict[str, list] = {}
        for p in ds.problems:
            by_kind.setdefault(p.kind, []).append(p)
        for kind, ps in by_kind.items():
            for p in ps[:10]:
                print(f"  {p}")
            if len(ps) > 10:
                print(f"  ... and {len(ps) - 10:,} more `{kind}`")
    return EXIT_OK
