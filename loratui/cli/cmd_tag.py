"""`loratui tag DIR`: auto-tag images with a WD14 model (one journaled, undoable edit per run)."""

from __future__ import annotations

import signal
import sys
import threading

from .common import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, add_dataset_args, open_dataset, print_recovery

HELP = "auto-tag images with a WD14 tagger (onnxruntime; GPU when available)"
DESCRIPTION = """\
Run a WD14 tagger over a dataset and write the tags into the caption files.

By default only images without tags are tagged (--append merges into existing captions,
--overwrite replaces them). The whole run is one edit: `loratui undo DIR` reverts it.
Ctrl+C stops and writes what was tagged so far; running the same command again continues.
Probabilities are kept in DIR/.loratui/tagger/, so re-running with other thresholds does not
run the model again.

examples:
  loratui models get vit-v3                         download a model first
  loratui tag DIR --model vit-v3 --first mychar     tag untagged images, trigger word first
  loratui tag DIR --overwrite --threshold 0.5       re-apply a stricter threshold (from kept probabilities)
  loratui tag DIR --append --where "no-caption | tags<5" --undesired "simple background,white background"
  loratui tag DIR --model-dir ~/models/my-wd14 --require-gpu --batch 32"""


def _presets_text() -> str:
    from loratui.tagging.options import PRESETS  # light: no numpy, no onnxruntime

    return "\n\npresets (--preset NAME):\n" + "\n".join(f"  {k:<10} {v.description}" for k, v in PRESETS.items())


DESCRIPTION += _presets_text()


def add_arguments(p) -> None:
    from loratui.tagging.models import DEFAULT_MODEL, KNOWN_MODELS
    from loratui.tagging.options import PRESETS

    add_dataset_args(p)
    m = p.add_argument_group("model")
    m.add_argument("--model", metavar="NAME", help=f"a known model (default {DEFAULT_MODEL}): {', '.join(KNOWN_MODELS)}")
    m.add_argument("--model-dir", metavar="PATH", help="a folder holding model.onnx and selected_tags.csv")
    m.add_argument("--batch", type=int, metavar="N", help="batch size (default 16 on GPU, 4 on CPU; fixed-batch models use theirs)")
    m.add_argument("--workers", type=int, metavar="N", help="image decoding threads (default: one per core)")
    m.add_argument("--require-gpu", action="store_true", help="fail instead of falling back to the CPU")
    m.add_argument("--fast-decode", action="store_true",
                   help="decode big JPEGs at reduced scale: much faster on large photos, not bit-exact "
                        "with the reference preprocessing")
    s = p.add_argument_group("selection")
    s.add_argument("--preset", choices=list(PRESETS), metavar="NAME",
                   help=f"starting values ({', '.join(PRESETS)}; listed above); the flags below override them")
    s.add_argument("--threshold", "--general-threshold", dest="general_threshold", type=float, metavar="P",
                   help="general tags above this probability (default 0.35)")
    s.add_argument("--character-threshold", type=float, metavar="P", help="character tags above this (default 0.85)")
    s.add_argument("--mcut", action="store_true", default=None, help="per-image general threshold by MCut")
    s.add_argument("--character-mcut", action="store_true", default=None, help="per-image character threshold by MCut")
    s.add_argument("--rating", action="store_true", default=None, help="add the rating tag (general, sensitive, ...)")
    s.add_argument("--undesired", action="append", default=[], metavar="TAGS",
                   help="comma-separated tags never to write; repeatable")
    s.add_argument("--replace", action="append", default=[], metavar="FROM=TO",
                   help="replace a predicted tag (empty TO drops it); repeatable")
    s.add_argument("--first", "--trigger", action="append", default=[], metavar="TAG",
                   help="put this tag first in every caption (the trigger word); repeatable, order kept")
    s.add_argument("--keep-underscores", action="store_true", help="write long_hair, not long hair")
    s.add_argument("--escape-brackets", action="store_true", help=r"write \( \) so prompt weighting ignores them")
    s.add_argument("--characters-last", action="store_true", help="character tags after general tags")
    w = p.add_argument_group("what to tag")
    mode = w.add_mutually_exclusive_group()
    mode.add_argument("--append", dest="mode", action="store_const", const="append",
                      help="also tag captioned images, adding new tags after the existing ones")
    mode.add_argument("--overwrite", dest="mode", action="store_const", const="overwrite",
                      help="replace every selected caption with the prediction")
    w.add_argument("--where", default="", metavar="QUERY", help='only images matching a tag query, e.g. "no-caption"')
    w.add_argument("--no-keep-probs", action="store_true", help="do not store probabilities")
    w.add_argument("--no-cache", action="store_true", help="ignore stored probabilities; run the model on every image")
    w.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def build_options(args):
    """TaggingOptions from parsed arguments: defaults, then --preset, then explicit flags."""
    from loratui.tagging.options import TaggingOptions, apply_preset

    opts = TaggingOptions(model=args.model, model_dir=args.model_dir, mode=args.mode or "skip", batch=args.batch,
                          workers=args.workers, require_gpu=args.require_gpu, keep_probs=not args.no_keep_probs,
                          use_cache=not args.no_cache, fast_decode=args.fast_decode)
    if args.preset:
        opts = apply_preset(args.preset, opts)
    sel = opts.select
    for name in ("general_threshold", "character_threshold"):
        if getattr(args, name) is not None:
            setattr(sel, name, getattr(args, name))
    if args.mcut:
        sel.general_mcut = True
    if args.character_mcut:
        sel.character_mcut = True
    if args.rating:
        sel.rating = True
    sel.undesired += [t.strip() for v in args.undesired for t in v.split(",") if t.strip()]
    for pair in args.replace:
        if "=" not in pair:
            raise ValueError(f"--replace {pair!r}: expected FROM=TO")
        a, b = pair.split("=", 1)
        sel.replace.append((a.strip(), b.strip()))
    sel.always_first += [t.strip() for t in args.first if t.strip()]
    if args.keep_underscores:
        sel.underscores_to_spaces = False
    if args.escape_brackets:
        sel.escape_brackets = True
    if args.characters_last:
        sel.characters_first = False
    opts.validate()
    return opts


