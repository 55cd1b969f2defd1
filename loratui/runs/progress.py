"""``RunProgress``: everything the monitor and ``loratui attach`` show, folded event by event.

Pure bookkeeping over the event schema of ``loratui.train.events``; no I/O.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field

TERMINAL = ("finished", "stopped", "error")
LOG_TYPES = ("start", "dataset", "model_loaded", "network", "resumed", "warning", "error", "saved", "validation",
             "validation_set",
             "checkpoint", "sample", "epoch_end", "stopped", "finished", "garbled", "caching")


@dataclass
class LogEntry:
    t: float
    level: str
    """info | warning | error"""
    text: str


@dataclass
class RunProgress:
    step: int = 0
    total_steps: int = 0
    epoch: int = 0
    epochs: int = 0
    steps_per_epoch: int = 0
    it_s: float = 0.0
    samples_s: float = 0.0
    eta_s: float | None = None
    loss_avg: float | None = None
    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    epoch_marks: list[int] = field(default_factory=list)
    """Step at the end of each epoch."""
    saved: list[dict] = field(default_factory=list)
    checkpoints: list[dict] = field(default_factory=list)
    samples: list[dict] = field(default_factory=list)
    log: list[LogEntry] = field(default_factory=list)
    phase: str = ""
    """What the worker is doing before/between steps: loading model, caching latents 3/10..."""
    terminal: dict | None = None
    """The last section's finished/stopped/error event (None while running or crashed)."""
    first_t: float | None = None
    last_t: float | None = None
    sections: list[list[float]] = field(default_factory=list)
    """[start t, last t] per worker start: elapsed time excludes the gaps between resumes."""
    output_name: str = ""
    val_steps: list[int] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    """Validation loss points (step, loss): the chart's second line."""
    image_losses: list[dict] = field(default_factory=list)
    """The latest per-image losses ([{path, loss, n}], hardest first)."""
    events: int = 0
    version: int = 0
    """Bumped on every change (widgets redraw only when it moved)."""

    def apply(self, ev: dict) -> None:
        self.events += 1
        self.version += 1
        typ = ev.get("type", "")
        t = float(ev.get("t", 0) or 0) or None
        if t is not None:
            self.first_t = self.first_t if self.first_t is not None else t
            self.last_t = t
            if self.sections and typ != "start":
                self.sections[-1][1] = t
        if typ == "step":
            step = int(ev.get("step", 0))
            if self.steps and step <= self.steps[-1]:  # resumed from an earlier checkpoint: replace
                k = len(self.steps)
                while k and self.steps[k - 1] >= step:
                    k -= 1
                del self.steps[k:], self.losses[k:], self.lrs[k:]
            self.step = step
            self.total_steps = int(ev.get("total_steps", self.total_steps) or 0)
            self.epoch = int(ev.get("epoch", self.epoch) or 0)
            self.it_s = float(ev.get("it_s", 0) or 0)
            self.samples_s = float(ev.get("samples_s", 0) or 0)
            self.eta_s = ev.get("eta_s")
            self.loss_avg = ev.get("loss_avg")
            self.steps.append(step)
            self.losses.append(float(ev.get("loss", 0.0)))
            lr = ev.get("lr")
            if isinstance(lr, dict):
                lr = lr.get("unet", next(iter(lr.values()), 0.0)) if lr else 0.0
            self.lrs.append(float(lr or 0.0))
            self.phase = "training"
            return
        if typ == "start":
            self.terminal = None
            self.sections.append([t or time.time(), t or time.time()])
            spec = ev.get("spec") or {}
            self.output_name = spec.get("output_name", self.output_name)
            self.epochs = int(spec.get("epochs", self.epochs) or self.epochs)
            self.phase = "starting"
        elif typ == "dataset":
            self.total_steps = int(ev.get("total_steps", 0) or 0)
            self.epochs = int(ev.get("epochs", self.epochs) or self.epochs)
            self.steps_per_epoch = int(ev.get("steps_per_epoch", 0) or 0)
            self.phase = "loading model"
        elif typ == "model_loaded":
            self.phase = "model loaded"
        elif typ == "caching":
            self.phase = f"caching latents {ev.get('done', 0)}/{ev.get('total', 0)}"
            if "done" in ev and ev.get("done") != ev.get("total") and "seconds" not in ev:
                return  # progress ticks do not go to the log
        elif typ == "resumed":
            self.step = int(ev.get("step", self.step))
            self.epoch = int(ev.get("epoch", self.epoch))
        elif typ == "epoch_end":
            s = int(ev.get("step", self.step))
            if s not in self.epoch_marks:
                self.epoch_marks.append(s)
        elif typ == "validation":
            s = int(ev.get("step", 0) or 0)
            loss = ev.get("loss")
            if isinstance(loss, (int, float)):
                while self.val_steps and self.val_steps[-1] >= s:  # resumed from an earlier checkpoint
                    self.val_steps.pop()
                    self.val_losses.pop()
                self.val_steps.append(s)
                self.val_losses.append(float(loss))
        elif typ == "image_losses":
            rows = ev.get("images")
            if isinstance(rows, list):
                self.image_losses = [r for r in rows if isinstance(r, dict) and isinstance(r.get("loss"), (int, float))]
        elif typ == "saved":
            self.saved.append(ev)
        elif typ == "checkpoint":
            self.checkpoints.append(ev)
        elif typ == "sample":
            self.samples.append(ev)
        elif typ in TERMINAL:
            self.terminal = ev
            self.phase = typ
            self.eta_s = 0 if typ == "finished" else None
            if typ == "finished":
                self.step = int(ev.get("step", self.step))
        if typ in LOG_TYPES:
            level = "error" if typ in ("error", "garbled") else "warning" if typ == "warning" else "info"
            self.log.append(LogEntry(t or 0.0, level, describe(ev)))

    def snapshot(self) -> "RunProgress":
        """A copy the follower thread never touches again: its lists become tuples (so nothing can
        append to it), the UI reads it while the follower goes on folding events into the original."""
        snap = dataclasses.replace(self)
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, list):
                setattr(snap, f.name, tuple(v))
        return snap

    def apply_all(self, events) -> "RunProgress":
        for ev in events:
            self.apply(ev)
        return self

    def elapsed(self, now: float | None = None, running: bool = False) -> float:
        total = 0.0
        for i, (a, b) in enumerate(self.sections):
            end = (now or time.time()) if running and i == len(self.sections) - 1 else b
            total += max(0.0, end - a)
        return total

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def last_checkpoint(self) -> dict | None:
        return self.checkpoints[-1] if self.checkpoints else None


