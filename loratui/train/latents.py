"""VAE latents of the training images: encoded once (cache in memory, optionally on disk), or per step.

Disk cache entries are keyed by the image's bytes, the VAE's weights, the bucket, the resize and
the flip, so a second run (or another config on the same images) skips encoding, and a changed
image or VAE can never hit a stale entry. Flipped images get their own entries.
"""

from __future__ import annotations

import hashlib
import os
import tempfile


def vae_fingerprint(vae) -> str:
    import torch

    h = hashlib.sha256(repr(sorted(dict(vae.config).items())).encode())
    with torch.no_grad():
        for name, p in sorted(vae.state_dict().items()):
            h.update(name.encode())
            h.update(p.detach().to("cpu", torch.float32).contiguous().numpy().tobytes()[:4096])
            h.update(str(float(p.float().sum())).encode())
    return h.hexdigest()[:16]


def image_key(item, flip: bool, vae_fp: str) -> str:
    h = hashlib.sha256()
    with open(item.path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    h.update(f"|{vae_fp}|{item.bucket}|{item.resized}|{int(flip)}".encode())
    return h.hexdigest()[:32]


def default_cache_dir() -> str:
    import platformdirs

    return os.path.join(platformdirs.user_cache_dir("loratui", appauthor=False), "latents")


class LatentCache:
    """``get(item_index, flip)`` -> latent tensor (C, h, w), scaled by the VAE's scaling factor."""

    def __init__(self):
        self.latents: dict[tuple[int, bool], object] = {}

    def get(self, index: int, flip: bool):
        return self.latents[(index, flip)]


def encode_pixels(vae, pixels, seeds: list[int]):
    """Latents of a pixel batch (B, 3, H, W in [-1, 1]): a sample of the posterior, one seed per
    image (so a latent never depends on which other images shared its batch), scaled."""
    import torch

    with torch.no_grad():
        dist = vae.encode(pixels.to(vae.device, vae.dtype)).latent_dist
        noise = torch.stack([torch.randn(dist.mean.shape[1:], generator=torch.Generator().manual_seed(s))
                             for s in seeds]).to(dist.mean.device, dist.mean.dtype)
        lat = dist.mean + dist.std * noise
    return lat * vae.config.scaling_factor


def build_cache(data, vae, on_progress, on_bad_image, to_disk: str = "", batch: int = 4, seed: int = 0) -> LatentCache:
    """Encode every (image, flip) the epochs can draw. Unreadable images are reported and left out."""
    import numpy as np
    import torch

    from .data import load_pixels

    cache = LatentCache()
    wanted = []
    for it in data.items:
        wanted.append((it.index, False))
        if data.subsets[it.subset].flip_aug:
            wanted.append((it.index, True))
    total = len(wanted)
    done = 0
    from_disk = 0
    vae_fp = vae_fingerprint(vae) if to_disk else ""
    if to_disk:
        os.makedirs(to_disk, exist_ok=True)
    pending: dict[tuple[int, int], list[tuple[int, bool, str]]] = {}
    for idx, flip in wanted:
        it = data.items[idx]
        key = ""
        if to_disk:
            try:
                key = image_key(it, flip, vae_fp)
            except OSError as e:
                on_bad_image(idx, f"cannot read {it.path}: {e}")
                done += 1
                continue
            p = os.path.join(to_disk, key + ".npy")
            if os.path.exists(p):
                try:
                    cache.latents[(idx, flip)] = torch.from_numpy(np.load(p))
                    done += 1
                    from_disk += 1
                    continue
                except (OSError, ValueError):
                    pass  # unreadable entry: encode again
        pending.setdefault(it.bucket, []).append((idx, flip, key))
    on_progress(done, total, from_disk)
    for entries in pending.values():
        for k in range(0, len(entries), batch):
            chunk = entries[k:k + batch]
            pix, ok = [], []
            for idx, flip, key in chunk:
                try:
                    pix.append(torch.from_numpy(load_pixels(data.items[idx], flip)))
                    ok.append((idx, flip, key))
                except Exception as e:  # noqa: BLE001 - any decode failure means: skip this image
                    on_bad_image(idx, f"unreadable image {data.items[idx].path} ({type(e).__name__}: {e})")
            if ok:
                lat = encode_pixels(vae, torch.stack(pix), [seed * 7919 + idx * 2 + int(flip) for idx, flip, _ in ok])
                lat = lat.float().cpu()
                for (idx, flip, key), l in zip(ok, lat):
                    cache.latents[(idx, flip)] = l.clone()
                    if to_disk:
                        _save_npy(os.path.join(to_disk, key + ".npy"), l.numpy())
            done += len(chunk)
            on_progress(done, total, from_disk)
    return cache


def _save_npy(path: str, arr) -> None:
    import numpy as np

    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".npy.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, arr)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
