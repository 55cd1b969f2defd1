"""``loratui doctor RUN``: what a run's files say about it, and what to try next.

Works for every state. The diagnosis is built from the same files as the state (events, worker
log, exit record, the watchdog's ``stall.json``, the frozen config) and never from guesses about
the machine it ran on. Advice is concrete: the setting, its current value and what to set it to.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field

from . import layout as L
from .follow import last_events, tail_lines
from .progress import fmt_duration
from .state import RunStatus, run_status

OOM_RE = re.compile(r"out of memory|OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED|cudaErrorMemoryAllocation", re.I)
NAN_RE = re.compile(r"\bnan\b|\binf\b|non-finite", re.I)
DATA_FRAMES = ("load_pixels", "load_image", "build_cache", "encode_pixels", "PIL", "Image.py", "ImageFile.py")
COLLECTIVE_FRAMES = ("all_reduce", "barrier", "broadcast", "distributed", "nccl", "gloo")


@dataclass
class Diagnosis:
    name: str
    state: str
    detail: str
    facts: list[str] = field(default_factory=list)
    """What the files say (progress, last event, GPU, CPU...)."""
    finding: str = ""
    """What it looks like, in one sentence (empty: nothing wrong)."""
    advice: list[str] = field(default_factory=list)
    """What to try next, most useful first."""
    extra: dict[str, list[str]] = field(default_factory=dict)
    """Longer evidence: "stack of the training thread", "last lines of worker.log"..."""

    def to_dict(self) -> dict:
        return {"name": self.name, "state": self.state, "detail": self.detail, "facts": self.facts,
                "finding": self.finding, "advice": self.advice, "extra": self.extra}


def _config(run_dir: str):
    """The run's frozen config, or None when it cannot be read (the advice then stays generic)."""
    try:
        from loratui.config.model import TrainConfig

        return TrainConfig.load(os.path.join(run_dir, L.CONFIG))
    except Exception:  # noqa: BLE001 - a broken config is reported by the worker, not here
        return None


def vram_advice(cfg) -> list[str]:
    """Settings that lower VRAM use, with the run's current values (most effective first)."""
    if cfg is None:
        return ["lower optim.batch_size, turn on optim.gradient_checkpointing and dataset.cache_latents, "
                "use mixed_precision bf16/fp16, a smaller network.dim or resolution"]
    o, d, n = cfg.optim, cfg.dataset, cfg.network
    out = []
    if not o.gradient_checkpointing:
        out.append("optim.gradient_checkpointing = true (much less VRAM, about 20-30% slower)")
    if o.batch_size > 1:
        out.append(f"optim.batch_size = {o.batch_size} -> {max(1, o.batch_size // 2)} "
                   f"(raise optim.grad_accumulation to {o.grad_accumulation * 2} to keep the effective batch)")
    if o.mixed_precision == "no":
        out.append('optim.mixed_precision = "no" -> "bf16" (or "fp16" on GPUs older than Ampere)')
    if not d.cache_latents:
        out.append("dataset.cache_latents = true (the VAE leaves the GPU after caching)")
    if o.optimizer in ("AdamW", "Lion"):
        out.append(f'optim.optimizer = "{o.optimizer}" -> "AdamW8bit" (needs bitsandbytes)')
    if n.train_text_encoder:
        out.append("network.train_text_encoder = false (UNet only)")
    big = max(d.resolution or [512])
    if big > (1024 if cfg.model.family == "sdxl" else 512):
        out.append(f"dataset.resolution = {d.resolution} -> a smaller one")
    if n.dim > 32:
        out.append(f"network.dim = {n.dim} -> 16 or 32")
    out.append("`loratui config check CONFIG` shows the step math; `nvidia-smi` what else holds the GPU")
    return out


def nan_advice(cfg, checkpoint: str | None, name: str) -> list[str]:
    out = []
    if cfg is not None:
        o = cfg.optim
        out.append(f"lower the learning rate: optim.unet_lr = {o.unet_lr:g} -> {o.unet_lr / 10:g}, "
                   f"optim.text_encoder_lr = {o.text_encoder_lr:g} -> {o.text_encoder_lr / 10:g}")
        if o.mixed_precision == "fp16":
            out.append('optim.mixed_precision = "fp16" -> "bf16" (fp16 overflows; or "no" on old GPUs)')
        if o.max_grad_norm == 0:
            out.append("optim.max_grad_norm = 0 -> 1.0 (clip gradients)")
        if o.optimizer in ("Prodigy",) or any("d_coef" in a for a in o.optimizer_args):
            out.append("Prodigy: set optim.unet_lr = 1.0 and leave d_coef at its default")
    else:
        out.append("lower the learning rate (by 10x), use bf16 instead of fp16, keep gradient clipping on")
    if checkpoint:
        out.append(f"then edit those settings in the run's config.toml and `loratui resume {name}`: it continues "
                   "from the checkpoint written just before the NaN")
    else:
        out.append("then start the run again (no usable checkpoint was written)")
    return out


