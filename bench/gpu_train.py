"""GPU benchmark of the real training worker on full-size architectures with random weights.

``--family sd15`` (default): batch {1, 4} x {fp16, bf16} x {LoRA, LoCon, LoKr} at 512 px (LoKr: LyCORIS
factor 8, dim 32, conv 16, preset full, trained with lycoris-lora's modules).
``--family sdxl``: SDXL at 1024 px, bf16, LoRA, batch {1, 4} x gradient checkpointing {off, on} x
text encoders {cached (UNet only), trained}.

Each row runs ``loratui.train.trainer.train`` for a few steps: it/s, samples/s, the measured peak
(``torch.cuda.max_memory_allocated``) next to loratui's estimate (``loratui.config.vram``, the part
torch allocates) and their ratio, the figures to correct the estimate's constants with. Then the
UNet forward+backward alone (with LoRA, same precision/checkpointing): its achieved TFLOP/s, its
share of the card's dense fp16/bf16 peak, and its own memory peak (UNet share of the run's peak).
An out-of-memory row is reported as OOM (a measured result too) and the next row runs.

    python bench/gpu_train.py --family sdxl        # on a CUDA machine (bench/gpu_check.sh runs both)
    python bench/gpu_train.py --tiny --steps 4     # CPU smoke test on the tiny SD1 model
    python bench/gpu_train.py --tiny --family sdxl # CPU smoke test on the tiny SDXL model
"""

from __future__ import annotations

import argparse
import gc
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

CLIP_VOCAB = 49408
"""The real CLIP vocabulary: the embedding tables have their real size (the tokenizer is a tiny one)."""

SDXL_UNET = dict(sample_size=128, cross_attention_dim=2048, transformer_layers_per_block=[1, 2, 10],
                 block_out_channels=(320, 640, 1280),
                 down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                 up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
                 attention_head_dim=[5, 10, 20], use_linear_projection=True, addition_embed_type="text_time",
                 addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816)
"""stabilityai/stable-diffusion-xl-base-1.0's unet/config.json (the fields that differ from the defaults)."""


def _clip(cls, vocab: int, hidden: int, layers: int, heads: int, act: str, projection: int):
    from transformers import CLIPTextConfig

    return cls(CLIPTextConfig(vocab_size=CLIP_VOCAB, hidden_size=hidden, intermediate_size=4 * hidden,
                              num_hidden_layers=layers, num_attention_heads=heads, max_position_embeddings=77,
                              projection_dim=projection, hidden_act=act, bos_token_id=vocab - 2,
                              eos_token_id=vocab - 1, pad_token_id=vocab - 1))


def _vae(scaling: float):
    from diffusers import AutoencoderKL

    return AutoencoderKL(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                         up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=2, latent_channels=4,
                         sample_size=1024 if scaling != 0.18215 else 512, scaling_factor=scaling)


def _builder_device():
    """Build on the GPU when there is one: initialising 2.6B parameters on the CPU takes minutes."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def build_sd15_random(folder: str) -> str:
    """A diffusers folder with SD1.5's architecture and random fp16 weights (no download)."""
    import torch
    from diffusers import DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel

    from loratui.train.tiny_model import write_tiny_tokenizer

    vocab = write_tiny_tokenizer(os.path.join(folder, "tokenizer"))
    torch.manual_seed(0)
    with _builder_device():
        UNet2DConditionModel(cross_attention_dim=768, attention_head_dim=8, sample_size=64).half().save_pretrained(
            os.path.join(folder, "unet"))
        _clip(CLIPTextModel, vocab, 768, 12, 12, "quick_gelu", 768).half().save_pretrained(
            os.path.join(folder, "text_encoder"))
        _vae(0.18215).half().save_pretrained(os.path.join(folder, "vae"))
    DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear").save_pretrained(
        os.path.join(folder, "scheduler"))
    with open(os.path.join(folder, "model_index.json"), "w") as f:
        json.dump({"_class_name": "StableDiffusionPipeline"}, f)
    return folder


