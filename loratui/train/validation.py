"""Validation loss: the same diffusion loss on held-out images, comparable across evaluations.

Each held-out image gets fixed latents (one posterior sample), fixed noise and a fixed set of
timesteps spread over the schedule, all seeded from (seed, image path): a curve point at step N
depends only on the weights at step N, so it is the same across evaluations, stops and resumes.
Evaluation runs with the network in eval mode (no LoRA dropout) and without gradients, and draws
from its own generators (the training trajectory is untouched).
"""

from __future__ import annotations

import hashlib
import os

TIMESTEPS_PER_IMAGE = 4


def _seed(*parts) -> int:
    return int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:8], "little") & (2**63 - 1)


def split_validation(data, spec) -> list:
    """Remove the held-out images from ``data`` (renumbering the rest); return them (ImageItems)."""
    from loratui.dataset.validation_split import held_out

    from .data import DataError

    subsets = data.subsets
    val_subsets = {i for i, s in enumerate(subsets) if getattr(s, "is_val", False)}
    if not val_subsets and not spec.validation_split:
        return []
    reg = {i for i, s in enumerate(subsets) if s.is_reg}
    key = {it.index: (it.subset, os.path.relpath(it.path, subsets[it.subset].path)) for it in data.items}
    chosen = held_out(list(key.values()), spec.validation_split, val_subsets, reg, spec.seed)
    vals = [it for it in data.items if key[it.index] in chosen]
    if not vals:
        return []
    data.drop({it.index for it in vals})
    if not data.items:
        raise DataError("every image is held out for validation: lower dataset.validation_split or unmark a subset")
    return vals


class Validator:
    def __init__(self, items, spec, vae, num_train_timesteps: int, on_bad=None):
        import random

        import torch

        from .data import load_pixels, process_caption
        from .latents import encode_pixels

        k = TIMESTEPS_PER_IMAGE
        self.timesteps = [int((j + 0.5) * num_train_timesteps / k) for j in range(k)]
        self.entries = []
        for it in items:
            try:
                pix = torch.from_numpy(load_pixels(it, False))[None]
            except Exception as e:  # noqa: BLE001 - an unreadable held-out image is skipped, not fatal
                if on_bad:
                    on_bad(it.path, f"validation image skipped: {e}")
                continue
            lat = encode_pixels(vae, pix, [_seed(spec.seed, "validation-latent", it.path)]).float().cpu()
            gen = torch.Generator().manual_seed(_seed(spec.seed, "validation-noise", it.path))
            noise = torch.randn((k,) + tuple(lat.shape[1:]), generator=gen)
            # the caption as training would process it, with a fixed draw (shuffle/dropout)
            caption = process_caption(it.tags, spec.subsets[it.subset], random.Random(f"{spec.seed}/validation"))
            self.entries.append((it.path, lat, noise, caption))

    @property
    def captions(self) -> list[str]:
        return [e[3] for e in self.entries]

    @property
    def paths(self) -> list[str]:
        return [e[0] for e in self.entries]

    def evaluate(self, predict, sched, alphas_cumprod, loss_settings, modules, device, dtype):
        """(mean loss, [(path, loss)]) with ``predict(noisy, timesteps, captions) -> prediction``."""
        import torch

        from .loss import per_image_loss, target

        modes = [m.training for m in modules]
        for m in modules:
            m.eval()
        out = []
        try:
            with torch.no_grad():
                t = torch.tensor(self.timesteps, device=device)
                for path, lat, noise, caption in self.entries:
                    lat_k = lat.to(device, dtype).expand(len(self.timesteps), *lat.shape[1:])
                    nz = noise.to(device, dtype)
                    noisy = sched.add_noise(lat_k, nz, t)
                    pred = predict(noisy, t, [caption] * len(self.timesteps))
                    tgt = target(lat_k, nz, t, alphas_cumprod, loss_settings.v_prediction)
                    out.append((path, float(per_image_loss(pred, tgt, t, alphas_cumprod, loss_settings).mean())))
        finally:
            for m, mode in zip(modules, modes):
                m.train(mode)
        mean = sum(v for _, v in out) / len(out) if out else float("nan")
        return mean, out
