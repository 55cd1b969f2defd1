"""EMA of the LoRA weights (OneTrainer's and ai-toolkit's "EMA"): ``shadow = d * shadow + (1 - d) * w``
after every optimizer update, kept in fp32 beside the trained weights, stored in the checkpoint
(a resumed run continues the same average) and swapped in to save the output file.
"""

from __future__ import annotations

from contextlib import contextmanager


class LoraEMA:
    def __init__(self, params, decay: float):
        import torch

        self.params = list(params)
        self.decay = float(decay)
        self.shadow = [p.detach().to(torch.float32).clone() for p in self.params]
        self.updates = 0

    def update(self) -> None:
        import torch

        with torch.no_grad():
            for s, p in zip(self.shadow, self.params):
                s.mul_(self.decay).add_(p.detach().to(s.device, torch.float32), alpha=1.0 - self.decay)
        self.updates += 1

    def state_dict(self) -> dict:
        return {"decay": self.decay, "updates": self.updates, "shadow": [s.cpu() for s in self.shadow]}

    def load_state_dict(self, st: dict) -> None:
        if len(st["shadow"]) != len(self.shadow):
            raise ValueError("the checkpoint's EMA does not match this network")
        for s, v in zip(self.shadow, st["shadow"]):
            s.copy_(v)
        self.updates = int(st.get("updates", 0))

    @contextmanager
    def applied(self):
        """The trained parameters hold the EMA weights inside the block (to save or evaluate them)."""
        import torch

        with torch.no_grad():
            saved = [p.detach().clone() for p in self.params]
            for p, s in zip(self.params, self.shadow):
                p.copy_(s.to(p.device, p.dtype))
        try:
            yield
        finally:
            with torch.no_grad():
                for p, v in zip(self.params, saved):
                    p.copy_(v)
