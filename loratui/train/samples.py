"""Sample images during training: kohya prompt syntax, generation at several LoRA strengths.

Prompt line: ``prompt text --n negative --w 512 --h 768 --d 42 --s 28 --l 7``; ``#`` lines and
blank lines are ignored. Unset options: the training resolution, seed = run seed + prompt index,
20 steps, CFG 7. Images are PNGs whose ``parameters`` text chunk is A1111-style.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from loratui.fileio import FILE_MODE, current_umask

_OPT = re.compile(r"\s--([nwhdsl])\s+")

SAMPLERS = {
    "euler_a": "EulerAncestralDiscreteScheduler", "k_euler_a": "EulerAncestralDiscreteScheduler",
    "euler": "EulerDiscreteScheduler", "k_euler": "EulerDiscreteScheduler", "ddim": "DDIMScheduler",
    "pndm": "PNDMScheduler", "lms": "LMSDiscreteScheduler", "k_lms": "LMSDiscreteScheduler",
    "heun": "HeunDiscreteScheduler", "dpm_2": "KDPM2DiscreteScheduler", "k_dpm_2": "KDPM2DiscreteScheduler",
    "dpm_2_a": "KDPM2AncestralDiscreteScheduler", "k_dpm_2_a": "KDPM2AncestralDiscreteScheduler",
    "dpmsolver": "DPMSolverMultistepScheduler", "dpmsolver++": "DPMSolverMultistepScheduler",
    "dpmsingle": "DPMSolverSinglestepScheduler",
}


@dataclass
class SamplePrompt:
    prompt: str
    negative: str = ""
    width: int | None = None
    height: int | None = None
    seed: int | None = None
    steps: int = 20
    cfg: float = 7.0


def parse_prompt(line: str) -> SamplePrompt | None:
    """One kohya sample-prompt line (None for comments and blank lines). Raises ValueError."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    parts = _OPT.split(" " + line)
    sp = SamplePrompt(parts[0].strip())
    for opt, value in zip(parts[1::2], parts[2::2]):
        value = value.strip()
        try:
            if opt == "n":
                sp.negative = value
            elif opt == "w":
                sp.width = int(value)
            elif opt == "h":
                sp.height = int(value)
            elif opt == "d":
                sp.seed = int(value)
            elif opt == "s":
                sp.steps = max(1, int(value))
            elif opt == "l":
                sp.cfg = float(value)
        except ValueError:
            raise ValueError(f"sample prompt {line!r}: --{opt} expects a number, got {value!r}") from None
    return sp


def parse_prompts(lines: list[str]) -> list[SamplePrompt]:
    out = []
    for raw in lines:
        for line in raw.splitlines():
            sp = parse_prompt(line)
            if sp is not None:
                out.append(sp)
    return out


def a1111_parameters(sp: SamplePrompt, seed: int, width: int, height: int, sampler: str, strength: float) -> str:
    text = sp.prompt
    if sp.negative:
        text += f"\nNegative prompt: {sp.negative}"
    return text + (f"\nSteps: {sp.steps}, Sampler: {sampler}, CFG scale: {sp.cfg:g}, Seed: {seed}, "
                   f"Size: {width}x{height}, Lora strength: {strength:g}")


def generate(models, unet, text_encoder, net, prompts: list[SamplePrompt], strengths: list[float], *, spec,
             folder: str, epoch: int, step: int, device, autocast, emit, by_step: bool = False,
             text_encoder_2=None) -> list[str]:
    """Render every prompt at every strength; returns the PNG paths (announced through ``emit``).
    SDXL (``text_encoder_2`` given) renders with the SDXL pipeline."""
    import diffusers
    import torch
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline
    from PIL import PngImagePlugin

    sched_cls = getattr(diffusers, SAMPLERS.get(spec.sample_sampler, "EulerAncestralDiscreteScheduler"))
    scheduler = sched_cls.from_config(models.scheduler_config or dict(models.noise_scheduler.config))
    vae = models.vae
    # the VAE (and text encoders whose outputs were cached) may wait on the CPU: bring them back
    visitors = [m for m in (vae, text_encoder, text_encoder_2) if m is not None]
    homes = [m.device for m in visitors]
    for m in visitors:
        m.to(device)
    sdxl = text_encoder_2 is not None
    if sdxl:
        pipe = StableDiffusionXLPipeline(vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2,
                                         tokenizer=models.tokenizer, tokenizer_2=models.tokenizer_2, unet=unet,
                                         scheduler=scheduler, force_zeros_for_empty_prompt=True)
    else:
        pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=models.tokenizer, unet=unet,
                                       scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                       requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    encoders = [m for m in (text_encoder, text_encoder_2) if m is not None]
    was_training = (unet.training, [m.training for m in encoders])
    unet.eval()
    for m in encoders:
        m.eval()
    os.makedirs(folder, mode=0o755, exist_ok=True)
    paths = []
    try:
        for k, sp in enumerate(prompts):
            seed = sp.seed if sp.seed is not None else spec.seed + k
            w = sp.width or spec.resolution[0]
            h = sp.height or spec.resolution[1]
            for strength in strengths:
                net.set_strength(unet, text_encoder, strength, text_encoder_2)
                with torch.no_grad(), autocast():
                    image = pipe(sp.prompt, negative_prompt=sp.negative or None, width=w, height=h,
                                 num_inference_steps=sp.steps, guidance_scale=sp.cfg,
                                 clip_skip=None if sdxl else (spec.clip_skip - 1) or None,
                                 generator=torch.Generator(device="cpu").manual_seed(seed)).images[0]
                info = PngImagePlugin.PngInfo()
                params = a1111_parameters(sp, seed, w, h, spec.sample_sampler, strength)
                info.add_text("parameters", params)
                when = f"step{step:07d}" if by_step else f"e{epoch:06d}"
                path = os.path.join(folder, f"{spec.output_name}_{when}_{k:02d}_s{strength:g}.png")
                image.save(path, pnginfo=info)
                os.chmod(path, FILE_MODE & ~current_umask())  # the one rule (loratui.fileio), like the LoRA files
                paths.append(path)
                emit("sample", path=path, prompt=sp.prompt, strength=strength, epoch=epoch, step=step,
                     params={"negative": sp.negative, "width": w, "height": h, "seed": seed, "steps": sp.steps,
                             "cfg": sp.cfg, "sampler": spec.sample_sampler})
    finally:
        net.set_strength(unet, text_encoder, 1.0, text_encoder_2)
        unet.train(was_training[0])
        for m, t in zip(encoders, was_training[1]):
            m.train(t)
        for m, home in zip(visitors, homes):
            m.to(home)
    return paths
