"""kohya interop, shared parts: import results, value parsing for hand-written files and GUI presets
(strings everywhere), and dotted-path access to config fields."""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass, field

from .model import TrainConfig

# Fields kohya's files cannot express (a round trip keeps them only through defaults).
NOT_EXPRESSIBLE = (
    "concept", "model.config_dir", "schedule.sample_strengths", "output.trigger_words", "hardware.device", "hardware.gpu_ids",
    "hardware.num_processes", "hardware.stall_factor", "hardware.stall_minutes",
    "optim.ema", "optim.ema_decay", "output.save_raw_with_ema",
)

# Speed/memory knobs that loratui's trainer chooses itself.
AUTOMATIC = {"xformers", "sdpa", "mem_eff_attn",
             "max_data_loader_n_workers", "persistent_data_loader_workers",
             "vae_batch_size", "save_model_as", "lowram", "highvram", "full_fp16", "full_bf16",
             "max_token_length", "log_with", "logging_dir", "log_prefix", "save_state"}


@dataclass
class Unmapped:
    key: str
    value: object
    reason: str

    def __str__(self) -> str:
        return f"{self.key} = {self.value!r}: {self.reason}"


@dataclass
class ImportResult:
    config: TrainConfig
    unmapped: list[Unmapped] = field(default_factory=list)
    """Keys with no loratui equivalent (or a value it cannot use): reported, not applied."""
    notes: list[str] = field(default_factory=list)
    """Conversions made and defaults assumed."""
    sources: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    """What makes the imported config train something else than the file asks for (a network type
    loratui cannot train): plain sentences, shown before everything else."""

    def report_lines(self, indent: str = "  ") -> list[str]:
        """The whole import report, most important first: unsupported, notes, not carried over."""
        out = [f"NOT SUPPORTED: {u}" for u in self.unsupported]
        out += [f"note: {n}" for n in self.notes]
        if self.unmapped:
            out.append(f"not carried over ({len(self.unmapped)}):")
            out += [f"{indent}{u}" for u in self.unmapped]
        return out


def unsupported_network(res: ImportResult, key: str, value, name: str) -> None:
    """Record that the file trains a network loratui cannot (any type not in NETWORK_TYPES): the
    import falls back to a plain LoRA, which the user must know before anything else."""
    from .model import NETWORK_TYPES

    res.unsupported.append(f"{key} = {value!r} asks for a {name} network, which loratui cannot train "
                           f"(it trains: {', '.join(NETWORK_TYPES)}); this config trains a plain LoRA instead, "
                           "so the result will differ from the file's")



class _Bad(ValueError):
    pass


def _empty(v) -> bool:
    return v is None or (isinstance(v, str) and v.strip() in ("", "None", "none", "null"))


def _to_float(v) -> float:
    if isinstance(v, bool):
        raise _Bad("expected a number")
    try:
        f = float(v.strip()) if isinstance(v, str) else float(v)
    except (TypeError, ValueError):
        raise _Bad("expected a number") from None
    if not math.isfinite(f):
        raise _Bad("not a finite number")
    return f


def _to_int(v) -> int:
    f = _to_float(v)
    if not f.is_integer():
        raise _Bad("expected a whole number")
    return int(f)


def _to_bool(v) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
        return v.strip().lower() in ("true", "1", "yes")
    raise _Bad("expected true or false")


def _to_str(v) -> str:
    if isinstance(v, (dict, list)):
        raise _Bad("expected a string")
    return str(v)


def _to_res(v) -> list[int]:
    if isinstance(v, (list, tuple)):
        parts = list(v)
    elif isinstance(v, str):
        parts = [p for p in v.replace("x", ",").split(",") if p.strip()]
    else:
        parts = [v]
    vals = [_to_int(p) for p in parts]
    if len(vals) == 1:
        vals = vals * 2
    if len(vals) != 2 or min(vals) <= 0:
        raise _Bad("expected WIDTH,HEIGHT")
    return vals


def _to_list(v) -> list[str]:
    if isinstance(v, list):
        return [str(x) for x in v]
    if isinstance(v, str):
        try:
            return shlex.split(v)
        except ValueError:
            return v.split()
    raise _Bad("expected a list of strings")


def _num_str(f: float) -> str:
    return str(int(f)) if float(f).is_integer() else repr(float(f))


def _get(cfg, path: str):
    obj = cfg
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _set(cfg, path: str, value) -> None:
    *head, last = path.split(".")
    obj = cfg
    for part in head:
        obj = getattr(obj, part)
    setattr(obj, last, value)
