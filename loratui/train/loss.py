"""The per-batch diffusion loss, as sd-scripts computes it, in functions testable on their own.

The trainer draws the randomness (noise, offset noise, timesteps) and runs the model; everything
from "here is the prediction" to "here is the number to back-propagate" lives here:

- ``target``: the noise for epsilon models, the velocity ``sqrt(a) * noise - sqrt(1 - a) * x0``
  for v-prediction models (what ``DDPMScheduler.get_velocity`` returns);
- ``snr`` and ``min_snr_weight``: min-SNR-gamma weighting in sd-scripts' two forms,
  ``min(snr, gamma) / snr`` (epsilon) and ``min(snr, gamma) / (snr + 1)`` (v-prediction);
- ``offset_noise``: sd-scripts' noise offset (one extra value per image and channel);
- ``per_image_loss`` / ``batch_loss``: the MSE per image, weighted, then averaged.

torch is imported inside the functions: importing this module costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LossSettings:
    v_prediction: bool = False
    min_snr_gamma: float = 0.0
    """0: off."""


def _expand(x, like):
    """A per-image vector shaped to broadcast over ``like`` (B, C, H, W)."""
    return x.reshape(-1, *([1] * (like.dim() - 1)))


def target(latents, noise, timesteps, alphas_cumprod, v_prediction: bool):
    """What the model should predict for ``noisy = sqrt(a) x0 + sqrt(1 - a) noise``."""
    if not v_prediction:
        return noise
    a = alphas_cumprod.to(latents.device)[timesteps].to(latents.dtype)
    return _expand(a.sqrt(), latents) * noise - _expand((1 - a).sqrt(), latents) * latents


def snr(alphas_cumprod, timesteps):
    """Signal-to-noise ratio ``a / (1 - a)`` at each timestep (0 at a zero-terminal-SNR last step)."""
    a = alphas_cumprod.to(timesteps.device)[timesteps].float()
    return a / (1 - a)


def min_snr_weight(snr_values, gamma: float, v_prediction: bool):
    """sd-scripts' ``apply_snr_weight`` factor. The epsilon form ``min(snr, gamma) / snr`` is written
    as ``where(snr < gamma, 1, gamma / snr)``: the same number for every snr > 0, and its limit (1)
    instead of 0/0 at snr = 0 (the last step of a zero-terminal-SNR schedule)."""
    import torch

    if v_prediction:
        return torch.clamp(snr_values, max=gamma) / (snr_values + 1)
    return torch.where(snr_values < gamma, torch.ones_like(snr_values), gamma / snr_values)


def offset_noise(shape, offset: float, generator=None, dtype=None):
    """sd-scripts' noise offset term: ``offset * randn(B, C, 1, 1)``, added to the noise."""
    import torch

    b, c = shape[0], shape[1]
    return offset * torch.randn((b, c) + (1,) * (len(shape) - 2), generator=generator, dtype=dtype)


def per_image_loss(pred, tgt, timesteps, alphas_cumprod, settings: LossSettings, mask=None):
    """min-SNR-weighted MSE per image, shape (B,), in fp32. ``mask`` (B, 1, H, W) weights each latent
    pixel (sd-scripts' ``alpha_mask``: the weighted error is averaged over every pixel)."""
    import torch

    err = torch.nn.functional.mse_loss(pred.float(), tgt.float(), reduction="none")
    if mask is not None:
        err = err * mask.to(err.device, err.dtype)
    loss = err.mean(dim=tuple(range(1, err.dim())))
    if settings.min_snr_gamma:
        loss = loss * min_snr_weight(snr(alphas_cumprod, timesteps), settings.min_snr_gamma, settings.v_prediction)
    return loss


def batch_loss(pred, latents, noise, timesteps, alphas_cumprod, settings: LossSettings):
    """The scalar to back-propagate for one batch (mean of ``per_image_loss``)."""
    tgt = target(latents, noise, timesteps, alphas_cumprod, settings.v_prediction)
    return per_image_loss(pred, tgt, timesteps, alphas_cumprod, settings).mean()


def zero_terminal_snr_betas(betas):
    """Rescale a beta schedule so the last step has SNR 0 (Lin et al. 2023, sd-scripts'
    ``fix_noise_scheduler_betas_for_zero_terminal_snr``, diffusers' ``rescale_zero_terminal_snr``)."""
    import torch

    alphas_bar_sqrt = torch.cumprod(1 - betas, dim=0).sqrt()
    first, last = alphas_bar_sqrt[0].clone(), alphas_bar_sqrt[-1].clone()
    alphas_bar_sqrt = (alphas_bar_sqrt - last) * (first / (first - last))
    alphas_bar = alphas_bar_sqrt ** 2
    alphas = torch.cat([alphas_bar[0:1], alphas_bar[1:] / alphas_bar[:-1]])
    return 1 - alphas