def build_sdxl_random(folder: str) -> str:
    """A diffusers folder with SDXL base 1.0's architecture (UNet 2.57B, CLIP-L + OpenCLIP bigG, VAE)
    and random bf16 weights; both tokenizers are tiny CLIP BPEs (the second pads with ``!``)."""
    import torch
    from diffusers import EulerDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    from loratui.train.tiny_model import write_tiny_tokenizer

    vocab = write_tiny_tokenizer(os.path.join(folder, "tokenizer"))
    write_tiny_tokenizer(os.path.join(folder, "tokenizer_2"))
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        p = os.path.join(folder, "tokenizer_2", name)
        with open(p, encoding="utf-8") as f:
            d = json.load(f)
        d["pad_token"] = "!"
        with open(p, "w", encoding="utf-8") as f:
            json.dump(d, f)
    torch.manual_seed(0)
    with _builder_device():
        UNet2DConditionModel(**SDXL_UNET).to(torch.bfloat16).save_pretrained(os.path.join(folder, "unet"))
        torch.cuda.empty_cache() if torch.cuda.is_available() else None
        _clip(CLIPTextModel, vocab, 768, 12, 12, "quick_gelu", 768).to(torch.bfloat16).save_pretrained(
            os.path.join(folder, "text_encoder"))
        _clip(CLIPTextModelWithProjection, vocab, 1280, 32, 20, "gelu", 1280).to(torch.bfloat16).save_pretrained(
            os.path.join(folder, "text_encoder_2"))
        _vae(0.13025).to(torch.bfloat16).save_pretrained(os.path.join(folder, "vae"))
    EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1,
                           timestep_spacing="leading").save_pretrained(os.path.join(folder, "scheduler"))
    with open(os.path.join(folder, "model_index.json"), "w") as f:
        json.dump({"_class_name": "StableDiffusionXLPipeline", "scheduler": ["diffusers", "EulerDiscreteScheduler"],
                   "text_encoder": ["transformers", "CLIPTextModel"],
                   "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
                   "tokenizer": ["transformers", "CLIPTokenizer"], "tokenizer_2": ["transformers", "CLIPTokenizer"],
                   "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}, f)
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
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


LOKR_FACTOR = 8
"""The usual LoKr for styles: factor 8, dim 32 (low-rank second factor), LyCORIS' full preset."""


def vram_inputs(row: dict):
    from loratui.config.vram import VramInputs

    return VramInputs(family="sdxl" if row["family"] == "sdxl" else "sd1", width=row["res"], height=row["res"],
                      batch=row["batch"], precision=row["precision"], gradient_checkpointing=row["gc"],
                      cache_latents=True, cache_text_encoder_outputs=row["te"] == "cached",
                      train_unet=True, train_text_encoder=row["te"] == "trained", network_type=row["network"],
                      dim=32, conv_dim=16, optimizer="AdamW")


def run_worker(model, sub, out, row: dict, steps: int, device: str):
    import torch

    from loratui.train.events import EventLog
    from loratui.train.spec import SubsetSpec, TrainSpec
    from loratui.train.trainer import train

    res, batch = row["res"], row["batch"]
    extra = {}
    if row["family"] == "sdxl":
        extra = dict(family="sdxl", cache_text_encoder_outputs=row["te"] == "cached")
    spec = TrainSpec(base_model=model, output_dir=out, output_name="bench",
                     subsets=[SubsetSpec(path=sub, repeats=50, keep_tokens=1, shuffle_caption=row["te"] != "cached")],
                     resolution=(res, res), min_bucket_reso=min(256, res), max_bucket_reso=max(1024, res),
                     bucket_reso_steps=64 if res >= 256 else 16,
                     network_type=row["network"], network_dim=32, network_alpha=16, conv_dim=16, conv_alpha=8,
                     lokr_factor=LOKR_FACTOR, train_text_encoder=row["te"] == "trained", gradient_checkpointing=row["gc"],
                     batch_size=batch, epochs=1, max_train_steps=steps, device=device,
                     mixed_precision=row["precision"], save_precision="fp16", seed=1, **extra)
    t: list[float] = []
    ev = EventLog(None, echo=lambda e: t.append(time.perf_counter()) if e["type"] == "step" else None)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    train(spec, None, ev)
    dts = [b - a for a, b in zip(t, t[1:])][2:]  # skip warm-up steps
    sec = statistics.median(dts) if dts else float("nan")
    peak = torch.cuda.max_memory_allocated() if device == "cuda" else float("nan")
    return 1 / sec, batch / sec, peak


def unet_share(model, row: dict, device: str, iters: int = 10):
    """UNet forward+backward alone: achieved TFLOP/s, share of the card's dense peak, its memory peak."""
    import torch
    from diffusers import UNet2DConditionModel
    from torch.utils.flop_counter import FlopCounterMode

    from loratui.lora.kohya_keys import unet_targets
    from loratui.train.network import inject_lora

    res, batch = row["res"], row["batch"]
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(row["precision"], torch.float32)
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    unet = UNet2DConditionModel.from_pretrained(model, subfolder="unet").to(device, dtype)
    if row["network"] == "lokr":
        from loratui.lora.kohya_keys import lycoris_unet_targets
        from loratui.train.lycoris_net import inject
        from loratui.train.spec import TrainSpec

        spec = TrainSpec(base_model=model, output_dir="", network_type="lokr", network_dim=32, network_alpha=16,
                         conv_dim=16, conv_alpha=8, lokr_factor=LOKR_FACTOR)
        inject(unet, lycoris_unet_targets(unet, "full", conv=True), spec)
    else:
        inject_lora(unet, unet_targets(unet, conv=row["network"] == "locon"), 32, 16, 16, 8)
    unet.train()
    lat = torch.randn(batch, 4, res // 8, res // 8, device=device, dtype=dtype)
    t = torch.randint(0, 1000, (batch,), device=device)
    hid = torch.randn(batch, 77, unet.config.cross_attention_dim, device=device, dtype=dtype)
    cond = {}
    if unet.config.addition_embed_type == "text_time":
        pooled = unet.config.projection_class_embeddings_input_dim - 6 * unet.config.addition_time_embed_dim
        cond = {"added_cond_kwargs": {
            "text_embeds": torch.randn(batch, pooled, device=device, dtype=dtype),
            "time_ids": torch.tensor([[res, res, 0, 0, res, res]] * batch, device=device, dtype=dtype)}}

    def step():
        with torch.autocast(device_type=device, dtype=dtype, enabled=dtype != torch.float32):
            out = unet(lat, t, hid, **cond).sample
        out.float().pow(2).mean().backward()

    with FlopCounterMode(display=False) as fc:  # the model's own FLOPs: counted without recomputation
        step()
    flops = fc.get_total_flops()
    if row["gc"]:
        unet.enable_gradient_checkpointing()
    for _ in range(2):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    sec = (time.perf_counter() - t0) / iters
    peak_mem = torch.cuda.max_memory_allocated() if device == "cuda" else float("nan")
    tflops = flops / sec / 1e12
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    peak = next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
    return tflops, (tflops / peak if peak else None), peak_mem


def rows_for(args) -> list[dict]:
    out = []
    if args.family == "sdxl":
        res = 64 if args.tiny else args.res or 1024
        for te in args.te.split(","):
            for gc_on in (g == "on" for g in args.gc.split(",")):
                for batch in map(int, args.batches.split(",")):
                    out.append(dict(family="sdxl", res=res, batch=batch, precision=args.precisions or "bf16",
                                    network="lora", gc=gc_on, te=te))
        return out
    res = 64 if args.tiny else args.res or 512
    for network in args.networks.split(","):
        for precision in (args.precisions or "fp16,bf16").split(","):
            for batch in map(int, args.batches.split(",")):
                out.append(dict(family="sd15", res=res, batch=batch, precision=precision, network=network,
                                gc=False, te="trained"))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--family", choices=("sd15", "sdxl"), default="sd15")
    ap.add_argument("--res", type=int, default=0, help="default 512 (sd15) / 1024 (sdxl)")
    ap.add_argument("--steps", type=int, default=0, help="default 20 (sd15) / 10 (sdxl)")
    ap.add_argument("--tiny", action="store_true", help="CPU smoke test on the tiny model")
    ap.add_argument("--batches", default="1,4")
    ap.add_argument("--precisions", default="", help="default fp16,bf16 (sd15) / bf16 (sdxl)")
    ap.add_argument("--networks", default="lora,locon,lokr", help="sd15 only: lora, locon, lokr")
    ap.add_argument("--gc", default="off,on", help="gradient checkpointing (sdxl): off,on")
    ap.add_argument("--te", default="cached,trained", help="text encoders (sdxl): cached (UNet only), trained")
    args = ap.parse_args()
    import torch

    from loratui.config.vram import estimate

    device = "cuda" if torch.cuda.is_available() and not args.tiny else "cpu"
    steps = args.steps or (10 if args.family == "sdxl" else 20)
    rows = rows_for(args)
    print(f"device: {torch.cuda.get_device_name() if device == 'cuda' else 'cpu'}; torch {torch.__version__}; "
          f"{args.family} at {rows[0]['res']} px, {steps} steps per row")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.time()
        if args.tiny:
            from loratui.train import tiny_model

            build = tiny_model.build_tiny_model if args.family == "sd15" else getattr(
                tiny_model, "build_tiny_sdxl_model", None)
            if build is None:
                print("no tiny SDXL model in this version of loratui.train.tiny_model")
                return 0
            model = build(os.path.join(tmp, "m"))
        else:
            model = (build_sdxl_random if args.family == "sdxl" else build_sd15_random)(os.path.join(tmp, "m"))
        sub = make_images(os.path.join(tmp, "d"), 8, rows[0]["res"])
        print(f"model built in {time.time() - t0:.1f}s (random weights)")
        print(f"{'net':6} {'prec':5} {'batch':>5} {'ckpt':>4} {'TE':>7} {'it/s':>7} {'img/s':>7} {'peak GB':>8} "
              f"{'est GB':>7} {'meas/est':>8} {'UNet TFLOP/s':>13} {'share':>6} {'UNet GB':>8}", flush=True)
        for row in rows:
            precision = row["precision"]
            if device == "cpu" and precision == "fp16":
                row["precision"] = precision = "no"
            est = estimate(vram_inputs(row)).allocated
            head = (f"{row['network']:6} {precision:5} {row['batch']:5d} {'on' if row['gc'] else 'off':>4} "
                    f"{row['te']:>7}")
            try:
                its, ips, peak = run_worker(model, sub, os.path.join(tmp, "o"), row, steps, device)
            except Exception as e:  # noqa: BLE001 - an OOM (or an engine without SDXL) is this row's result
                oom = "out of memory" in str(e).lower() or type(e).__name__ == "OutOfMemoryError"
                print(f"{head} {'OOM' if oom else 'failed':>7} {'':7} {'':8} {est / 1e9:7.1f}"
                      + ("" if oom else f"   {type(e).__name__}: {str(e)[:160]}"), flush=True)
                gc.collect()
                if device == "cuda":
                    torch.cuda.empty_cache()
                continue
            gc.collect()
            try:
                tf, share, unet_mem = unet_share(model, row, device, iters=2 if args.tiny else 8)
            except Exception as e:  # noqa: BLE001
                tf, share, unet_mem = float("nan"), None, float("nan")
                print(f"  (UNet alone: {type(e).__name__}: {str(e)[:160]})")
            gc.collect()
            if device == "cuda":
                torch.cuda.empty_cache()
            print(f"{head} {its:7.2f} {ips:7.2f} {peak / 1e9:8.2f} {est / 1e9:7.2f} {peak / est:8.2f} {tf:13.1f} "
                  f"{(f'{share:.0%}' if share else '-'):>6} {unet_mem / 1e9:8.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
