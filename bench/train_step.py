"""CPU benchmark: per-step time of the loratui training worker against a minimal hand-written
diffusers + peft loop, on the same tiny random model and the same data, in the same process.

Target: worker / hand-written <= 1.10: the baseline does exactly the worker's work (the same
models and LoRA layers, cached latents, the same thread count, batch and precision), so the ratio
is what the engine's bookkeeping costs (events, caption processing, seeding per batch,
accumulation logic). Prints both medians, the thread settings and the ratio.
Then the worker's LoHa and LoKr (lycoris-lora modules on the same layers, dim 8; LoKr factor 8)
against its own LoRA, in the same run (``--no-lycoris`` skips them); reported, no target.

    .venv/bin/python bench/train_step.py [--steps 40] [--batch 2] [--res 64]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def make_data(root: str, n: int, res: int) -> str:
    from PIL import Image

    sub = os.path.join(root, "1_bench")
    os.makedirs(sub, exist_ok=True)
    for k in range(n):
        Image.new("RGB", (res, res), (k * 30 % 256, 90, 200 - k * 20 % 200)).save(os.path.join(sub, f"{k}.png"))
        with open(os.path.join(sub, f"{k}.txt"), "w") as f:
            f.write(f"bench, item {k}, red, blue, sky\n")
    return sub


def _spec(model: str, sub: str, out: str, steps: int, batch: int, res: int, **network):
    from loratui.train.spec import SubsetSpec, TrainSpec

    return TrainSpec(base_model=model, output_dir=out, output_name="bench",
                     subsets=[SubsetSpec(path=sub, repeats=100, keep_tokens=1, shuffle_caption=True)],
                     resolution=(res, res), min_bucket_reso=32, max_bucket_reso=res * 2, bucket_reso_steps=16,
                     network_dim=8, network_alpha=4, unet_lr=1e-4, text_encoder_lr=5e-5, batch_size=batch,
                     epochs=1, max_train_steps=steps, device="cpu", mixed_precision="no", save_precision="fp16",
                     seed=1, cpu_threads=THREADS[0], **network)


THREADS = [0]
"""The torch thread count both loops run with (set in ``main``)."""


def worker_steps(model: str, sub: str, out: str, steps: int, batch: int, res: int, **network) -> list[float]:
    from loratui.train.events import EventLog
    from loratui.train.trainer import train

    spec = _spec(model, sub, out, steps, batch, res, **network)
    times: list[float] = []
    ev = EventLog(None, echo=lambda e: times.append(e["t_mono"]) if e["type"] == "step" else None)
    orig = ev.emit

    def emit(type_, /, **f):
        if type_ == "step":
            f["t_mono"] = time.perf_counter()
        return orig(type_, **f)

    ev.emit = emit
    train(spec, None, ev)
    return [b - a for a, b in zip(times, times[1:])]


def manual_steps(model: str, sub: str, steps: int, batch: int, res: int) -> list[float]:
    """The same work as the worker's step, written as a bare loop: the same models as
    ``load_models`` gives, the same LoRA layers (``build_network`` of the same spec), latents
    cached once, the same tokenizer call, fp32, AdamW, gradient clipping, the same batch, and the
    same torch thread count (set once in ``main`` for both). Left out: events, the batch plan,
    per-batch seeding, caption shuffling, the LR schedule, accelerate."""
    import numpy as np
    import torch
    from PIL import Image

    from loratui.train.models import load_models
    from loratui.train.network import build_network

    spec = _spec(model, sub, "", steps, batch, res)
    m = load_models(spec)
    unet, te, vae, tok, sched = m.unet, m.text_encoder, m.vae, m.tokenizer, m.noise_scheduler
    for mod in (te, unet, vae):
        mod.requires_grad_(False)
    torch.manual_seed(1)
    net = build_network(unet, te, spec)
    pu, pt = net.unet_params(unet), net.te_params(te)
    unet.train()
    te.train()
    opt = torch.optim.AdamW([{"params": pu, "lr": 1e-4}, {"params": pt, "lr": 5e-5}])
    files = sorted(f for f in os.listdir(sub) if f.endswith(".png"))
    with torch.no_grad():
        pix = torch.stack([torch.from_numpy(np.asarray(Image.open(os.path.join(sub, f)).convert("RGB"),
                                                       dtype=np.float32).transpose(2, 0, 1) / 127.5 - 1) for f in files])
        latents_all = vae.encode(pix).latent_dist.sample() * vae.config.scaling_factor
    captions = [open(os.path.join(sub, f[:-4] + ".txt")).read().strip() for f in files]
    times = []
    t_last = None
    for s in range(steps):
        idx = [(s * batch + k) % len(files) for k in range(batch)]
        latents = latents_all[idx]
        noise = torch.randn_like(latents)
        t = torch.randint(0, sched.config.num_train_timesteps, (batch,))
        noisy = sched.add_noise(latents, noise, t)
        ids = tok([captions[i] for i in idx], padding="max_length", max_length=tok.model_max_length,
                  truncation=True, return_tensors="pt").input_ids
        pred = unet(noisy, t, te(ids)[0]).sample
        loss = torch.nn.functional.mse_loss(pred, noise)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(pu + pt, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        now = time.perf_counter()
        if t_last is not None:
            times.append(now - t_last)
        t_last = now
    return times


LYCORIS = {"LoHa": dict(network_type="loha"), "LoKr": dict(network_type="lokr", lokr_factor=8)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--res", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0,
                    help="torch threads for both loops (0: what the worker picks: the cores this process may use)")
    ap.add_argument("--no-lycoris", action="store_true", help="skip the LoHa / LoKr step times")
    args = ap.parse_args()
    import torch

    from loratui.train.threads import cpu_threads

    torch_default = torch.get_num_threads()
    THREADS[0], why = cpu_threads(args.threads)
    torch.set_num_threads(THREADS[0])

    from loratui.train.tiny_model import build_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_model(os.path.join(tmp, "tiny"))
        sub = make_data(os.path.join(tmp, "data"), 8, args.res)
        skip = 3  # warm-up steps (allocator, oneDNN primitive caches)
        rounds = []
        for r in range(2):  # interleave to average out load drift on shared machines
            w = worker_steps(model, sub, os.path.join(tmp, f"out{r}"), args.steps, args.batch, args.res)[skip:]
            m = manual_steps(model, sub, args.steps, args.batch, args.res)[skip:]
            rounds.append((statistics.median(w), statistics.median(m)))
        lyco: dict[str, list[float]] = {}
        if not args.no_lycoris:
            # attn-mlp = kohya's LoRA layers: the ratio is the algorithm's cost, not more layers
            for r in range(2):
                for name, kw in LYCORIS.items():
                    lyco.setdefault(name, []).append(statistics.median(worker_steps(
                        model, sub, os.path.join(tmp, f"{name}{r}"), args.steps, args.batch, args.res,
                        lycoris_preset="attn-mlp", **kw)[skip:]))
    w = statistics.median(x for x, _ in rounds)
    m = statistics.median(y for _, y in rounds)
    ratio = w / m
    print(f"device cpu, tiny SD1-architecture model, {args.res}px, fp32, batch {args.batch}, LoRA dim 8 UNet+TE "
          f"(the worker's layers in both), {args.steps} steps x {len(rounds)} rounds")
    print(f"threads: {THREADS[0]} in both loops ({why}; torch's own default here: {torch_default}, "
          f"torch.get_num_threads() after the runs: {torch.get_num_threads()}); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"worker      {w * 1000:8.1f} ms/step")
    print(f"hand loop   {m * 1000:8.1f} ms/step")
    print(f"ratio       {ratio:8.3f}  (target <= 1.10) {'OK' if ratio <= 1.10 else 'OVER'}")
    for name, ts in lyco.items():
        t = statistics.median(ts)
        print(f"{name:11} {t * 1000:8.1f} ms/step  {t / w:6.2f}x the worker's LoRA (no target)")
    return 0 if ratio <= 1.10 else 1


if __name__ == "__main__":
    sys.exit(main())
