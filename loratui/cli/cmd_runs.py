"""`loratui runs`: list runs; `runs start|clone|checkpoint|kick` manage them."""

from __future__ import annotations

import json
import sys

HELP = "list training runs and their state; start, queue or clone runs (detached)"
DESCRIPTION = """\
Runs live in a runs root (default DATASET/.loratui/runs, or $LORATUI_RUNS_ROOT) and train in a
detached process: closing the terminal or losing the SSH connection does not stop them.

  loratui runs                          every known run, newest first
  loratui runs --root DIR               runs of one runs root or dataset folder
  loratui runs start CONFIG [--queue]   start a run in the background (or queue it)
  loratui runs clone RUN [--start]      a new run with RUN's config
  loratui runs checkpoint RUN           ask a running run to save a resumable checkpoint now
  loratui runs show RUN                 progress, validation loss, the images it learns worst and best
  loratui runs kick                     start queued runs whose GPU is free

Then: loratui attach RUN, loratui logs RUN -f, loratui stop RUN, loratui resume RUN."""


def add_root(p) -> None:
    p.add_argument("--root", metavar="DIR", default=None,
                   help="a runs root or a dataset folder (default: every runs root used so far)")


def add_arguments(p) -> None:
    add_root(p)
    p.add_argument("--json", action="store_true", help="one JSON object per run")
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    s = sub.add_parser("start", help="start a run from a config, detached")
    s.add_argument("config", metavar="CONFIG")
    s.add_argument("--queue", action="store_true", help="wait in the queue for the GPU slot to be free")
    s.add_argument("--gpu", default=None, metavar="N", help="GPU index (sets CUDA_VISIBLE_DEVICES; one run per GPU)")
    s.add_argument("--runs-root", default=None, metavar="DIR", help="where the run folder goes")
    s.add_argument("--name", default=None, help="run folder name (default NAME-DATE-TIME)")
    s.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    s.add_argument("--ignore-vram", action="store_true",
                   help="start even when the VRAM estimate exceeds the GPU's free memory")
    s.add_argument("--ignore-check", action="store_true",
                   help="start even when the dataset check finds errors (config errors always block)")
    c = sub.add_parser("clone", help="a new run with the config of RUN")
    c.add_argument("run", metavar="RUN")
    c.add_argument("--start", action="store_true", help="start it now")
    c.add_argument("--queue", action="store_true", help="queue it")
    add_root(c)
    k = sub.add_parser("checkpoint", help="ask a running run to save a resumable checkpoint now")
    k.add_argument("run", metavar="RUN", nargs="?")
    add_root(k)
    w = sub.add_parser("show", help="progress, validation loss and the hardest/easiest images of a run")
    w.add_argument("run", metavar="RUN", nargs="?")
    w.add_argument("-n", type=int, default=5, metavar="N", help="images listed each way (default 5)")
    add_root(w)
    q = sub.add_parser("kick", help="start queued runs whose slot is free")
    add_root(q)


def start_detached(config: str, *, queue=False, gpu=None, runs_root=None, name=None, fresh=False,
                   worker_cmd=None, ignore_vram=False) -> int:
    """What `loratui train CONFIG --detach` does."""
    from loratui.runs import RunError, launch

    from .cmd_train import vram_check_passes

    if not vram_check_passes(config, gpu=gpu, queued=queue, override=ignore_vram):
        return 1
    try:
        run = launch(config, runs_root, queue=queue, gpu=gpu, name=name, fresh=fresh, worker_cmd=worker_cmd)
    except RunError as e:
        print(f"loratui: {e}", file=sys.stderr)
        return 1
    st = run.status()
    print(f"{run.name}: {st.state}{' (' + st.detail + ')' if st.detail else ''}")
    print(f"run folder {run.dir}")
    print(f"follow it: loratui attach {run.name}    stop it: loratui stop {run.name}")
    return 0


def run(args) -> int:
    from loratui.runs import Run, RunError, all_statuses, find_run, kick, roots_for, save_now

    roots = roots_for(args.root)
    try:
        if args.action == "start":
            from .cmd_train import _dataset_check_passes

            if not _dataset_check_passes(args):  # the same gate as `train --detach`
                return 1
            return start_detached(args.config, queue=args.queue, gpu=args.gpu, runs_root=args.runs_root,
                                  name=args.name, fresh=args.fresh, ignore_vram=args.ignore_vram)
        if args.action == "clone":
            new = Run(find_run(args.run, roots)).clone()
            print(f"created {new.name} ({new.dir})")
            if args.start or args.queue:
                new.resume(queue=args.queue)
                print(f"{new.name}: {new.status().state}")
            return 0
        if args.action == "checkpoint":
            run_dir = find_run(args.run, roots)
            save_now(run_dir)
            print(f"asked {Run(run_dir).name} to save a checkpoint (watch for it in `loratui attach`)")
            return 0
        if args.action == "show":
            from loratui.runs.text import show_text

            print(show_text(find_run(args.run, roots), n=max(1, args.n)))
            return 0
        if args.action == "kick":
            started = [d for r in roots for d in kick(r)]
            print("\n".join(f"started {d}" for d in started) or "nothing to start")
            return 0
    except RunError as e:
        print(f"loratui: {e}", file=sys.stderr)
        return 1
    for r in roots:  # a queue whose supervisor died gets going again when anyone looks
        try:
            kick(r)
        except OSError:
            pass
    statuses = all_statuses(roots)
    if args.json:
        for s in statuses:
            print(json.dumps({"name": s.name, "dir": s.run_dir, "state": s.state, "detail": s.detail,
                              "step": s.last.get("step"), "total_steps": s.last.get("total_steps"),
                              "epoch": s.last.get("epoch"), "epochs": s.epochs, "loss": s.last.get("loss"),
                              "output": s.output_file, "started": s.started}))
        return 0
    if not statuses:
        print("no runs" + (f" in {', '.join(roots)}" if roots else " yet (start one: loratui runs start CONFIG)"))
        return 0
    from loratui.runs.text import runs_table

    print(runs_table(statuses))
    return 0
