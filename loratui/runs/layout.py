"""Where runs live and what a run folder holds. No Textual, no torch.

A run folder (``RUNS_ROOT/NAME``)::

    config.toml     the frozen config (absolute paths), what the worker reads
    run.json        the run record: name, output file, worker command, GPU, launch history
    events.jsonl    the worker's append-only event log (schema: ``loratui.train.events``)
    worker.log      the worker's stdout/stderr (and the supervisor's notes), unbuffered
    process.json    pid/lock file: supervisor and worker pids, their start ticks, host, boot id,
                    start time and command; proves "running" without trusting a stale pid
    exit.json       how the worker process ended (exit code or signal), written by the supervisor
    queued          present while the run waits in the queue (JSON: queued time, slot)
    stop            stop request (the worker saves a checkpoint and stops)
    save_now        "save a checkpoint now" request (the worker removes it once saved)
    state/          the worker's resumable checkpoint
    output          symlink to the folder with the LoRA files and samples

The runs root defaults to ``DATASET/.loratui/runs`` (``$LORATUI_RUNS_ROOT`` overrides it). Every
root a run is created in is remembered in the user data folder so ``loratui runs`` lists them all.
"""

from __future__ import annotations

import json
import os
import re
import time

from loratui.fileio import write_atomic

CONFIG = "config.toml"
RECORD = "run.json"
EVENTS = "events.jsonl"
LOG = "worker.log"
PROCESS = "process.json"
EXIT = "exit.json"
QUEUED = "queued"
STOP = "stop"
SAVE_NOW = "save_now"
WORKER_PID = "worker.pid"
"""The worker's pid while it runs (a foreground ``loratui train`` has no process.json)."""
CHECKPOINT_DIR = "state"
CHECKPOINT_FILE = "checkpoint.pt"
FINISHED_FILE = "finished.json"
"""In ``CHECKPOINT_DIR``: written when a run completes, so starting it again reports instead of retraining."""
OUTPUT_LINK = "output"
ROOTS_FILE = "runs_roots.txt"
RUNS_ROOT_ENV = "LORATUI_RUNS_ROOT"


class RunError(Exception):
    """A run operation that cannot be done; the message says why, for humans."""


def data_dir() -> str:
    import platformdirs

    return platformdirs.user_data_dir("loratui", appauthor=False)


def read_json(path: str, default=None):
    """A run's JSON record (a dict), or ``default`` when missing, unreadable or not a record:
    run folders can come from strangers (inside a shared dataset), so nothing here is trusted."""
    from loratui.fileio import read_json_untrusted

    try:
        data = read_json_untrusted(path, 64 << 20)
    except (OSError, ValueError):
        return default
    return data if isinstance(data, dict) else default


WORKER_CMD = ["-u", "-m", "loratui.train"]
"""The standard worker (after the Python executable)."""
GPU_RE = re.compile(r"^[0-9]{1,3}(,[0-9]{1,3}){0,15}$")


def _run_key() -> bytes:
    """A per-user secret (in the user data folder, mode 0600) that signs worker commands."""
    import secrets

    d = data_dir()
    os.makedirs(d, mode=0o700, exist_ok=True)
    path = os.path.join(d, "run-key")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with open(path, "rb") as f:
            return f.read(64)
    with os.fdopen(fd, "wb") as f:
        key = secrets.token_hex(32).encode()
        f.write(key)
    return key