def diagnose(run_dir: str, now: float | None = None) -> Diagnosis:
    now = now or time.time()
    st = run_status(run_dir, now)
    dg = Diagnosis(st.name, st.state, st.detail)
    tail = last_events(os.path.join(run_dir, L.EVENTS), max_bytes=256 << 10)
    _progress_facts(dg, st, tail, now)
    handler = {"running": _running, "starting": _running, "stalled": _stalled, "crashed": _crashed,
               "failed": _failed, "stopped": _stopped, "finished": _finished, "queued": _queued,
               "created": _created}.get(st.state)
    if handler:
        handler(dg, st, tail, run_dir, now)
    return dg


def _progress_facts(dg: Diagnosis, st: RunStatus, tail: list[dict], now: float) -> None:
    last = st.last
    if last:
        dg.facts.append(f"step {last.get('step')}/{last.get('total_steps')}, epoch {last.get('epoch')}/"
                        f"{st.epochs or '?'}, loss {last.get('loss')}")
    if tail:
        ev = tail[-1]
        t = float(ev.get("t", 0) or 0)
        dg.facts.append(f"last event: {ev.get('type')} at {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(t))}"
                        f" ({fmt_duration(now - t)} ago)")
    val = [e for e in tail if e.get("type") == "validation"]
    if val:
        dg.facts.append(f"validation loss {val[-1].get('loss')} at step {val[-1].get('step')}"
                        + (f" (first {val[0].get('loss')} at step {val[0].get('step')})" if len(val) > 1 else ""))


def _running(dg, st, tail, run_dir, now):
    last = st.last
    if last and last.get("it_s"):
        dg.facts.append(f"{last['it_s']} steps/s, about {fmt_duration(last.get('eta_s'))} left")
    dg.advice.append(f"nothing to fix: `loratui attach {st.name}` follows it, `loratui stop {st.name}` stops it "
                     "with a checkpoint")


def _stalled(dg, st, tail, run_dir, now):
    from .gpu import describe_gpus
    from .watchdog import main_thread_frames

    d = st.stall
    med = d.get("median_step_s")
    rule = (f"{d.get('factor', '?')}x the median step of {med}s, at least {d.get('min_s', '?')}s" if med else
            "before the first step")
    dg.facts.append(f"no event for {fmt_duration(now - float(d.get('since', now)))}; the watchdog's threshold is "
                    f"{d.get('threshold_s')}s ({rule})")
    last = d.get("last_event") or {}
    dg.facts.append(f"last event before the silence: {last.get('type', 'none')}"
                    + (f" (step {last.get('step')})" if last.get("step") is not None else ""))
    dg.facts += describe_gpus(d.get("gpu") or "no GPU reading")
    cpu = d.get("cpu_percent")
    state = d.get("proc_state")
    dg.facts.append(f"worker CPU {cpu if cpu is not None else '?'}% over the last minute, process state {state}"
                    + (" (uninterruptible: waiting on disk or network I/O)" if state == "D" else "")
                    + f", {d.get('threads')} threads")
    images = d.get("open_images") or []
    if images:
        dg.facts.append("image files open in the worker: " + ", ".join(images[:5]))
    stacks = str(d.get("stacks") or "")
    frames = main_thread_frames(stacks)
    funcs = " ".join(f"{fn} {func}" for fn, _, func in frames)
    if frames:
        dg.extra["stack of the training thread (innermost first)"] = [
            f"{fn}:{line} in {func}" for fn, line, func in frames[:12]]
    else:
        dg.extra["stack"] = [str(d.get("stacks_note") or "no stack dump")]
    dg.extra["last lines of worker.log"] = list(d.get("log_tail") or [])[-10:]
    gpus = d.get("gpu") if isinstance(d.get("gpu"), list) else []
    busy = any((g.get("util") or 0) >= 50 for g in gpus)
    if frames and frames[0][2] == "hang_for_test":
        dg.finding = "the worker sleeps in the test hook $LORATUI_HANG_AT_STEP (a deliberate hang)"
    elif images or any(k in funcs for k in DATA_FRAMES):
        what = images[0] if images else "an image"
        dg.finding = f"the data loader is stuck reading {what}"
        dg.advice.append(f"check {what}: open it, or run `loratui check DATASET` (a corrupt or huge file?)")
        dg.advice.append("a dataset on a network mount (NFS, sshfs) that hung: copy the dataset to a local disk")
    elif any(k in funcs for k in COLLECTIVE_FRAMES):
        dg.finding = "the worker waits in a multi-GPU collective: another process died or is stuck"
        dg.advice.append("look at the other processes' output in worker.log; try one GPU to find the failing one")
    elif busy:
        dg.finding = ("the GPU is busy but no step finishes: a step far slower than before (VRAM spilling into "
                      "system memory, thermal throttling) or a hung kernel")
        dg.advice += vram_advice(_config(run_dir))[:3]
        dg.advice.append("compare `nvidia-smi` memory with the card's total; update the driver if a kernel hangs")
    elif cpu is not None and cpu > 80:
        dg.finding = "the worker is busy on the CPU without finishing a step (the stack shows where)"
    else:
        dg.finding = "the worker waits with an idle GPU and little CPU: a deadlock or a blocked read (the stack shows where)"
    dg.advice.append(f"`loratui stop {st.name}` (escalates to SIGINT then SIGKILL), then `loratui resume {st.name}` "
                     "continues from the last checkpoint")