class ProgressBar:
    """One refreshed line on a terminal; a line every 10% otherwise (logs, pipes)."""

    def __init__(self, stream=None):
        self.stream = stream = stream or sys.stderr
        self.tty = stream.isatty()
        self.last_pct = -1
        self.shown = False

    def __call__(self, p) -> None:
        if p.phase == "loading":
            self._line(f"loading model... ({p.done:,} of {p.total:,} images from kept probabilities)" if p.done
                       else "loading model...")
            return
        if p.phase == "writing":
            self._line("writing captions...")
            return
        if p.phase == "done":
            if self.tty and self.shown:
                self.stream.write("\r\033[K")
                self.stream.flush()
            return
        pct = 100 * p.done // max(1, p.total)
        eta = p.eta
        eta_s = f"{int(eta // 60)}:{int(eta % 60):02d}" if eta is not None else "--:--"
        width = 24
        fill = width * p.done // max(1, p.total)
        text = (f"tagging [{'#' * fill}{'-' * (width - fill)}] {p.done:,}/{p.total:,} {pct:3d}%  "
                f"{p.rate:.1f} img/s  ETA {eta_s}  {p.device}" + (f"  {p.failed} failed" if p.failed else ""))
        if self.tty:
            self._line(text)
        elif pct // 10 != self.last_pct // 10:
            self.last_pct = pct
            print(text, file=self.stream, flush=True)

    def _line(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r\033[K" + text)
            self.stream.flush()
            self.shown = True
        else:
            print(text, file=self.stream, flush=True)


def run(args) -> int:
    from loratui.dataset import QueryError
    from loratui.tagging.models import ModelError
    from loratui.tagging.run import run_tagging

    try:
        opts = build_options(args)
    except ValueError as e:
        print(f"loratui tag: {e}", file=sys.stderr)
        return EXIT_USAGE
    ds = open_dataset(args)
    if ds is None:
        return EXIT_USAGE
    print_recovery(ds)
    try:
        ids = ds.select(args.where) if args.where else None
    except QueryError as e:
        print(f"loratui tag: --where: {e}", file=sys.stderr)
        return EXIT_USAGE
    cancel = threading.Event()
    bar = None if args.quiet else ProgressBar()
    previous = _stop_on_signals()
    try:
        summary = run_tagging(ds, opts, ids, progress=bar, cancel=cancel)
    except ModelError as e:
        print(f"\nloratui tag: {e}" if bar and bar.shown else f"loratui tag: {e}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        _restore_signals(previous)
    for line in summary.lines():
        print(line)
    problems = summary.failed + summary.refused
    for p in problems[:20]:
        print(f"  {p.level}: {p.path}: {p.message}", file=sys.stderr)
    if len(problems) > 20:
        print(f"  ... and {len(problems) - 20:,} more", file=sys.stderr)
    if summary.tagged:
        print("undo with: loratui undo " + _quote(args.dir))
    if summary.cancelled:
        print("stopped: run the same command again to continue", file=sys.stderr)
        return 130
    return EXIT_PARTIAL if problems else EXIT_OK


def _stop_on_signals():
    """SIGTERM and SIGHUP (SSH link dropped) stop the run like Ctrl+C: what is tagged gets written."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if sig is not None:
                previous[sig] = signal.signal(sig, handler)
    return previous


def _restore_signals(previous) -> None:
    for sig, h in previous.items():
        signal.signal(sig, h)


def _quote(s: str) -> str:
    import shlex

    return shlex.quote(s)


