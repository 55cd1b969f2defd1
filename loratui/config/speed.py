"""Measured training speeds on this machine, so step math can show an ETA before a run starts.

A training run (or a benchmark) calls ``record_speed(cfg, seconds_per_step)``; ``known_speed(cfg)``
returns the latest speed recorded for a matching setup (model family, resolution, batch, network,
precision, checkpointing), or None. Stored as JSON in the user data dir; a broken file is ignored.
"""

from __future__ import annotations

import json
import os
import time

from loratui.fileio import write_atomic

from .model import TrainConfig


def speed_file() -> str:
    import platformdirs

    return os.path.join(platformdirs.user_data_dir("loratui", appauthor=False), "speeds.json")


def speed_key(cfg: TrainConfig) -> str:
    o, n = cfg.optim, cfg.network
    res = "x".join(str(x) for x in cfg.dataset.resolution)
    return (f"{cfg.model.family}|{res}|b{o.batch_size}|{n.type}{n.dim}"
            f"|te{int(n.train_text_encoder)}|{o.mixed_precision}|gc{int(o.gradient_checkpointing)}")


def _load() -> dict:
    try:
        with open(speed_file(), encoding="utf-8") as fh:
            data = json.load(fh)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def known_speed(cfg: TrainConfig) -> float | None:
    rec = _load().get(speed_key(cfg))
    if isinstance(rec, dict) and isinstance(rec.get("seconds_per_step"), (int, float)) and rec["seconds_per_step"] > 0:
        return float(rec["seconds_per_step"])
    return None


def record_speed(cfg: TrainConfig, seconds_per_step: float, source: str = "run") -> None:
    """Remember a measured speed (``source``: run | benchmark). Best effort: errors are ignored."""
    if not (seconds_per_step > 0):
        return
    data = _load()
    data[speed_key(cfg)] = {"seconds_per_step": float(seconds_per_step), "source": source, "at": time.time()}
    path = speed_file()
    try:
        write_atomic(path, json.dumps(data, indent=1))
    except OSError:
        pass
