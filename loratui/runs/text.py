"""Plain-text views for any terminal: the runs table and the live follower of ``loratui attach``."""

from __future__ import annotations

import os
import sys
import time

from .follow import EventFollower, LineFollower
from .progress import RunProgress, describe, fmt_duration
from .state import RunStatus, run_status


def status_cells(st: RunStatus) -> list[str]:
    last = st.last
    step = f"{last.get('step')}/{last.get('total_steps')}" if last else "-"
    epoch = f"{last.get('epoch')}/{st.epochs or '?'}" if last else "-"
    loss = f"{last['loss']:.4f}" if last and isinstance(last.get("loss"), (int, float)) else "-"
    state = st.state + (f" ({st.detail})" if st.detail and st.state in ("running", "queued", "stalled") else "")
    started = time.strftime("%m-%d %H:%M", time.localtime(st.started)) if st.started else "-"
    return [st.name, state, epoch, step, loss, started, os.path.basename(st.output_file) or "-"]


HEADERS = ["RUN", "STATE", "EPOCH", "STEP", "LOSS", "STARTED", "OUTPUT"]


def runs_table(statuses: list[RunStatus]) -> str:
    rows = [HEADERS] + [status_cells(s) for s in statuses]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def status_line(p: RunProgress, st: RunStatus | None = None) -> str:
    state = st.state if st else ""
    parts = [f"[{state}]" if state else ""]
    if p.total_steps:
        parts.append(f"step {p.step}/{p.total_steps} ({100 * p.fraction:.0f}%)")
    if p.epochs:
        parts.append(f"epoch {p.epoch}/{p.epochs}")
    if p.losses:
        parts.append(f"loss {p.losses[-1]:.4f}" + (f" (avg {p.loss_avg:.4f})" if p.loss_avg is not None else ""))
    if p.it_s:
        parts.append(f"{p.it_s:.2f} it/s")
    if st is not None and st.state == "stalled":
        parts.append(st.detail + " - `loratui doctor` explains")
    elif p.eta_s is not None and st is not None and st.state == "running":
        parts.append(f"eta {fmt_duration(p.eta_s)}")
    if p.phase and p.phase != "training":
        parts.append(p.phase)
    return "  ".join(x for x in parts if x)


def follow_text(run_dir: str, out=None, *, follow: bool = True, poll: float = 0.2, tty: bool | None = None,
                state_every: float = 2.0) -> RunStatus:
    """Print the run's events as they come (step events as one updating status line on a
    terminal, every 10 s otherwise); returns the final status once the run is no longer active
    (immediately with ``follow=False``). Ctrl-C only detaches: the run goes on."""
    out = out or sys.stdout
    tty = out.isatty() if tty is None else tty
    f = EventFollower(os.path.join(run_dir, "events.jsonl"))
    p = RunProgress()
    st = run_status(run_dir)
    open_line = False
    last_plain = 0.0
    last_state = time.monotonic()
    print(f"run {st.name}  ({run_dir})", file=out)
    said = [""]

    def say(text: str) -> None:
        nonlocal open_line
        if text == said[0]:
            return
        said[0] = text
        if open_line:
            out.write("\n")
            open_line = False
        out.write(text + "\n")
        out.flush()

    while True:
        evs, reset = f.poll()
        if reset:
            p = RunProgress()
            say("(the event log was truncated or replaced: reading it again)")
        stepped = False
        for ev in evs:
            p.apply(ev)
            if ev.get("type") == "step":
                stepped = True
            elif ev.get("type") == "caching" and "seconds" not in ev:
                continue
            else:
                say(describe(ev))
        if stepped:
            if tty:
                out.write("\r" + status_line(p, st)[:160].ljust(100))
                out.flush()
                open_line = True
            elif time.monotonic() - last_plain > 10:
                last_plain = time.monotonic()
                say(status_line(p, st))
        if f.more:
            continue
        if not follow or time.monotonic() - last_state >= state_every:
            last_state = time.monotonic()
            st = run_status(run_dir)
            if not st.active or not follow:
                evs, _ = f.poll()  # the last events written just before the process ended
                for ev in evs:
                    p.apply(ev)
                    if ev.get("type") != "step":
                        say(describe(ev))
                say(status_line(p, st))
                if st.state in ("crashed",) and st.report:
                    say("crash report:\n  " + "\n  ".join(st.report))
                elif st.state == "failed" and st.report:
                    say("error:\n  " + "\n  ".join(st.report[:40]))
                return st
        time.sleep(poll)


def follow_log(path: str, run_dir: str, out=None, poll: float = 0.2, follower=None) -> RunStatus:
    """``tail -f`` of worker.log until the run is no longer active."""
    out = out or sys.stdout
    f = follower or LineFollower(path)
    last_state = 0.0
    while True:
        lines, _ = f.poll()
        for ln in lines:
            out.write(ln + "\n")
        out.flush()
        if f.more:
            continue
        if time.monotonic() - last_state > 1.0:
            last_state = time.monotonic()
            st = run_status(run_dir)
            if not st.active:
                lines, _ = f.poll()
                for ln in lines:
                    out.write(ln + "\n")
                out.flush()
                return st
        time.sleep(poll)


def hardest_easiest(p: RunProgress, n: int = 5) -> tuple[list[dict], list[dict]]:
    """The ``n`` training images with the highest and the lowest recent loss."""
    rows = p.image_losses
    hard = rows[:n]
    easy = list(reversed(rows[-n:])) if len(rows) > n else []
    return hard, [r for r in easy if r not in hard]


def show_text(run_dir: str, n: int = 5) -> str:
    """``loratui runs show RUN``: state, progress, validation loss and the images it learns worst/best."""
    from .follow import EventFollower

    st = run_status(run_dir)
    p = RunProgress()
    f = EventFollower(os.path.join(run_dir, "events.jsonl"))
    while True:
        evs, _ = f.poll()
        p.apply_all(evs)
        if not f.more:
            break
    out = [f"{st.name}: {st.state}" + (f" ({st.detail})" if st.detail else ""), "  " + status_line(p)]
    if p.val_losses:
        best = min(range(len(p.val_losses)), key=p.val_losses.__getitem__)
        out.append(f"  validation loss {p.val_losses[-1]:.4f} at step {p.val_steps[-1]} (first "
                   f"{p.val_losses[0]:.4f} at step {p.val_steps[0]}, best {p.val_losses[best]:.4f} at step "
                   f"{p.val_steps[best]})")
        if len(p.val_losses) > 2 and best < len(p.val_losses) - 1 and p.val_losses[-1] > p.val_losses[best] * 1.05:
            out.append("  the validation loss rose since its best point: later epochs may be overfitting "
                       f"(compare the per-epoch files around step {p.val_steps[best]})")
    hard, easy = hardest_easiest(p, n)
    if hard:
        out.append("  hardest images (recent training loss; often badly captioned or off-concept):")
        out += [f"    {r['loss']:.4f}  {r['path']}" for r in hard]
    if easy:
        out.append("  easiest images:")
        out += [f"    {r['loss']:.4f}  {r['path']}" for r in easy]
    if not hard and not p.val_losses:
        out.append("  no per-image or validation loss yet (they come at the end of each epoch)")
    return "\n".join(out)
