"""Strict conversion between ``TrainConfig`` and TOML: unknown keys and wrong types are errors
naming the key path; nothing is dropped silently."""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import types
import typing

from loratui.fileio import write_atomic

from .model import SCHEMA_VERSION, TrainConfig


class ConfigError(Exception):
    """A config file could not be read. ``problems`` holds one ``"path: message"`` line each."""

    def __init__(self, problems: list[str], source: str = ""):
        self.problems = list(problems)
        self.source = source
        head = f"{source}: " if source else ""
        if len(self.problems) == 1:
            super().__init__(f"{head}{self.problems[0]}")
        else:
            super().__init__(f"{head}{len(self.problems)} problems:\n  " + "\n  ".join(self.problems))


_HINTS_CACHE: dict[type, dict[str, typing.Any]] = {}


def _hints(cls) -> dict[str, typing.Any]:
    h = _HINTS_CACHE.get(cls)
    if h is None:
        h = _HINTS_CACHE[cls] = typing.get_type_hints(cls)
    return h


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is list:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    if dataclasses.is_dataclass(tp):
        return "a table"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(tp, str(tp))


def convert_value(tp, value, path: str, problems: list[str]):
    """Check/convert one TOML value to ``tp``; append a message and return None when it cannot."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):  # `X | None`: an optional value, absent from the file when unset
        (tp,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return convert_value(tp, value, path, problems)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a table, got {value!r}")
            return None
        return dataclass_from_dict(tp, value, path, problems)
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if path.endswith("dataset.resolution") and isinstance(value, int) and not isinstance(value, bool):
            value = [value, value]
        if not isinstance(value, list):
            problems.append(f"{path}: expected {_type_name(tp)}, got {value!r}")
            return None
        out = []
        for i, v in enumerate(value):
            item_path = f"{path}[{i}]"
            c = convert_value(item_tp, v, item_path, problems)
            if c is not None:
                out.append(c)
        return out
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(float(value)):
                problems.append(f"{path}: {value!r} is not a finite number")
                return None
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    problems.append(f"{path}: expected {_type_name(tp)}, got {value!r}")
    return None


def dataclass_from_dict(cls, data: dict, path: str, problems: list[str]):
    hints = _hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    kwargs = {}
    for key, value in data.items():
        kp = f"{path}.{key}" if path else key
        if key not in known:
            near = _near(key, known)
            problems.append(f"{kp}: unknown key" + (f" (did you mean `{near}`?)" if near else
                                                    f"; known keys: {', '.join(known)}"))
            continue
        v = convert_value(hints[key], value, kp, problems)
        if v is not None:
            kwargs[key] = v
    return cls(**kwargs)


def _near(key: str, known) -> str | None:
    import difflib

    m = difflib.get_close_matches(key, list(known), n=1, cutoff=0.7)
    return m[0] if m else None


def dataclass_to_dict(obj) -> dict:
    out: dict = {}
    for f in dataclasses.fields(obj):
        if f.metadata.get("internal"):
            continue
        v = getattr(obj, f.name)
        if v is None:
            continue  # an unset optional value (TOML has no null)
        if dataclasses.is_dataclass(v):
            out[f.name] = dataclass_to_dict(v)
        elif isinstance(v, list):
            out[f.name] = [dataclass_to_dict(x) if dataclasses.is_dataclass(x) else x for x in v]
        else:
            out[f.name] = v
    return out


def config_from_dict(data: dict, base_dir: str = "", source: str = "") -> TrainConfig:
    problems: list[str] = []
    data = dict(data)
    version = data.pop("schema_version", None)
    if version is None:
        raise ConfigError(["schema_version: missing; this does not look like a loratui config "
                           "(for kohya files use `loratui config import`)"], source)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigError([f"schema_version: expected a positive integer, got {version!r}"], source)
    if version > SCHEMA_VERSION:
        raise ConfigError([f"schema_version: {version} is newer than this loratui understands "
                           f"({SCHEMA_VERSION}); upgrade loratui"], source)
    data = migrate(data, version)
    cfg = dataclass_from_dict(TrainConfig, data, "", problems)
    if problems:
        raise ConfigError(problems, source)
    cfg.base_dir = base_dir
    return cfg


def migrate(data: dict, version: int) -> dict:
    """Upgrade an older file's dict to the current schema (none exist yet: version 1 is the first)."""
    return data


def config_from_toml(text: str, base_dir: str = "", source: str = "") -> TrainConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"not valid TOML: {e}"], source) from None
    except RecursionError:  # tomllib recurses per nesting level: a 50,000-deep array
        raise ConfigError(["nested too deeply to be a loratui config"], source) from None
    return config_from_dict(data, base_dir=base_dir, source=source)


MAX_CONFIG_BYTES = 16 << 20


def load_config(path: str) -> TrainConfig:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError([f"larger than {MAX_CONFIG_BYTES >> 20} MiB: not a loratui config"], path)
    except OSError as e:
        raise ConfigError([f"cannot read ({e.strerror or e})"], path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(["not UTF-8 text"], path) from None
    return config_from_toml(text, base_dir=os.path.dirname(os.path.abspath(path)), source=path)


HEADER = ("# loratui training config (schema_version is required; unknown keys are errors).\n"
          "# Relative paths are relative to this file's folder. `loratui config check FILE` validates it.\n")


def config_to_toml(cfg: TrainConfig) -> str:
    import tomli_w

    data = {"schema_version": SCHEMA_VERSION, **dataclass_to_dict(cfg)}
    return HEADER + tomli_w.dumps(data)


def save_config(cfg: TrainConfig, path: str) -> None:
    """Write atomically so a crash never leaves half a config."""
    write_atomic(path, config_to_toml(cfg))
