"""GPU benchmark of the real training worker on an SD1.5-architecture model with random weights.

For each of batch {1, 4} x {fp16, bf16} x {LoRA, LoCon} at 512 px it runs ``loratui.train.trainer.train``
for a few steps and prints it/s, samples/s and peak VRAM; then it times the UNet forward+backward
alone (with LoRA, under autocast) and reports the share of the GPU's dense fp16/bf16 peak it reaches.

    python bench/gpu_train.py                 # on a CUDA machine (bench/gpu_check.sh wraps it)
    python bench/gpu_train.py --tiny --steps 4   # CPU smoke test on the tiny model
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0, "4090": 165.0}
"""Dense fp16/bf16 tensor-core peaks (TFLOP/s) from the vendors' data sheets (SXM parts)."""


def build_sd15_random(folder: str) -> str:
    """A diffusers folder with SD1.5's architecture and random fp16 weights (no download)."""
    import torch
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from loratui.train.tiny_model import write_tiny_tokenizer

    vocab = write_tiny_tokenizer(os.path.join(folder, "tokenizer"))
    torch.manual_seed(0)
    UNet2DConditionModel(cross_attention_dim=768, attention_head_dim=8, sample_size=64).half().save_pretrained(
        os.path.join(folder, "unet"))
    CLIPTextModel(CLIPTextConfig(vocab_size=vocab, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                 num_attention_heads=12, max_position_embeddings=77, projection_dim=768,
                                 bos_token_id=vocab - 2, eos_token_id=vocab - 1, pad_token_id=vocab - 1)
                  ).half().save_pretrained(os.path.join(folder, "text_encoder"))
    AutoencoderKL(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                  up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=2, latent_channels=4,
                  sample_size=512).half().save_pretrained(os.path.join(folder, "vae"))
    DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear").save_pretrained(
        os.path.join(folder, "scheduler"))
    with open(os.path.join(folder, "model_index.json"), "w") as f:
        json.dump({"_class_name": "StableDiffusionPipeline"}, f)
    return folder


def make_images(root: str, n: int, res: int) -> str:
    import numpy as np
    from PIL import Image

    sub = os.path.join(root, "1_bench")
    os.makedirs(sub, exist_ok=True)
    rng = np.random.default_rng(0)
    for k in range(n):
        Image.fromarray(rng.integers(0, 255, (res, res, 3), dtype=np.uint8)).save(os.path.join(sub, f"{k}.png"))
        with open(os.path.join(sub, f"{k}.txt"), "w") as f:
            f.write("bench, 1girl, smile, outdoors, sky\n")
    return sub


def run_worker(model, sub, out, *, res, batch, precision, network, steps, device):
    import torch

    from loratui.train.events import EventLog
    from loratui.train.spec import SubsetSpec, TrainSpec
    from loratui.train.trainer import train

    spec = TrainSpec(base_model=model, output_dir=out, output_name="bench",
                     subsets=[SubsetSpec(path=sub, repeats=50, keep_tokens=1, shuffle_caption=True)],
                     resolution=(res, res), min_bucket_reso=min(256, res), max_bucket_reso=max(1024, res),
                     bucket_reso_steps=64 if res >= 256 else 16,
                     network_type=network, network_dim=32, network_alpha=16, conv_dim=16, conv_alpha=8,
                     batch_size=batch, epochs=1, max_train_steps=steps, device=device, mixed_precision=precision,
                     save_precision="fp16", seed=1)
    t: list[float] = []
    ev = EventLog(None, echo=lambda e: t.append(time.perf_counter()) if e["type"] == "step" else None)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    train(spec, None, ev)
    dts = [b - a for a, b in zip(t, t[1:])][3:]  # skip warm-up steps
    sec = statistics.median(dts) if dts else float("nan")
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
    return 1 / sec, batch / sec, peak


def unet_share(model, *, res, batch, precision, network, device, iters=10):
    """UNet forward+backward alone: achieved TFLOP/s and share of the card's dense peak."""
    import torch
    from diffusers import UNet2DConditionModel
    from torch.utils.flop_counter import FlopCounterMode

    from loratui.train.network import inject_lora
    from loratui.lora.kohya_keys import unet_targets

    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    unet = UNet2DConditionModel.from_pretrained(model, subfolder="unet").to(device, dtype)
    inject_lora(unet, unet_targets(unet, conv=network == "locon"), 32, 16, 16, 8)
    unet.train()
    lat = torch.randn(batch, 4, res // 8, res // 8, device=device, dtype=dtype)
    t = torch.randint(0, 1000, (batch,), device=device)
    hid = torch.randn(batch, 77, unet.config.cross_attention_dim, device=device, dtype=dtype)

    def step():
        with torch.autocast(device_type=device, dtype=dtype):
            out = unet(lat, t, hid).sample
        out.float().pow(2).mean().backward()

    with FlopCounterMode(display=False) as fc:
        step()
    flops = fc.get_total_flops()
    for _ in range(3):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    sec = (time.perf_counter() - t0) / iters
    tflops = flops / sec / 1e12
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    peak = next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
    del unet
    return tflops, (tflops / peak if peak else None)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--res", type=int, default=512)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--tiny", action="store_true", help="CPU smoke test on the tiny model")
    ap.add_argument("--batches", default="1,4")
    ap.add_argument("--precisions", default="fp16,bf16")
    ap.add_argument("--networks", default="lora,locon")
    args = ap.parse_args()
    import torch

    device = "cuda" if torch.cuda.is_available() and not args.tiny else "cpu"
    res = 64 if args.tiny else args.res
    print(f"device: {torch.cuda.get_device_name() if device == 'cuda' else 'cpu'}; torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.time()
        if args.tiny:
            from loratui.train.tiny_model import build_tiny_model

            model = build_tiny_model(os.path.join(tmp, "m"))
        else:
            model = build_sd15_random(os.path.join(tmp, "m"))
        sub = make_images(os.path.join(tmp, "d"), 8, res)
        print(f"model built in {time.time() - t0:.1f}s (random weights); {res}px")
        print(f"{'net':6} {'prec':5} {'batch':>5} {'it/s':>7} {'img/s':>7} {'VRAM GiB':>9} {'UNet TFLOP/s':>13} {'share':>6}")
        for network in args.networks.split(","):
            for precision in args.precisions.split(","):
                if device == "cpu" and precision == "fp16":
                    precision = "no"
                for batch in map(int, args.batches.split(",")):
                    its, ips, vram = run_worker(model, sub, os.path.join(tmp, "o"), res=res, batch=batch,
                                                precision=precision, network=network, steps=args.steps,
                                                device=device)
                    tf, share = unet_share(model, res=res, batch=batch, precision=precision, network=network,
                                           device=device, iters=3 if args.tiny else 10)
                    print(f"{network:6} {precision:5} {batch:5d} {its:7.2f} {ips:7.2f} {vram:9.2f} {tf:13.1f} "
                          f"{(f'{share:.0%}' if share else '-'):>6}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
