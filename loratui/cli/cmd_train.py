"""`loratui train CONFIG`: train in the foreground, printing progress; Ctrl-C stops with a checkpoint."""

from __future__ import annotations

import os
import sys
import time

from loratui.runs.layout import STOP

from .common import EXIT_ERROR, EXIT_OK, EXIT_USAGE

HELP = "train a LoRA from a config file, in the foreground (Ctrl-C saves a checkpoint; run again to resume)"
DESCRIPTION = """\
Train a LoRA in this terminal. The run folder (default: OUTPUT_DIR/NAME.run) holds a copy of the
config with absolute paths, the event log (events.jsonl) and the resumable checkpoint. Ctrl-C (or
creating RUN_DIR/stop) saves a checkpoint and stops; the same command resumes at the exact step.
The same run folder works with the worker: python -m loratui.train RUN_DIR."""


def add_arguments(p) -> None:
    p.add_argument("config", metavar="CONFIG", help="a loratui training config (.toml)")
    p.add_argument("--run-dir", metavar="DIR", default=None, help="run folder (default: OUTPUT_DIR/NAME.run)")
    p.add_argument("--fresh", action="store_true", help="discard an existing checkpoint (or finished state) and train from step 0")
    p.add_argument("--quiet", action="store_true", help="print only warnings, saved files and the outcome")
    p.add_argument("--detach", action="store_true",
                   help="run in the background (survives closing the terminal or SSH); follow with `loratui attach`")
    p.add_argument("--queue", action="store_true", help="with --detach: start after the runs already going")
    p.add_argument("--gpu", default=None, metavar="N", help="with --detach: the GPU to use (one run per GPU at a time)")
    p.add_argument("--ignore-check", action="store_true",
                   help="launch even when the dataset check finds errors (warnings never block)")
    p.add_argument("--ignore-vram", action="store_true",
                   help="launch even when the VRAM estimate exceeds the GPU's free memory")


def run(args) -> int:
    if args.detach and args.run_dir:
        print("loratui: --run-dir and --detach do not go together: a detached run gets its own folder "
              "in the runs root (see `loratui runs`)", file=sys.stderr)
        return EXIT_USAGE
    if not args.detach and (args.queue or args.gpu is not None):
        print("loratui: --queue and --gpu go with --detach", file=sys.stderr)
        return EXIT_USAGE
    if not _dataset_check_passes(args):
        return EXIT_ERROR
    if args.detach:
        from .cmd_runs import start_detached

        return start_detached(args.config, queue=args.queue, gpu=args.gpu, fresh=args.fresh,
                              ignore_vram=args.ignore_vram)
    from loratui.config.model import TrainConfig
    from loratui.config.toml_io import ConfigError
    from loratui.config.validate import launch_errors

    try:
        cfg = TrainConfig.load(args.config)
    except ConfigError as e:
        print(f"loratui: {e}", file=sys.stderr)
        return EXIT_USAGE
    errors = launch_errors(cfg)
    if errors:  # --ignore-check is about the dataset's health only: config errors always block
        print(f"loratui: {args.config}: the config has {len(errors)} error{'s' if len(errors) != 1 else ''}; "
              "not training (`loratui config check` explains each):", file=sys.stderr)
        for f in errors[:20]:
            print(f"  {f}", file=sys.stderr)
        return EXIT_USAGE
    if not vram_check_passes(cfg, override=args.ignore_vram):
        return EXIT_ERROR
    resolved = cfg.resolved()
    run_dir = os.path.abspath(args.run_dir or os.path.join(resolved.output.dir, f"{resolved.output.name}.run"))
    os.makedirs(run_dir, exist_ok=True)
    resolved.save(os.path.join(run_dir, "config.toml"))
    stop = os.path.join(run_dir, STOP)
    if os.path.exists(stop):
        os.unlink(stop)  # a stop request from an earlier run must not end this one at once
    from loratui.train.worker import EXIT_STOPPED, run_worker

    printer = _Printer(quiet=args.quiet, tty=sys.stdout.isatty())
    print(f"run folder {run_dir}")
    rc = run_worker(run_dir, fresh=args.fresh, echo=printer)
    printer.end_line()
    if rc == EXIT_STOPPED:
        print(f"stopped; resume with: loratui train {args.config}" + (f" --run-dir {args.run_dir}" if args.run_dir else ""))
        return rc
    return EXIT_OK if rc == 0 else EXIT_ERROR


