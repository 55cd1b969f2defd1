"""The config as a flat list of form fields, with text <-> value conversion. UI-agnostic: the TUI's
config form is a thin shell over this (one widget per ``FormField``)."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass

from .model import SECTIONS, SUBSET_OVERRIDES, SubsetConfig, TrainConfig

# fields edited as several lines of text (one item per line)
LINE_FIELDS = {"dataset.subsets", "schedule.sample_prompts", "optim.optimizer_args"}


@dataclass(frozen=True)
class FormField:
    path: str
    """``section.name`` (or ``concept``)"""
    section: str
    name: str
    kind: str
    """bool | choice | int | float | str | resolution | list_str | list_float | list_int | lines | subsets"""
    help: str
    choices: tuple[str, ...] = ()
    optional: bool = False
    """The value may be unset (None, shown as an empty field)."""

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")


def _optional(tp) -> tuple[typing.Any, bool]:
    """``X | None`` -> (X, True); anything else -> (tp, False)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _kind(path: str, tp, meta) -> str:
    if path == "dataset.subsets":
        return "subsets"
    if path == "dataset.resolution":
        return "resolution"
    if path in LINE_FIELDS:
        return "lines"
    if "choices" in meta:
        return "choice"
    if typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp)
        return {str: "list_str", float: "list_float", int: "list_int"}[item]
    return {bool: "bool", int: "int", float: "float", str: "str"}[tp]


def form_fields() -> list[FormField]:
    out = []
    f0 = next(f for f in dataclasses.fields(TrainConfig) if f.name == "concept")
    out.append(FormField("concept", "", "concept", "choice", f0.metadata["help"], tuple(f0.metadata["choices"])))
    hints = typing.get_type_hints(TrainConfig)
    for sec in SECTIONS:
        cls = hints[sec]
        sh = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            path = f"{sec}.{f.name}"
            tp, optional = _optional(sh[f.name])
            out.append(FormField(path, sec, f.name, _kind(path, tp, f.metadata), f.metadata.get("help", ""),
                                 tuple(f.metadata.get("choices", ())), optional))
    return out


def get_value(cfg: TrainConfig, path: str):
    obj = cfg
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def set_value(cfg: TrainConfig, path: str, value) -> None:
    *head, last = path.split(".")
    obj = cfg
    for part in head:
        obj = getattr(obj, part)
    if path == "dataset.subsets":
        value = _keep_subset_options(getattr(obj, last), value)
    setattr(obj, last, value)


def _keep_subset_options(old: list[SubsetConfig], new: list[SubsetConfig]) -> list[SubsetConfig]:
    """The form edits subsets as ``REPEATS x FOLDER | class`` lines, which do not show a subset's own
    caption options: carry those over from the subset with the same folder, never drop them."""
    by_dir = {s.image_dir: s for s in old}
    for s in new:
        prev = by_dir.get(s.image_dir)
        if prev is not None:
            for k in SUBSET_OVERRIDES:
                if getattr(s, k) is None:
                    setattr(s, k, getattr(prev, k))
    return new


def _num(x: float) -> str:
    """Shortest text that reads back as the same float (16.0 -> "16", 1e-4 -> "0.0001")."""
    r = repr(float(x))
    return r[:-2] if r.endswith(".0") else r


def format_value(field: FormField, value) -> str | bool:
    k = field.kind
    if value is None and field.optional:
        return ""
    if k == "bool":
        return bool(value)
    if k == "float":
        return _num(value)
    if k in ("int", "str", "choice"):
        return str(value)
    if k == "resolution":
        return ", ".join(str(x) for x in value)
    if k == "list_float":
        return ", ".join(_num(x) for x in value)
    if k in ("list_str", "list_int"):
        return ", ".join(str(x) for x in value)
    if k == "lines":
        return "\n".join(value)
    if k == "subsets":
        return "\n".join(format_subset(s) for s in value)
    raise ValueError(k)


def format_subset(s: SubsetConfig) -> str:
    line = f"{s.repeats} x {s.image_dir}"
    validation = getattr(s, "validation", False)
    if s.class_tokens or s.is_reg or validation:
        line += f" | {s.class_tokens}"
    if s.is_reg:
        line += " | reg"
    if validation:
        line += " | val"
    return line


def parse_subset(line: str) -> SubsetConfig:
    """``10 x 10_mychar | mychar | reg`` (class tokens, ``reg`` and ``val`` optional; ``val``: held out for
    the validation loss)."""
    parts = [p.strip() for p in line.split("|")]
    head = parts[0]
    reps, sep, d = head.partition(" x ")
    if not sep:
        raise ValueError(f"`{line}`: expected `REPEATS x FOLDER [| class tokens] [| reg] [| val]`")
    try:
        r = int(reps.strip())
    except ValueError:
        raise ValueError(f"`{line}`: repeats must be a whole number") from None
    if r < 1:
        raise ValueError(f"`{line}`: repeats must be at least 1")
    if not d.strip():
        raise ValueError(f"`{line}`: folder missing")
    extra = parts[1:]
    flags = set()
    while extra and extra[-1].lower() in ("reg", "val") and extra[-1].lower() not in flags:
        flags.add(extra.pop().lower())
    if len(extra) > 1:
        raise ValueError(f"`{line}`: too many `|` parts")
    sub = SubsetConfig(d.strip(), r, extra[0] if extra else "", "reg" in flags)
    sub.validation = "val" in flags
    return sub


def _float(t: str) -> float:
    try:
        v = float(t.strip())
    except ValueError:
        raise ValueError(f"`{t.strip()}` is not a number") from None
    if not math.isfinite(v):
        raise ValueError("not a finite number")
    return v


def _int(t: str) -> int:
    try:
        return int(t.strip())
    except ValueError:
        raise ValueError(f"`{t.strip()}` is not a whole number") from None


def parse_value(field: FormField, text):
    """The typed value for ``text`` (a bool for switches). Raises ValueError with a short reason."""
    k = field.kind
    if k == "bool":
        return bool(text)
    if field.optional and not str(text).strip():
        return None
    if k in ("str", "choice"):
        return str(text)
    if k == "int":
        return _int(text)
    if k == "float":
        return _float(text)
    items = [p.strip() for p in str(text).split(",") if p.strip()]
    if k == "resolution":
        vals = [_int(p) for p in items]
        if len(vals) == 1:
            vals *= 2
        if len(vals) != 2:
            raise ValueError("expected WIDTH, HEIGHT (or one number for a square)")
        return vals
    if k == "list_str":
        return items
    if k == "list_float":
        return [_float(p) for p in items]
    if k == "list_int":
        return [_int(p) for p in items]
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    if k == "lines":
        return lines
    if k == "subsets":
        return [parse_subset(ln) for ln in lines]
    raise ValueError(k)
