"""``python -m loratui.train RUN_DIR [--fresh]``: the training worker process.

Run folder layout (created by the caller; the worker creates the rest):

- ``RUN_DIR/config.toml``: the run's config, in the loratui config format (``loratui.config``).
  Relative paths in it are relative to RUN_DIR (``output.dir`` defaults to ``RUN_DIR/output``).
- ``RUN_DIR/events.jsonl``: the append-only event log (schema: ``loratui.train.events``).
- ``RUN_DIR/stop``: create it to ask the worker to stop; it saves a resumable checkpoint first.
  SIGINT / SIGTERM do the same (a second signal kills at once). The worker never deletes it:
  whoever resumes the run removes it first (``loratui train`` does).
- ``RUN_DIR/state/checkpoint.pt``: the resumable checkpoint (LoRA weights, optimizer, scheduler,
  RNG, step/epoch/batch position). Starting the worker again on the same folder resumes at the
  exact step; ``--fresh`` discards it.
- ``RUN_DIR/state/finished.json``: written at the end; starting the worker again then only reports
  ``finished`` (with ``already: true``) unless ``--fresh``.
- ``RUN_DIR/worker.pid``: the worker's pid while it runs.
- LoRA files go to ``output.dir``: ``NAME-000001.safetensors`` ... and ``NAME.safetensors``.

Exit status: 0 finished, 1 error (an ``error`` event says why), 3 stopped (resumable).
Multi-GPU: launch with ``accelerate launch -m loratui.train RUN_DIR``; only rank 0 writes events.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from loratui.runs.layout import CHECKPOINT_DIR, CHECKPOINT_FILE, FINISHED_FILE, WORKER_PID

from .events import EVENTS_FILE, EventLog

EXIT_FINISHED, EXIT_ERROR, EXIT_STOPPED = 0, 1, 3


def is_main_process() -> bool:
    return int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")) or 0) == 0


def run_worker(run_dir: str, fresh: bool = False, echo=None, spec=None) -> int:
    """Train the run in ``run_dir``; every outcome is an event. Returns the exit status."""
    from .data import DataError
    from .guard import NonFiniteLoss
    from .hooks import install_stack_dump, uninstall_stack_dump
    from .models import ModelError
    from .optim import OptimizerUnavailable
    from .trainer import Stopper, train

    run_dir = os.path.abspath(run_dir)
    main = is_main_process()
    events = EventLog(os.path.join(run_dir, EVENTS_FILE) if main else None, echo=echo if main else None)
    pid_file = os.path.join(run_dir, WORKER_PID)
    stopper = Stopper(run_dir)
    stopper.install_signals()
    stack_signal = install_stack_dump(run_dir if main else None)  # multi-GPU: only the main process writes
    try:
        if main:
            with open(pid_file, "w") as f:
                f.write(f"{os.getpid()}\n")
        if spec is None:
            from .spec import load_run_spec

            spec = load_run_spec(run_dir)
        ckpt = os.path.join(run_dir, CHECKPOINT_DIR, CHECKPOINT_FILE)
        finished = os.path.join(run_dir, CHECKPOINT_DIR, FINISHED_FILE)
        if fresh:
            for p in (ckpt, finished):
                if os.path.exists(p):
                    os.unlink(p)
        events.emit("start", pid=os.getpid(), run_dir=run_dir, spec=spec.to_dict(),
                    resume=os.path.exists(ckpt), versions=_versions(), stack_signal=stack_signal)
        if main:
            from loratui.runs.gpu import worker_vram_warning

            vram = worker_vram_warning(spec)
            if vram:
                events.warning(vram)
        if os.path.exists(finished):
            import json

            with open(finished) as f:
                done = json.load(f)
            events.warning("this run already finished; start it with --fresh to train again", finished)
            events.emit("finished", step=done["step"], epoch=done["epoch"], path=done["path"], seconds=0.0,
                        already=True)
            return EXIT_FINISHED
        result = train(spec, run_dir, events, stopper, resume=not fresh)
        return EXIT_STOPPED if result.status == "stopped" else EXIT_FINISHED
    except NonFiniteLoss as e:
        events.emit("error", message=str(e), traceback="", kind="nan", step=e.step, value=str(e.value),
                    what=e.what, checkpoint=e.checkpoint)
        return EXIT_ERROR
    except (DataError, ModelError, OptimizerUnavailable) as e:
        events.emit("error", message=str(e), traceback="", **({"path": e.path} if getattr(e, "path", "") else {}))
        return EXIT_ERROR
    except Exception as e:  # noqa: BLE001 - the log must say why the worker died
        name = type(e).__name__
        if name == "ConfigError":
            events.emit("error", message=str(e), traceback="", path=os.path.join(run_dir, "config.toml"))
        else:
            events.emit("error", message=f"{name}: {e}", traceback=traceback.format_exc())
        return EXIT_ERROR
    finally:
        uninstall_stack_dump()
        events.close()
        if main:
            try:
                os.unlink(pid_file)
            except OSError:
                pass


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("torch", "diffusers", "transformers", "peft", "accelerate"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loratui.train", description=__doc__.split("\n")[0])
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--fresh", action="store_true", help="discard an existing checkpoint (or finished state) and train from step 0")
    args = p.parse_args(argv)
    if not os.path.isfile(os.path.join(args.run_dir, "config.toml")):
        print(f"{args.run_dir}: no config.toml in this folder", file=sys.stderr)
        return 2
    return run_worker(args.run_dir, fresh=args.fresh)
