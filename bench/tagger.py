"""Benchmark the WD14 tagging pipeline against a naive loop and bare inference.

    python bench/tagger.py [--images 300] [--gpu] [--width 48 --depth 3]

On a few hundred generated images (JPEG and PNG, some with alpha, 512-1024 px) and one stand-in
model (448 px NHWC input, a conv stack; see loratui/tagging/standin.py), prints images/s for:

  (a) loratui: ``run_tagging`` end to end (parallel decode + batched inference + caption writes)
  (a') the same with ``fast_decode`` (reduced-scale JPEG decoding; not bit-exact)
  (b) naive:   per image: open, reference preprocessing, ``session.run`` on a batch of 1
  (c) bare:    ``session.run`` alone on already-preprocessed batches (the inference ceiling)
  (d) decode only: the reference preprocessing of every image on all the cores this process may
      use (threads), no inference (the decode ceiling)

all in one process with the same model. The pipeline cannot beat the slower of its two stages, so
the target is (a) >= 0.8x min((c), (d)); also (a) >= 3x (b) on CPU. ``--gpu`` runs the same on CUDA
(fails if CUDA is missing): there (c) is the bare CUDA session and the GPU must not starve.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402


def make_images(folder: str, n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    sub = os.path.join(folder, "10_bench")
    os.makedirs(sub, exist_ok=True)
    paths = []
    for i in range(n):
        long = int(rng.integers(512, 1025))
        short = int(long * rng.uniform(0.6, 1.0))
        w, h = (long, short) if rng.random() < 0.5 else (short, long)
        base = rng.integers(0, 256, (max(2, h // 32), max(2, w // 32), 3), dtype=np.uint8)
        im = Image.fromarray(base).resize((w, h), Image.BILINEAR)
        if i % 5 == 4:
            a = Image.new("L", (w, h), 255)
            a.paste(96, (0, 0, w // 3, h // 3))
            im.putalpha(a)
            p = os.path.join(sub, f"img{i:04d}.png")
            im.save(p, compress_level=1)
        else:
            p = os.path.join(sub, f"img{i:04d}.jpg")
            im.save(p, quality=90)
        paths.append(p)
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--size", type=int, default=448, help="model input size")
    ap.add_argument("--width", type=int, default=48, help="stand-in conv width (inference cost)")
    ap.add_argument("--depth", type=int, default=3, help="stand-in conv depth (inference cost)")
    ap.add_argument("--batch", type=int, default=None, help="batch for (a) and (c) (default: loratui's)")
    ap.add_argument("--workers", type=int, default=None, help="decode threads for (a)")
    ap.add_argument("--gpu", action="store_true", help="run on CUDA (required)")
    ap.add_argument("--skip-naive", action="store_true")
    args = ap.parse_args(argv)

    import onnxruntime as ort

    from loratui.dataset import Dataset
    from loratui.tagging import ModelFiles, SelectOptions, TaggingOptions, load_image, reference_preprocess, run_tagging
    from loratui.tagging.session import CPU, CUDA, Tagger
    from loratui.tagging.standin import build_standin

    providers = [CUDA, CPU] if args.gpu else [CPU]
    with tempfile.TemporaryDirectory(prefix="loratui-bench-") as tmp:
        t = time.perf_counter()
        paths = make_images(os.path.join(tmp, "ds"), args.images)
        model_dir = build_standin(os.path.join(tmp, "model"), size=args.size, width=args.width, depth=args.depth)
        files = ModelFiles("bench", model_dir)
        print(f"{len(paths)} images generated in {time.perf_counter() - t:.1f}s; model {args.size}px, "
              f"conv width {args.width} x depth {args.depth}; {os.cpu_count()} CPU core(s)")
        tagger = Tagger.load(files, batch=args.batch, require_gpu=args.gpu, providers=providers)
        bs = tagger.batch_size
        print(f"provider: {tagger.provider}; batch {bs}")
        warm = np.zeros((bs, args.size, args.size, 3), np.float32)
        tagger.run(warm)

        # (a) loratui's pipeline, end to end (captions written, journaled)
        ds = Dataset.open(os.path.join(tmp, "ds"))
        opts = TaggingOptions(model_dir=model_dir, select=SelectOptions(), mode="overwrite", batch=bs,
                              workers=args.workers, keep_probs=False, use_cache=False, require_gpu=args.gpu)
        t = time.perf_counter()
        s = run_tagging(ds, opts, tagger=tagger)
        ta = time.perf_counter() - t
        assert s.inferred == len(paths) and not s.failed, s.lines()
        rate_a = len(paths) / ta

        # (a') the same with --fast-decode (not bit-exact with the reference preprocessing)
        t = time.perf_counter()
        s = run_tagging(ds, replace(opts, fast_decode=True), tagger=tagger)
        rate_af = len(paths) / (time.perf_counter() - t)
        assert s.inferred == len(paths) and not s.failed, s.lines()

        # (c) bare session.run on preprocessed batches
        arrays = np.stack([load_image(p, args.size) for p in paths])
        t = time.perf_counter()
        for i in range(0, len(arrays), bs):
            tagger.run(arrays[i:i + bs])
        tc = time.perf_counter() - t
        rate_c = len(paths) / tc
        del arrays

        # (d) decode only: reference preprocessing on every available core, no inference
        from concurrent.futures import ThreadPoolExecutor

        from loratui.train.threads import available_cpus

        cores = available_cpus()
        t = time.perf_counter()
        with ThreadPoolExecutor(max_workers=cores) as ex:
            for _ in ex.map(lambda p: load_image(p, args.size), paths, chunksize=8):
                pass
        rate_d = len(paths) / (time.perf_counter() - t)

        # (b) naive loop: one image at a time, reference code, its own default session
        rate_b = None
        if not args.skip_naive:
            so = ort.SessionOptions()
            so.log_severity_level = 3
            sess = ort.InferenceSession(files.model_path, sess_options=so, providers=providers)
            name = sess.get_inputs()[0].name
            sess.run(None, {name: warm[:1]})
            t = time.perf_counter()
            for p in paths:
                with Image.open(p) as im:
                    x = reference_preprocess(im, args.size)[None]
                sess.run(None, {name: np.ascontiguousarray(x)})
            rate_b = len(paths) / (time.perf_counter() - t)

    where = "GPU" if args.gpu else "CPU"
    print(f"(a) loratui pipeline     {rate_a:8.1f} images/s")
    print(f"(a') same, --fast-decode {rate_af:8.1f} images/s")
    if rate_b is not None:
        print(f"(b) naive per-image loop {rate_b:8.1f} images/s")
    print(f"(c) bare session.run     {rate_c:8.1f} images/s")
    print(f"(d) decode only          {rate_d:8.1f} images/s  ({cores} threads)")
    ok = True
    if rate_b is not None:
        r = rate_a / rate_b
        ok &= r >= 3
        print(f"(a)/(b) = {r:.2f}x  (target on CPU: >= 3x)  {'ok' if r >= 3 else 'MISSED'} [{where}]")
    slower, which = (rate_c, "(c) inference") if rate_c <= rate_d else (rate_d, "(d) decode")
    r = rate_a / slower
    ok &= r >= 0.8
    print(f"(a)/min((c),(d)) = {r:.2f}x  (slower stage: {which}; target >= 0.8x)  "
          f"{'ok' if r >= 0.8 else 'MISSED'} [{where}]")
    print(f"(a)/(c) = {rate_a / rate_c:.2f}x  (a)/(d) = {rate_a / rate_d:.2f}x; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
