"""Dataset health check at scale: 20,000 small real images (PNG and JPEG, 96-320 px) with captions.

Prints, in one run, on the same files:
  (a) full check, cold (nothing cached: every image decoded for its dHash, same-size files hashed)
  (b) the same check with the hash cache warm                             target (b) <= 0.2x (c)
  (c) one full decode pass: every image opened and decoded once (Pillow ``load``), with the same
      number of threads the check uses
Both checks include opening the dataset (scan, captions, tag index). The files are written once,
then the page cache is warmed with one read of every image and caption so no phase pays for the
first disk read alone, and loratui's modules are imported before any timing (as Pillow is by the
first decode pass).

usage: python bench/check_scale.py [N] [--keep DIR]   (default N = 20000)
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

VOCAB = [f"tag {i}" for i in range(2000)] + ["smile", "hat", "outdoors", "indoors", "standing", "sitting"]
FRAMING = ["close-up", "upper body", "cowboy shot", "full body"]


def generate(root: str, n: int) -> None:
    import numpy as np
    from PIL import Image

    rng = random.Random(1)
    nrng = np.random.default_rng(1)
    subsets = [("10_mychar", n // 2), ("4_outfits", n // 4), ("2_misc", n - n // 2 - n // 4)]
    k = 0
    last = None  # the previous picture, for near-duplicates
    for folder, count in subsets:
        d = os.path.join(root, folder)
        os.makedirs(d)
        for i in range(count):
            w, h = rng.choice([(96, 96), (128, 160), (160, 128), (192, 256), (256, 192), (320, 320), (256, 256)])
            if rng.random() < 0.01 and k > 10:
                # a re-encoded near-duplicate of an earlier picture
                im = last.resize((w, h))
            else:
                im = Image.fromarray(nrng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize((w, h), Image.Resampling.BICUBIC)
                last = im
            stem = os.path.join(d, f"img{i:06d}")
            if rng.random() < 0.6:
                im.save(stem + ".jpg", quality=85)
            else:
                im.save(stem + ".png", compress_level=1)
            tags = ["mychar", "1girl", "solo", "blonde hair", rng.choice(FRAMING)] + rng.sample(VOCAB, rng.randint(5, 20))
            with open(stem + ".txt", "w", encoding="utf-8") as f:
                f.write(", ".join(dict.fromkeys(tags)))
            k += 1


def image_paths(root: str) -> list[str]:
    out = []
    for dp, dn, fn in os.walk(root):
        dn[:] = [x for x in dn if not x.startswith(".")]
        out += [os.path.join(dp, f) for f in fn if f.endswith((".jpg", ".png"))]
    return sorted(out)


def decode_pass(paths: list[str], threads: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image

    def load(p: str) -> None:
        with Image.open(p) as im:
            im.load()

    with ThreadPoolExecutor(max_workers=threads) as ex:
        list(ex.map(load, paths, chunksize=64))


def timed_check(root: str) -> tuple[float, object]:
    from loratui.check import check_dataset
    from loratui.dataset import Dataset

    t = time.perf_counter()
    ds = Dataset.open(root)
    r = check_dataset(ds)
    return time.perf_counter() - t, r


def main() -> int:
    args = sys.argv[1:]
    keep = None
    if "--keep" in args:
        i = args.index("--keep")
        keep = args[i + 1]
        del args[i:i + 2]
    n = int(args[0]) if args else 20000
    tmp = keep or tempfile.mkdtemp(prefix="loratui-check-bench-")
    try:
        if not os.path.isdir(os.path.join(tmp, "10_mychar")):
            t = time.perf_counter()
            generate(tmp, n)
            print(f"generated {n:,} images in {time.perf_counter() - t:.1f} s ({tmp})")
        shutil.rmtree(os.path.join(tmp, ".loratui"), ignore_errors=True)
        paths = image_paths(tmp)
        # warm the page cache once so no phase pays for the first read alone: the images, and the
        # captions, which only the check reads (a cold disk made the check's open 4 s slower)
        for p in paths + [os.path.splitext(p)[0] + ".txt" for p in paths]:
            try:
                with open(p, "rb") as f:
                    f.read()
            except FileNotFoundError:
                pass
        import loratui.check  # noqa: F401  imported before any timing, as Pillow is by the first decode pass
        from loratui.check.image_facts import _threads

        threads = _threads()
        t = time.perf_counter()
        decode_pass(paths, threads)
        decode = time.perf_counter() - t
        cold, r1 = timed_check(tmp)
        warm, r2 = timed_check(tmp)
        t = time.perf_counter()
        decode_pass(paths, threads)
        decode2 = time.perf_counter() - t
        decode = min(decode, decode2)
        print(f"images: {len(paths):,}; threads: {threads}; cpu cores: {os.cpu_count()}")
        print(f"(c) full decode pass        {decode:7.2f} s")
        print(f"(a) check, cold cache       {cold:7.2f} s   {cold / decode:5.2f}x decode  "
              f"({r1.stats['image_facts']['decoded']:,} decoded)   target <= 1.20x: "
              f"{'met' if cold <= 1.2 * decode else 'NOT met'}")
        print(f"    cold phases: {r1.stats['seconds']}")
        print(f"(b) check, warm cache       {warm:7.2f} s   {warm / decode:5.2f}x decode  "
              f"({r2.stats['image_facts']['decoded']:,} decoded)   target <= 0.20x: "
              f"{'met' if warm <= 0.2 * decode else 'NOT met'}")
        print(f"    warm phases: {r2.stats['seconds']}")
        print(f"    load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"    findings: {r2.summary()}; near-duplicate groups {r2.stats['near_groups']}, "
              f"identical groups {r2.stats['exact_groups']}")
        return 0
    finally:
        if keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
