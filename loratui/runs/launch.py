"""Creating and starting runs: detached (new session, output to ``worker.log``), queued, resumed,
cloned. Two active runs never write the same output file.

The process tree of a detached run::

    python -m loratui.runs.supervisor RUN_DIR TOKEN   (own session: no terminal, no SIGHUP)
      └─ python -u -m loratui.train RUN_DIR          (own process group: a kill takes its children)

The supervisor records both processes in ``process.json``, waits for the worker, writes how it
ended to ``exit.json`` and starts the next queued run. Closing the TUI, the SSH session or tmux
touches neither process.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import uuid

from . import layout as L

WORKER_CMD = [sys.executable, "-u", "-m", "loratui.train"]
"""The training worker, completed with the run folder (and ``--fresh``)."""


@contextlib.contextmanager
def file_lock(path: str):
    """An exclusive advisory lock (flock) on ``path``, held for the ``with`` body."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a+") as f:
        try:
            import fcntl

            fcntl.flock(f, fcntl.LOCK_EX)
        except ImportError:  # not POSIX: no cross-process lock
            pass
        yield


def global_lock():
    return file_lock(os.path.join(L.data_dir(), "runs.lock"))


def _load_config(config):
    from loratui.config.model import TrainConfig
    from loratui.config.toml_io import ConfigError

    if isinstance(config, (str, os.PathLike)):
        try:
            return TrainConfig.load(str(config)), os.path.abspath(str(config))
        except ConfigError as e:
            raise L.RunError(str(e)) from e
        except OSError as e:
            raise L.RunError(f"{config}: {e.strerror or e}") from e
    return config, ""


def check_output_free(output_file: str, run_dir: str, roots: list[str]) -> None:
    """Raise RunError when another queued/starting/running run writes ``output_file``."""
    from .state import run_status

    seen = set()
    for root in roots:
        for d in L.list_run_dirs(root):
            if d in seen or os.path.abspath(d) == os.path.abspath(run_dir):
                continue
            seen.add(d)
            rec = L.read_json(os.path.join(d, L.RECORD), {}) or {}
            if rec.get("output_file") != output_file:
                continue
            st = run_status(d)
            if st.active:
                raise L.RunError(f"run {st.name} ({st.state}) already writes {output_file}; "
                                 "stop it or change output.name")


def config_gate(cfg, source: str = "") -> None:
    """Raise RunError listing the config's validation errors: they block every launch path."""
    from loratui.config.validate import launch_errors

    errors = launch_errors(cfg)
    if errors:
        where = f"{source}: " if source else ""
        lines = "\n".join(f"  {f}" for f in errors[:20])
        raise L.RunError(f"{where}the config has {len(errors)} error{'s' if len(errors) != 1 else ''}; "
                         f"nothing was started (`loratui config check` explains each):\n{lines}")


def check_run_name(name: str) -> str:
    """Run names are plain single path components (they become a folder in the runs root)."""
    from loratui.dataset.safe_paths import UnsafePath, check_component

    try:
        return check_component(name, what="run name", max_len=100)
    except UnsafePath as e:
        raise L.RunError(f"run name {e.value!r}: {e.reason}") from None


def create_run(config, runs_root: str | None = None, *, name: str | None = None, gpu=None,
               worker_cmd: list[str] | None = None) -> str:
    """A new run folder with the frozen config and the run record; nothing is started."""
    cfg, source = _load_config(config)
    config_gate(cfg, source)
    if name is not None:
        check_run_name(name)
    if gpu not in (None, "") and not L.GPU_RE.match(str(gpu)):
        raise L.RunError(f"--gpu {gpu!r}: expected a GPU index such as 0 (or 0,1)")
    resolved = cfg.resolved()
    root = os.path.abspath(runs_root or L.default_runs_root(resolved))
    os.makedirs(root, mode=0o755, exist_ok=True)
    name = name or L.new_run_name(root, resolved.output.name)
    run_dir = os.path.join(root, name)
    if os.path.lexists(run_dir):
        raise L.RunError(f"{run_dir} already exists")
    os.mkdir(run_dir, 0o755)
    resolved.save(os.path.join(run_dir, L.CONFIG))
    worker = list(worker_cmd or WORKER_CMD)
    L.write_json(os.path.join(run_dir, L.RECORD), {
        "name": name, "created": time.time(), "config_source": source,
        "output_file": resolved.output_file(), "output_dir": resolved.output.dir,
        "output_name": resolved.output.name, "gpu": None if gpu in (None, "") else str(gpu),
        "worker": worker, "worker_sig": L.sign_worker(worker), "launches": []})
    try:
        os.symlink(resolved.output.dir, os.path.join(run_dir, L.OUTPUT_LINK))
    except OSError:
        pass
    L.remember_root(root)
    return run_dir


