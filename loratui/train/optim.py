"""Optimizers and learning-rate schedules by their kohya names."""

from __future__ import annotations


class OptimizerUnavailable(Exception):
    pass


def make_optimizer(name: str, param_groups: list[dict], args: dict):
    import torch

    lname = name.lower()
    if lname == "adamw":
        return torch.optim.AdamW(param_groups, **args)
    if lname == "adamw8bit":
        try:
            import bitsandbytes as bnb
        except ImportError:
            raise OptimizerUnavailable("optimizer AdamW8bit needs the bitsandbytes package "
                                       "(pip install bitsandbytes), or choose AdamW") from None
        return bnb.optim.AdamW8bit(param_groups, **args)
    if lname == "lion":
        try:
            from lion_pytorch import Lion
        except ImportError:
            raise OptimizerUnavailable("optimizer Lion needs the lion-pytorch package "
                                       "(pip install lion-pytorch), or choose AdamW") from None
        return Lion(param_groups, **args)
    if lname == "prodigy":
        try:
            from prodigyopt import Prodigy
        except ImportError:
            raise OptimizerUnavailable("optimizer Prodigy needs the prodigyopt package "
                                       "(pip install prodigyopt), or choose AdamW") from None
        return Prodigy(param_groups, **args)
    if lname == "adafactor":
        from transformers.optimization import Adafactor

        kw = {"scale_parameter": False, "relative_step": False, "warmup_init": False, **args}
        return Adafactor(param_groups, **kw)
    raise OptimizerUnavailable(f"unknown optimizer {name!r} (AdamW, AdamW8bit, Lion, Prodigy, Adafactor)")


def make_scheduler(name: str, optimizer, warmup_steps: int, total_steps: int, num_cycles: int = 1,
                   power: float = 1.0):
    from diffusers.optimization import get_scheduler

    kw = {}
    if name == "cosine_with_restarts":
        kw["num_cycles"] = num_cycles
    if name == "polynomial":
        kw["power"] = power
    return get_scheduler(name, optimizer, num_warmup_steps=warmup_steps, num_training_steps=max(total_steps, 1), **kw)
