"""The NaN guard: a non-finite loss or gradient stops the run before the optimizer applies it.

Training on after a NaN only produces garbage (every weight it touches becomes NaN). The trainer
checks the loss of each micro-step and the gradient norm of each update; on a non-finite value it
drops the gradients, saves a checkpoint of the weights from before that update (when they are
still finite) and raises ``NonFiniteLoss``; the worker turns it into an ``error`` event with
``kind: "nan"`` (``loratui doctor`` then suggests a lower learning rate and another precision).
"""

from __future__ import annotations

import math


class NonFiniteLoss(Exception):
    def __init__(self, what: str, step: int, value: float, checkpoint: str | None = None,
                 lrs: dict | None = None):
        self.what, self.step, self.value, self.checkpoint, self.lrs = what, step, value, checkpoint, lrs or {}
        super().__init__(self.message())

    def message(self) -> str:
        lr = ", ".join(f"{k} lr {v:g}" for k, v in self.lrs.items())
        kept = (f"; the weights from before it are in the checkpoint (step {self.step - 1})" if self.checkpoint
                else "; no checkpoint was written (the weights were no longer finite)")
        return (f"the {self.what} became {self.value} at step {self.step}{' (' + lr + ')' if lr else ''}: "
                f"training stopped instead of going on with garbage{kept}")


def finite(x: float) -> bool:
    return math.isfinite(x)


def params_finite(params) -> bool:
    """Every tensor in ``params`` is finite (one reduction per tensor, run only when saving)."""
    import torch

    return all(bool(torch.isfinite(p).all()) for p in params)
