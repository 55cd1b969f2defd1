"""Resolution: images that will be upscaled, extreme aspect ratios, and the buckets the config makes.

Buckets come from ``loratui.dataset.buckets``, the implementation the trainer and the config's
step math use, so what the check predicts is what training does.
"""

from __future__ import annotations

from .findings import NOTE, WARNING, Finding, files_phrase, plural
from .options import CheckOptions

UPSCALE_WARN = 1.5
"""Upscaled by this factor or more: soft, blurry training images (a warning; less is a note)."""
EXTREME_RATIO = 2.5
"""Long side / short side from which an aspect ratio is extreme."""
CROP_WARN = 0.2
"""Share of the image cut off by the bucket's centre crop from which it is worth saying."""


def bucket_manager(opts: CheckOptions):
    # imported here: importing loratui.check must not pull in the dataset package (and numpy)
    from loratui.dataset.buckets import BucketManager, BucketSettings

    return BucketManager(BucketSettings.of(opts))


def resolution_findings(ds, facts, opts: CheckOptions) -> tuple[list[Finding], dict]:
    bm = bucket_manager(opts)
    rw, rh = opts.resolution
    up_warn: list[tuple[int, float]] = []
    up_note: list[tuple[int, float]] = []
    small_no_up: list[int] = []
    extreme: list[tuple[int, float, float]] = []
    buckets: dict[tuple[int, int], list[int]] = {}
    for e in ds.images:
        f = facts.get(e.id)
        if f is None or not f.training:
            continue
        w, h = f.width, f.height
        bucket, resized = bm.select(w, h)
        buckets.setdefault(bucket, []).append(e.id)
        scale = max(resized[0] / w, resized[1] / h)
        if scale > 1.001:
            (up_warn if scale >= UPSCALE_WARN else up_note).append((e.id, scale))
        elif opts.bucket_no_upscale and w * h < 0.5 * rw * rh:
            small_no_up.append(e.id)
        crop = 1.0 - (bucket[0] * bucket[1]) / max(1, resized[0] * resized[1])
        ratio = max(w / h, h / w)
        if ratio >= EXTREME_RATIO or crop >= CROP_WARN:
            extreme.append((e.id, ratio, crop))
    out: list[Finding] = []
    res = f"{rw}x{rh}"
    for items, level, code in ((up_warn, WARNING, "upscaled"), (up_note, NOTE, "upscaled-slightly")):
        if not items:
            continue
        items.sort(key=lambda t: -t[1])
        ids = [i for i, _ in items]
        paths = [ds.images[i].path for i in ids]
        worst = items[0][1]
        f0 = facts[ids[0]]
        msg = (f"{plural(len(ids), 'image')} smaller than the {res} training resolution will be upscaled "
               f"(up to x{worst:.1f}, e.g. `{paths[0]}` at {f0.width}x{f0.height}): {files_phrase(paths)}")
        hint = ("upscaled images train soft and blurry: replace them with larger versions, upscale them well "
                "beforehand, or set bucket_no_upscale") if level == WARNING else "slightly below the resolution; usually fine"
        out.append(Finding(level, code, "resolution", msg, hint, paths, ids,
                           [f"{ds.images[i].path}: {facts[i].width}x{facts[i].height}, x{s:.2f}" for i, s in items]))
    if small_no_up:
        paths = [ds.images[i].path for i in small_no_up]
        out.append(Finding(NOTE, "small-no-upscale", "resolution",
                           f"{plural(len(paths), 'image')} well below {res} train in small buckets (bucket_no_upscale): "
                           f"{files_phrase(paths)}", "they teach little detail at this resolution", paths, small_no_up))
    if extreme:
        extreme.sort(key=lambda t: -t[1])
        ids = [i for i, _, _ in extreme]
        paths = [ds.images[i].path for i in ids]
        what = "cropped" if not opts.enable_bucket else "in extreme buckets or cropped"
        out.append(Finding(WARNING, "aspect-ratio", "resolution",
                           f"{plural(len(ids), 'image')} with an extreme aspect ratio ({what}): {files_phrase(paths)}",
                           "crop them to the subject (closer to 1:2 .. 2:1), or split wide images",
                           paths, ids, [f"{ds.images[i].path}: {facts[i].width}x{facts[i].height} (1:{r:.1f}), "
                                        f"{c:.0%} cropped" for i, r, c in extreme]))
    repeats = {i: ds.subsets[ds.images[i].subset].repeats for i in range(len(ds.images))}
    table = sorted(((b, ids) for b, ids in buckets.items()), key=lambda t: (-len(t[1]), t[0]))
    single = [(b, ids[0]) for b, ids in table if len(ids) == 1]
    stats = {"buckets": [{"bucket": f"{b[0]}x{b[1]}", "images": len(ids), "views": sum(repeats[i] for i in ids)}
                         for b, ids in table]}
    if table:
        detail = [f"{b[0]:>5}x{b[1]:<5} {len(ids):>7,} images  {sum(repeats[i] for i in ids):>8,} views"
                  for b, ids in table]
        msg = (f"{plural(len(table), 'bucket')} at {res}"
               + (f"; largest {table[0][0][0]}x{table[0][0][1]} with {len(table[0][1]):,} images" if len(table) > 1 else ""))
        if not opts.enable_bucket:
            msg = f"bucketing off: every image is resized and centre-cropped to {res}"
        out.append(Finding(NOTE, "buckets", "resolution", msg, "", detail=detail))
        if single and opts.enable_bucket:
            ids = [i for _, i in single]
            paths = [ds.images[i].path for i in ids]
            level = WARNING if opts.batch_size > 1 else NOTE
            hint = (f"with batch size {opts.batch_size} their batches repeat the same image; crop them to a common "
                    "aspect ratio") if level == WARNING else "alone in its bucket; fine at batch size 1"
            out.append(Finding(level, "single-image-buckets", "resolution",
                               f"{plural(len(single), 'bucket')} with a single image: "
                               + ", ".join(f"{b[0]}x{b[1]} (`{ds.images[i].path}`)" for b, i in single[:4])
                               + (f" and {len(single) - 4} more" if len(single) > 4 else ""),
                               hint, paths, ids))
    return out, stats