def sign_worker(cmd: list[str]) -> str:
    import hashlib
    import hmac

    return hmac.new(_run_key(), json.dumps(cmd).encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


def trusted_worker(rec: dict) -> tuple[list[str], str]:
    """(the worker command to run for a run record, a note when the record's own was refused).

    A run record names its worker command (tests use a fake worker). A record in a folder from
    someone else could name any program, so only a command signed with this user's key is run."""
    import hmac
    import sys

    default = [sys.executable, *WORKER_CMD]
    cmd = rec.get("worker")
    if cmd is None or cmd == default:
        return default, ""
    sig = rec.get("worker_sig")
    if isinstance(cmd, list) and cmd and all(isinstance(c, str) and "\x00" not in c for c in cmd) \
            and isinstance(sig, str) and hmac.compare_digest(sig, sign_worker(cmd)):
        return cmd, ""
    return default, ("the run record names a worker command this user's loratui did not write; "
                     "the standard worker is used instead")


def trusted_gpu(rec: dict) -> str | None:
    g = rec.get("gpu")
    return g if isinstance(g, str) and GPU_RE.match(g) else None


def write_json(path: str, data) -> None:
    """Atomic write (temp file + rename): readers never see half a record."""
    write_atomic(path, json.dumps(data, indent=1, default=str))


def runs_root(folder: str) -> str:
    """The runs root for a dataset (or output) folder: ``$LORATUI_RUNS_ROOT`` when set, else
    ``FOLDER/.loratui/runs``. The one place that decides; the CLI, the launcher and the TUI call it."""
    env = os.environ.get(RUNS_ROOT_ENV, "").strip()
    if env:
        return os.path.abspath(os.path.expanduser(env))
    return os.path.join(os.path.abspath(folder), ".loratui", "runs")


def default_runs_root(cfg) -> str:
    """``$LORATUI_RUNS_ROOT``, else ``DATASET/.loratui/runs``, else ``OUTPUT_DIR/.loratui/runs``."""
    return runs_root(cfg.abspath(cfg.dataset.root) if cfg.dataset.root else cfg.abspath(cfg.output.dir))


def remember_root(root: str) -> None:
    root = os.path.abspath(root)
    roots = known_roots(existing_only=False)
    if root in roots:
        return
    os.makedirs(data_dir(), exist_ok=True)
    with open(os.path.join(data_dir(), ROOTS_FILE), "a", encoding="utf-8") as f:
        f.write(root + "\n")


def known_roots(existing_only: bool = True) -> list[str]:
    roots: list[str] = []
    env = os.environ.get(RUNS_ROOT_ENV, "").strip()
    if env:
        roots.append(os.path.abspath(os.path.expanduser(env)))
    try:
        with open(os.path.join(data_dir(), ROOTS_FILE), encoding="utf-8") as f:
            roots += [line.strip() for line in f if line.strip()]
    except OSError:
        pass
    out = list(dict.fromkeys(roots))
    return [r for r in out if os.path.isdir(r)] if existing_only else out


def is_run_dir(path: str) -> bool:
    return os.path.isfile(os.path.join(path, RECORD)) or os.path.isfile(os.path.join(path, EVENTS))


def list_run_dirs(root: str) -> list[str]:
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    return [os.path.join(root, n) for n in names if is_run_dir(os.path.join(root, n))]


def roots_for(path: str | None) -> list[str]:
    """Runs roots meant by a command-line argument: a runs root, a dataset folder, or all known."""
    if not path:
        return known_roots()
    path = os.path.abspath(os.path.expanduser(path))
    inner = os.path.join(path, ".loratui", "runs")  # a dataset's own runs (not runs_root: that one follows the env)
    if os.path.isdir(inner):
        return [inner]
    return [path]


def new_run_name(root: str, base: str) -> str:
    """``BASE-YYYYmmdd-HHMMSS`` (``-2``, ``-3``... if taken)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "run"
    stem = f"{base}-{time.strftime('%Y%m%d-%H%M%S')}"
    name, k = stem, 2
    while os.path.exists(os.path.join(root, name)):
        name, k = f"{stem}-{k}", k + 1
    return name


def find_run(ref: str | None, roots: list[str] | None = None) -> str:
    """A run folder from a path, a name or a unique name prefix; without ``ref``: the running run,
    else the most recently started one. Raises RunError with the candidates when ambiguous."""
    if ref and (os.sep in ref or ref.startswith(".")) and is_run_dir(ref):
        return os.path.abspath(ref)
    if ref and is_run_dir(ref):
        return os.path.abspath(ref)
    roots = roots if roots is not None else known_roots()
    dirs = [d for r in roots for d in list_run_dirs(r)]
    if not dirs:
        raise RunError("no runs yet" + (f" (looked in {', '.join(roots)})" if roots else ""))
    if not ref:
        from .state import run_status

        running = [d for d in dirs if run_status(d).active]
        pool = running or dirs
        return max(pool, key=_started_at)
    exact = [d for d in dirs if os.path.basename(d) == ref]
    if len(exact) == 1:
        return exact[0]
    hits = exact or [d for d in dirs if os.path.basename(d).startswith(ref)]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise RunError(f"no run named {ref!r} (see `loratui runs`)")
    raise RunError(f"{ref!r} matches {len(hits)} runs: " + ", ".join(os.path.basename(h) for h in hits[:8]))


def _started_at(run_dir: str) -> float:
    rec = read_json(os.path.join(run_dir, RECORD), {}) or {}
    launches = rec.get("launches") or []
    return float(launches[-1]["t"]) if launches else float(rec.get("created", 0) or 0)