def fmt_duration(s: float | None) -> str:
    if s is None:
        return "-"
    s = int(max(0, s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def describe(ev: dict) -> str:
    """One human line for an event (the event tail, ``loratui attach``)."""
    typ = ev.get("type", "?")
    g = ev.get
    if typ == "start":
        return f"worker started (pid {g('pid')})" + (" - resuming from checkpoint" if g("resume") else "")
    if typ == "dataset":
        return (f"dataset: {g('images')} images ({g('num_train_images')} with repeats), {g('steps_per_epoch')} "
                f"steps/epoch, {g('total_steps')} steps, {g('epochs')} epochs")
    if typ == "model_loaded":
        return f"model loaded: {os.path.basename(str(g('base_model', '')))} on {g('device')} ({g('seconds', 0):.1f}s)"
    if typ == "network":
        return f"network: {g('network')}, {g('trainable_params', 0):,} trainable parameters"
    if typ == "caching":
        return f"latents cached: {g('done')}" + (f" in {g('seconds'):.1f}s" if g("seconds") is not None else "")
    if typ == "resumed":
        return f"resumed at step {g('step')} (epoch {g('epoch')})"
    if typ == "step":
        return f"step {g('step')}/{g('total_steps')} loss {g('loss', 0):.4f}"
    if typ == "validation":
        return f"validation loss {g('loss', 0):.4f} at step {g('step')} ({len(g('images') or [])} held-out images)"
    if typ == "validation_set":
        return f"{len(g('images') or [])} images held out for the validation loss"
    if typ == "image_losses":
        rows = g("images") or []
        return f"per-image loss at step {g('step')}: hardest {os.path.basename(str(rows[0].get('path', '')))}" \
            if rows and isinstance(rows[0], dict) else f"per-image loss at step {g('step')}"
    if typ == "epoch_end":
        avg = g("loss_avg")
        return f"epoch {g('epoch')} done at step {g('step')}" + (f", average loss {avg:.4f}" if avg is not None else "")
    if typ == "pruned":
        return f"removed {os.path.basename(str(g('path', '')))} (keep_last)"
    if typ == "saved":
        return f"saved {os.path.basename(str(g('path', '')))}" + (" (final)" if g("final") else f" (epoch {g('epoch')})")
    if typ == "checkpoint":
        return f"checkpoint at step {g('step')}"
    if typ == "sample":
        return f"sample epoch {g('epoch')} @ {g('strength')}: {g('prompt', '')}"
    if typ == "warning":
        return f"warning: {g('message', '')}" + (f" ({g('path')})" if g("path") else "")
    if typ == "error":
        return f"error: {g('message', '')}"
    if typ == "stopped":
        return f"stopped at step {g('step')} ({g('reason')})" + ("; checkpoint saved" if g("checkpoint") else "")
    if typ == "finished":
        return f"finished: {os.path.basename(str(g('path', '')))} after {fmt_duration(g('seconds'))}"
    if typ == "garbled":
        return f"unreadable log line: {g('raw', '')[:120]}"
    return typ
