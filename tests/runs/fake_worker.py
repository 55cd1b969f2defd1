"""A stand-in for ``python -m loratui.train RUN_DIR``: same argv, same event schema, same stop file,
signals, exit codes and resume-from-checkpoint behaviour; no torch. Tuned by ``$FAKE_WORKER``
(JSON): steps, epochs, delay (s per step), fail_at (step: emit ``error``), hang (ignore the stop
file and SIGINT), slow_start (s before the first event), noisy (print to stdout every step),
stall_at (step: sleep inside ``stuck_in_fake_step`` before it; the stack dump handler is installed
as the real worker's).
It also honours ``save_now`` the way the real worker should."""

import json
import os
import signal
import sys
import time

run_dir = os.path.abspath(sys.argv[1])
fresh = "--fresh" in sys.argv
opts = {"steps": 20, "epochs": 2, "delay": 0.05, "fail_at": 0, "hang": False, "slow_start": 0.0, "noisy": False,
        "stall_at": 0}
opts.update(json.loads(os.environ.get("FAKE_WORKER", "{}") or "{}"))
events = open(os.path.join(run_dir, "events.jsonl"), "a", encoding="utf-8")
ckpt = os.path.join(run_dir, "state", "checkpoint.json")
reason = [None]


def emit(type_, **kw):
    events.write(json.dumps({"v": 1, "t": time.time(), "type": type_, **kw}) + "\n")
    events.flush()


def on_signal(signum, frame):
    if not opts["hang"]:
        reason[0] = signal.Signals(signum).name
        signal.signal(signum, signal.SIG_DFL)


for s in (signal.SIGINT, signal.SIGTERM):
    signal.signal(s, on_signal if not opts["hang"] else signal.SIG_IGN)


def save(step, epoch):
    os.makedirs(os.path.dirname(ckpt), exist_ok=True)
    with open(ckpt + ".tmp", "w") as f:
        json.dump({"step": step, "epoch": epoch}, f)
    os.replace(ckpt + ".tmp", ckpt)
    emit("checkpoint", path=ckpt, step=step, epoch=epoch + 1, batch=0)
    return ckpt


def stuck_in_fake_step():
    time.sleep(3600)


sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from loratui.train.hooks import install_stack_dump  # noqa: E402

stack_signal = install_stack_dump(run_dir)
time.sleep(opts["slow_start"])
with open(os.path.join(run_dir, "worker.pid"), "w") as f:
    f.write(f"{os.getpid()}\n")
resume = not fresh and os.path.exists(ckpt)
print(f"fake worker {os.getpid()} starting", flush=True)
emit("start", pid=os.getpid(), run_dir=run_dir, spec={"output_name": "fake", "epochs": opts["epochs"]},
     resume=resume, versions={}, stack_signal=stack_signal)
total, epochs = opts["steps"], opts["epochs"]
per_epoch = total // epochs
emit("dataset", images=5, skipped=0, subsets=[], buckets=[], num_train_images=10, batches_per_epoch=per_epoch,
     steps_per_epoch=per_epoch, total_steps=total, epochs=epochs)
emit("model_loaded", base_model="fake", kind="diffusers", v_parameterization=False, device="cpu", dtype="float32",
     seconds=0.01)
step = 0
if resume:
    with open(ckpt) as f:
        step = json.load(f)["step"]
    emit("resumed", step=step, epoch=step // per_epoch + 1, batch=0, path=ckpt)
t0 = time.time()
out_dir = os.path.join(run_dir, "output")
while step < total:
    time.sleep(opts["delay"])
    if opts["stall_at"] and step + 1 == opts["stall_at"]:
        stuck_in_fake_step()
    step += 1
    epoch = (step - 1) // per_epoch + 1
    if opts["fail_at"] and step == opts["fail_at"]:
        print("Traceback (most recent call last):\nRuntimeError: fake failure", file=sys.stderr, flush=True)
        emit("error", message="RuntimeError: fake failure", traceback="Traceback...\nRuntimeError: fake failure")
        sys.exit(1)
    emit("step", step=step, total_steps=total, epoch=epoch, loss=1.0 / step, loss_avg=1.0 / step,
         lr={"unet": 1e-4, "te": 5e-5}, it_s=20.0, samples_s=40.0, eta_s=(total - step) * opts["delay"])
    if opts["noisy"]:
        print(f"noise {step}", flush=True)
    if step % per_epoch == 0:
        emit("epoch_end", epoch=epoch, step=step, loss_avg=1.0 / step)
    if os.path.exists(os.path.join(run_dir, "save_now")):
        save(step, epoch - 1)
        os.unlink(os.path.join(run_dir, "save_now"))
    if step < total and (reason[0] or (not opts["hang"] and os.path.exists(os.path.join(run_dir, "stop")))):
        why = reason[0] or "stop_file"
        c = save(step, epoch - 1)
        emit("stopped", step=step, epoch=epoch, reason=why, checkpoint=c)
        sys.exit(3)
out_dir = os.path.realpath(out_dir)
os.makedirs(out_dir, exist_ok=True)
final = os.path.join(out_dir, "fake.safetensors")
open(final, "wb").write(b"x" * 100)
emit("saved", path=final, epoch=epochs, step=step, final=True)
emit("finished", step=step, epoch=epochs, path=final, seconds=round(time.time() - t0, 2))
os.unlink(os.path.join(run_dir, "worker.pid"))
