"""Open any config file a user may have, and "use a LoRA's settings" on a config being edited.

Shared by the CLI (``loratui config check/export-kohya/save-preset`` and ``from-lora --onto``) and the
TUI's config screen, so that both accept the same files and carry over the same settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .kohya_values import ImportResult
from .model import TrainConfig
from .toml_io import ConfigError


@dataclass
class Loaded:
    config: TrainConfig
    native: bool
    """True for a loratui TOML (saving writes back to it); False for an import (save elsewhere)."""
    report: list[str] = field(default_factory=list)
    """What an import converted or could not carry over (empty for a loratui TOML)."""


def import_report(res: ImportResult, header: str, skip: tuple[str, ...] = ()) -> list[str]:
    """The lines the config screen shows after an import (``ImportResult.report_lines`` under a
    header), leaving out notes containing any of ``skip``."""
    return [header] + [ln for ln in res.report_lines() if not (ln.startswith("note: ") and any(s in ln for s in skip))]


def load_any(path: str) -> Loaded:
    """A loratui TOML, an sd-scripts TOML (training args or dataset config) or a kohya_ss ``.json``
    preset. Raises ``ConfigError`` naming the file and what is wrong."""
    from .kohya import import_any

    if not path.lower().endswith(".json"):
        try:
            return Loaded(TrainConfig.load(path), True)
        except ConfigError as e:
            # no schema_version: not ours, so try it as a kohya file; any other problem is the user's to fix
            if not any("schema_version: missing" in p for p in e.problems):
                raise
    res = import_any(path)
    return Loaded(res.config, False, import_report(res, f"imported from {path}:"))


def use_lora_settings(current: TrainConfig, lora_path: str) -> tuple[TrainConfig, list[str]]:
    """Training settings from a LoRA's ``ss_*`` metadata, keeping ``current``'s model, dataset, output
    folder, concept and (when the LoRA names none) trigger words: what "use these settings" means
    when a config is already being edited."""
    from . import config_from_lora

    res = config_from_lora(lora_path, dataset_dir=None, base=None)
    new = res.config
    new.model.base, new.model.vae = current.model.base, current.model.vae
    new.dataset.root, new.dataset.subsets = current.dataset.root, current.dataset.subsets
    new.output.dir = current.output.dir
    new.concept = current.concept
    new.base_dir = current.base_dir
    if not new.output.trigger_words:
        new.output.trigger_words = current.output.trigger_words
    report = import_report(res, f"settings from {os.path.basename(lora_path)}:", skip=("no dataset", "concept"))
    return new, report