def _crashed(dg, st, tail, run_dir, now):
    log = tail_lines(os.path.join(run_dir, L.LOG), 40)
    dg.extra["last lines of worker.log"] = log[-15:]
    ex = st.exit or {}
    if any(OOM_RE.search(ln) for ln in log):
        dg.finding = "the GPU ran out of memory"
        dg.advice += vram_advice(_config(run_dir))
    elif ex.get("signal") == 9 and not ex.get("by_stop"):
        dg.finding = "the worker was killed by SIGKILL: most often the kernel's OOM killer (system RAM, not VRAM)"
        dg.advice.append("`dmesg | grep -i oom` (or `journalctl -k`) confirms it")
        dg.advice.append("use less RAM: dataset.cache_latents_to_disk = true, fewer/lower-resolution images, "
                         "close other programs")
    else:
        dg.finding = st.detail
    dg.advice.append(f"`loratui resume {st.name}` continues from the last checkpoint" + _ckpt_hint(tail))


def _failed(dg, st, tail, run_dir, now):
    err = next((e for e in reversed(tail) if e.get("type") == "error"), {})
    msg = str(err.get("message", st.detail))
    dg.facts.append(f"error: {msg}")
    if err.get("kind") == "nan" or (NAN_RE.search(msg) and "loss" in msg):
        dg.finding = f"the loss became NaN/inf at step {err.get('step', '?')}: the learning rate or the precision"
        dg.advice += nan_advice(_config(run_dir), err.get("checkpoint"), st.name)
        return
    if OOM_RE.search(msg) or OOM_RE.search(str(err.get("traceback", ""))):
        dg.finding = "the GPU ran out of memory"
        dg.advice += vram_advice(_config(run_dir))
    elif err.get("path"):
        dg.finding = f"a file could not be used: {err['path']}"
        dg.advice.append("fix or replace that file (or the config naming it), then `loratui resume "
                         f"{st.name}`")
    else:
        dg.finding = msg
        tb = str(err.get("traceback", "") or "").splitlines()
        if tb:
            dg.extra["traceback (last lines)"] = tb[-12:]
    dg.advice.append(f"after the fix: `loratui resume {st.name}`" + _ckpt_hint(tail))


def _stopped(dg, st, tail, run_dir, now):
    dg.finding = ""
    dg.advice.append(f"`loratui resume {st.name}` continues" + _ckpt_hint(tail))


def _finished(dg, st, tail, run_dir, now):
    fin = next((e for e in reversed(tail) if e.get("type") == "finished"), {})
    dg.facts.append(f"output: {fin.get('path', st.output_file)} after {fmt_duration(fin.get('seconds'))}")
    dg.advice.append(f"`loratui inspect {fin.get('path', st.output_file)}` shows the file; "
                     f"`loratui runs show {st.name}` the images it learned worst")


def _queued(dg, st, tail, run_dir, now):
    from .state import LIVE, all_statuses

    slot = st.slot
    holders = [s.name for s in all_statuses([os.path.dirname(run_dir)]) if s.state in LIVE and s.slot == slot]
    dg.finding = f"waiting for GPU slot {slot or 'default'}" + (f", held by {', '.join(holders)}" if holders else "")
    dg.advice.append("it starts when that run ends; `loratui runs kick` starts it if the slot is free")


def _created(dg, st, tail, run_dir, now):
    dg.advice.append(f"`loratui resume {st.name}` starts it")


def _ckpt_hint(tail: list[dict]) -> str:
    ck = next((e for e in reversed(tail) if e.get("type") in ("checkpoint",) or
               (e.get("type") in ("stopped", "error") and e.get("checkpoint"))), None)
    return f" (checkpoint at step {ck.get('step')})" if ck and ck.get("step") is not None else \
        " (no checkpoint yet: it starts over)" if ck is None else ""


def format_diagnosis(dg: Diagnosis) -> str:
    out = [f"{dg.name}: {dg.state}" + (f" ({dg.detail})" if dg.detail else "")]
    out += [f"  {f}" for f in dg.facts]
    if dg.finding:
        out += ["", f"diagnosis: {dg.finding}"]
    for title, lines in dg.extra.items():
        if lines:
            out += ["", f"{title}:"] + [f"  {ln}" for ln in lines]
    if dg.advice:
        out += ["", "what to try:"] + [f"  - {a}" for a in dg.advice]
    return "\n".join(out)