def _dataset_check_passes(args) -> bool:
    """The health check runs before every launch: errors block unless --ignore-check."""
    from loratui.check import launch_gate, pre_launch_check
    from loratui.config.model import TrainConfig
    from loratui.config.toml_io import ConfigError

    try:
        cfg = TrainConfig.load(args.config)
    except ConfigError:
        return True  # reported with its details by the launch itself
    report = pre_launch_check(cfg)
    ok, message = launch_gate(report, override=args.ignore_check)
    print(f"loratui: {message}", file=sys.stderr)
    if not ok:
        for f in report.errors[:10]:
            print(f"  {f.message}", file=sys.stderr)
    return ok


def vram_check_passes(config, *, gpu=None, queued: bool = False, override: bool = False) -> bool:
    """The VRAM gate before every launch: the estimate against the GPU's free memory (NVML); over it,
    a refusal with what would make it fit, unless ``override``. ``config``: a path or a TrainConfig."""
    from loratui.config.model import TrainConfig
    from loratui.config.toml_io import ConfigError
    from loratui.runs.gpu import check_vram

    if not isinstance(config, TrainConfig):
        try:
            config = TrainConfig.load(config)
        except (ConfigError, OSError):
            return True  # reported with its details by the launch itself
    ok, message = check_vram(config, gpu=gpu, queued=queued, override=override)
    print(f"loratui: {message}", file=sys.stderr)
    return ok


class _Printer:
    def __init__(self, quiet: bool, tty: bool):
        self.quiet = quiet
        self.tty = tty
        self.last = 0.0
        self.open_line = False

    def end_line(self) -> None:
        if self.open_line:
            print()
            self.open_line = False

    def say(self, text: str, err: bool = False) -> None:
        self.end_line()
        print(text, file=sys.stderr if err else sys.stdout, flush=True)

    def __call__(self, ev: dict) -> None:
        t = ev["type"]
        if t == "step":
            if self.quiet:
                return
            line = (f"step {ev['step']}/{ev['total_steps']}  epoch {ev['epoch']}  loss {ev['loss']:.4f} "
                    f"(avg {ev['loss_avg']:.4f})  {ev['it_s']:.2f} it/s  eta {_dur(ev['eta_s'])}")
            if self.tty:
                print("\r" + line.ljust(100), end="", flush=True)
                self.open_line = True
            elif time.time() - self.last > 10 or ev["step"] == ev["total_steps"]:
                self.last = time.time()
                print(line, flush=True)
        elif t == "warning":
            self.say(f"warning: {ev['message']}", err=True)
        elif t == "error":
            self.say(f"error: {ev['message']}", err=True)
            if ev.get("traceback"):
                print(ev["traceback"], file=sys.stderr)
        elif t == "saved":
            self.say(f"saved {ev['path']}")
        elif t == "sample":
            self.say(f"sample {ev['path']}")
        elif t == "stopped":
            self.say(f"stopped at step {ev['step']} ({ev['reason']}); checkpoint {ev['checkpoint']}")
        elif t == "finished":
            self.say(f"finished: {ev['path']} ({_dur(ev['seconds'])})")
        elif self.quiet:
            return
        elif t == "dataset":
            self.say(f"dataset: {ev['images']} images ({ev['num_train_images']} with repeats), "
                     f"{len(ev['buckets'])} buckets, {ev['steps_per_epoch']} steps/epoch, {ev['total_steps']} steps")
        elif t == "model_loaded":
            threads = f", {ev['cpu_threads']} CPU threads" if "cpu_threads" in ev else ""
            self.say(f"model: {ev['base_model']} on {ev['device']}{threads} ({ev['seconds']:.1f}s)")
        elif t == "resumed":
            self.say(f"resuming at step {ev['step']} (epoch {ev['epoch']})")
        elif t == "caching" and "seconds" in ev:
            self.say(f"latents cached: {ev['done']} in {ev['seconds']:.1f}s")


def _dur(s: float) -> str:
    s = int(s)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
