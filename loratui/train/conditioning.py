"""What the UNet is conditioned on, per family, as sd-scripts computes it.

- SD 1.x / 2.x: the text encoder's last hidden state (or, with ``clip_skip`` N > 1, the N-th from
  the end passed through the final layer norm).
- SDXL (sd-scripts' ``get_hidden_states_sdxl``): the penultimate hidden states of both encoders,
  concatenated on the feature axis (768 + 1280 = 2048), no final layer norm; the pooled output of
  the second encoder (its last hidden state at the first end-of-text token, through
  ``text_projection``); and per image ``add_time_ids`` = original size (h, w), crop top-left
  (top, left) and target size (h, w), with sd-scripts' crop rule (``get_crop_ltrb``).
"""

from __future__ import annotations

from dataclasses import dataclass


def crop_ltrb(bucket: tuple[int, int], size: tuple[int, int]) -> tuple[float, float, float, float]:
    """sd-scripts' ``BucketManager.get_crop_ltrb``: where the image would sit in its bucket when fitted
    inside it (Stability's preprocessing), as (left, top, right, bottom); ``bucket``/``size`` are (w, h)."""
    bucket_ar = bucket[0] / bucket[1]
    image_ar = size[0] / size[1]
    if bucket_ar > image_ar:
        rw, rh = bucket[1] * image_ar, bucket[1]
    else:
        rw, rh = bucket[0], bucket[0] / image_ar
    left = (bucket[0] - rw) // 2
    top = (bucket[1] - rh) // 2
    return left, top, left + rw, top + rh


def size_ids(size: tuple[int, int], bucket: tuple[int, int], flipped: bool) -> tuple[int, int, int, int, int, int]:
    """SDXL's ``add_time_ids`` of one image: (orig h, orig w, crop top, crop left, target h, target w).
    A flipped image's crop left is measured from the other side, as sd-scripts does."""
    left, top, right, _ = crop_ltrb(bucket, size)
    if flipped:
        left = bucket[0] - right
    return int(size[1]), int(size[0]), int(top), int(left), int(bucket[1]), int(bucket[0])


@dataclass
class TextConditioning:
    hidden: object
    """(B, 77, D) encoder hidden states."""
    pooled: object = None
    """(B, P) SDXL's pooled text embedding (None for SD 1.x / 2.x)."""


class TextEncoder:
    """Captions -> ``TextConditioning`` for the family. ``encoders`` are what is called (possibly
    wrapped for multi-GPU); ``unwrapped`` are the plain models (final layer norm, projection)."""

    def __init__(self, tokenizers: list, encoders: list, unwrapped: list, clip_skip: int, device):
        self.tokenizers, self.encoders, self.unwrapped = tokenizers, encoders, unwrapped
        self.clip_skip, self.device = clip_skip, device

    @property
    def sdxl(self) -> bool:
        return len(self.encoders) == 2

    def _ids(self, tok, captions: list[str]):
        return tok(captions, padding="max_length", max_length=tok.model_max_length, truncation=True,
                   return_tensors="pt").input_ids.to(self.device)

    def __call__(self, captions: list[str]) -> TextConditioning:
        import torch

        if not self.sdxl:
            te = self.encoders[0]
            ids = self._ids(self.tokenizers[0], captions)
            if self.clip_skip > 1:
                out = te(ids, output_hidden_states=True)
                plain = self.unwrapped[0]
                norm = getattr(plain, "text_model", plain).final_layer_norm
                return TextConditioning(norm(out.hidden_states[-self.clip_skip]))
            return TextConditioning(te(ids)[0])
        ids1 = self._ids(self.tokenizers[0], captions)
        ids2 = self._ids(self.tokenizers[1], captions)
        h1 = self.encoders[0](ids1, output_hidden_states=True).hidden_states[-2]
        out2 = self.encoders[1](ids2, output_hidden_states=True)
        h2 = out2.hidden_states[-2]
        # sd-scripts' pool_workaround: the first end-of-text token, whatever the config's eos id says
        eos = (ids2 == self.tokenizers[1].eos_token_id).int().argmax(dim=1)
        last = out2.last_hidden_state
        proj = self.unwrapped[1].text_projection
        pooled = proj(last[torch.arange(last.shape[0], device=last.device), eos].to(proj.weight.dtype))
        return TextConditioning(torch.cat([h1, h2.to(h1.dtype)], dim=2), pooled.to(last.dtype))


class TextCache:
    """Text-encoder outputs computed once per distinct caption (kept on the CPU), for runs whose
    captions never change and whose encoders are not trained."""

    def __init__(self):
        self.hidden: dict[str, object] = {}
        self.pooled: dict[str, object] = {}

    def fill(self, captions: list[str], encode, batch_size: int = 8) -> None:
        import torch

        todo = sorted(set(captions) - set(self.hidden))
        with torch.no_grad():
            for k in range(0, len(todo), batch_size):
                chunk = todo[k:k + batch_size]
                out = encode(chunk)
                for j, c in enumerate(chunk):
                    self.hidden[c] = out.hidden[j].detach().cpu()
                    if out.pooled is not None:
                        self.pooled[c] = out.pooled[j].detach().cpu()

    def __len__(self) -> int:
        return len(self.hidden)

    def get(self, captions: list[str], device, dtype) -> TextConditioning:
        import torch

        hidden = torch.stack([self.hidden[c] for c in captions]).to(device, dtype)
        pooled = torch.stack([self.pooled[c] for c in captions]).to(device, dtype) if self.pooled else None
        return TextConditioning(hidden, pooled)
