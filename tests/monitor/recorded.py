"""A finished run recorded with fixed times and values: what the monitor draws from it never varies
(snapshot tests, and a run to open by hand: ``python -m tests.monitor.recorded DIR``)."""

from __future__ import annotations

import json
import os
import sys

from loratui.runs import layout as L

T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC: every event time is T0 + a fixed offset


def write_recorded_run(run_dir: str, *, total: int = 200, epochs: int = 4, finished: bool = True) -> str:
    """A run folder whose event log is fixed. The saved LoRAs are small files in the run's ``out/``
    (the monitor draws their names and sizes, never the folder they are in)."""
    os.makedirs(os.path.join(run_dir, "out"), exist_ok=True)
    out = os.path.join(os.path.abspath(run_dir), "out")
    name = os.path.basename(os.path.abspath(run_dir))
    L.write_json(os.path.join(run_dir, L.RECORD), {"name": name, "created": T0, "output_file": "out/demo.safetensors",
                                                   "launches": [{"t": T0}]})
    per = total // epochs
    evs: list[dict] = []

    def emit(t: float, type_: str, **kw) -> None:
        evs.append({"v": 1, "t": T0 + t, "type": type_, **kw})

    emit(0, "start", pid=4242, run_dir=name, spec={"output_name": "demo", "epochs": epochs}, resume=False)
    emit(1, "dataset", images=20, skipped=0, subsets=[], buckets=[], num_train_images=50, batches_per_epoch=per,
         steps_per_epoch=per, total_steps=total, epochs=epochs)
    emit(5, "model_loaded")
    last = total if finished else total * 5 // 8
    for s in range(1, last + 1):
        # a decaying loss with a fixed ripple: deterministic, yet it looks like a real curve
        ripple = ((s * 7919) % 13 - 6) / 120
        emit(10 + s * 0.4, "step", step=s, total_steps=total, epoch=(s - 1) // per + 1,
             loss=round(0.09 + 0.12 / (1 + s / 25) + ripple * 0.3, 5), loss_avg=0.12,
             lr={"unet": 1e-4 * min(1.0, s / 20), "te": 5e-5}, it_s=2.5, samples_s=5.0, eta_s=(total - s) / 2.5)
        if s % per == 0:
            ep = s // per
            emit(10 + s * 0.4, "epoch_end", epoch=ep, step=s, loss_avg=0.12)
            emit(10 + s * 0.4, "validation", step=s, loss=round(0.1 + 0.08 / ep, 4), images=["data/val_01.png"])
            emit(10.1 + s * 0.4, "saved", path=_lora(out, f"demo-{ep:06d}.safetensors", ep), epoch=ep, step=s, final=False)
            emit(10.2 + s * 0.4, "sample", path=f"{out}/sample-{ep}-a.png", prompt="demo_char, smile, upper body",
                 strength=0.6, epoch=ep, step=s, params={})
            emit(10.3 + s * 0.4, "sample", path=f"{out}/sample-{ep}-b.png", prompt="demo_char, smile, upper body",
                 strength=1.0, epoch=ep, step=s, params={})
            if ep == 1:
                emit(10.4 + s * 0.4, "image_losses", images=[
                    {"path": f"data/img_{k:02d}.png", "loss": round(0.2 - k * 0.01, 4), "n": 3} for k in range(8)])
    if finished:
        emit(20 + total * 0.4, "saved", path=_lora(out, "demo.safetensors", epochs), epoch=epochs, step=total, final=True)
        emit(21 + total * 0.4, "finished", step=total, epoch=epochs, path=f"{out}/demo.safetensors",
             seconds=round(21 + total * 0.4, 2))
    with open(os.path.join(run_dir, L.EVENTS), "w") as f:
        f.writelines(json.dumps(ev) + "\n" for ev in evs)
    return run_dir


def _lora(folder: str, name: str, k: int) -> str:
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(b"\0" * (1536 * 1024 + k * 1024))
    return path


if __name__ == "__main__":
    print(write_recorded_run(sys.argv[1]))