def launch(config, runs_root: str | None = None, *, queue: bool = False, gpu=None, name: str | None = None,
           worker_cmd: list[str] | None = None, fresh: bool = False):
    """Create a run for ``config`` (a path or a TrainConfig) and start it detached, or queue it.

    Raises RunError (bad config, output already being written). Returns the ``Run``."""
    from .run import Run

    run_dir = create_run(config, runs_root, name=name, gpu=gpu, worker_cmd=worker_cmd)
    try:
        start(run_dir, queue=queue, fresh=fresh)
    except L.RunError:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return Run(run_dir)


def start(run_dir: str, *, queue: bool = False, fresh: bool = False) -> None:
    """Start (or queue) an existing run folder: a new run, or a resume of a stopped/crashed one."""
    run_dir = os.path.abspath(run_dir)
    rec = L.read_json(os.path.join(run_dir, L.RECORD))
    if rec is None:
        raise L.RunError(f"{run_dir}: not a run folder started by loratui (no readable {L.RECORD})")
    frozen = os.path.join(run_dir, L.CONFIG)
    if os.path.isfile(frozen):  # a resume: the frozen config is checked again (it may have been edited)
        config_gate(_load_config(frozen)[0], frozen)
    root = os.path.dirname(run_dir)
    with global_lock():
        check_output_free(rec.get("output_file", ""), run_dir, [root, *L.known_roots()])
        for f in (L.STOP, L.SAVE_NOW):  # requests meant for an earlier section
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(run_dir, f))
        if queue:
            L.write_json(os.path.join(run_dir, L.QUEUED), {"t": time.time(), "fresh": fresh})
        else:
            spawn(run_dir, fresh=fresh)
    if queue:
        from .queue import kick

        kick(root)


def spawn(run_dir: str, fresh: bool = False, wait: float = 10.0) -> None:
    """Start the supervisor detached and wait until it has recorded itself in ``process.json``."""
    rec_path = os.path.join(run_dir, L.RECORD)
    rec = L.read_json(rec_path, {}) or {}
    token = uuid.uuid4().hex
    rec.setdefault("launches", []).append({"t": time.time(), "token": token, "fresh": fresh})
    L.write_json(rec_path, rec)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(run_dir, L.QUEUED))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(os.path.join(run_dir, L.LOG), "ab") as log:
        log.write(f"[loratui] {time.strftime('%Y-%m-%d %H:%M:%S')} launching"
                  f"{' (fresh)' if fresh else ''}\n".encode())
        log.flush()
        p = subprocess.Popen([sys.executable, "-u", "-m", "loratui.runs.supervisor", run_dir, token],
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=run_dir, env=env,
                             start_new_session=True, close_fds=True)
    p.wait()  # the supervisor forks and its first process returns at once (no zombie is left)
    if p.returncode != 0:
        raise L.RunError(f"could not start the supervisor (status {p.returncode}); see {run_dir}/{L.LOG}")
    end = time.monotonic() + wait
    while time.monotonic() < end:
        pr = L.read_json(os.path.join(run_dir, L.PROCESS), {}) or {}
        if pr.get("token") == token and pr.get("worker"):
            return
        ex = L.read_json(os.path.join(run_dir, L.EXIT), {}) or {}
        if pr.get("token") == token and float(ex.get("ended", 0)) >= float(pr.get("started", 0)):
            return  # the worker could not even start: the state says crashed, worker.log says why
        time.sleep(0.02)


def clone(run_dir: str, runs_root: str | None = None, *, name: str | None = None) -> str:
    """A new (not started) run with the same frozen config as ``run_dir``."""
    rec = L.read_json(os.path.join(run_dir, L.RECORD), {}) or {}
    cfg_path = os.path.join(run_dir, L.CONFIG)
    if not os.path.isfile(cfg_path):
        raise L.RunError(f"{run_dir}: no {L.CONFIG} to clone")
    return create_run(cfg_path, runs_root or os.path.dirname(os.path.abspath(run_dir)), name=name,
                      gpu=L.trusted_gpu(rec), worker_cmd=L.trusted_worker(rec)[0])
