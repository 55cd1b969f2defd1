"""kohya interop: export a config as an sd-scripts pair (training-args TOML for ``--config_file``
and dataset-config TOML), and import those, hand-written variants, and kohya_ss GUI JSON presets.

Import is forgiving about form (any section names, string-typed numbers, ``resolution = "512,512"``,
``network_args = ["conv_dim=16"]``, a ``train_data_dir`` of ``<repeats>_<name>`` folders) and
strict about content: every key without an equivalent is reported, never dropped silently.
"""

from __future__ import annotations

import dataclasses

from .kohya_export import export_kohya, to_kohya
from .kohya_import import SIMPLE, import_kohya, kohya_defaults
from .kohya_ss_json import import_kohya_ss_json
from .kohya_values import AUTOMATIC, NOT_EXPRESSIBLE, ImportResult, Unmapped
from .model import TrainConfig


def import_any(path: str) -> ImportResult:
    """kohya_ss JSON preset (``.json``) or sd-scripts TOML (args file or dataset config)."""
    if path.lower().endswith(".json"):
        return import_kohya_ss_json(path)
    return import_kohya(path)


def flatten_config(cfg: TrainConfig) -> dict[str, object]:
    """``{"optim.unet_lr": 1e-4, ...}`` over every field (subsets as one list)."""
    out = {}
    for sec in dataclasses.fields(cfg):
        if sec.metadata.get("internal"):
            continue
        v = getattr(cfg, sec.name)
        if dataclasses.is_dataclass(v):
            for f in dataclasses.fields(v):
                x = getattr(v, f.name)
                out[f"{sec.name}.{f.name}"] = [dataclasses.asdict(s) for s in x] if f.name == "subsets" else x
        else:
            out[sec.name] = v
    return out


__all__ = ["AUTOMATIC", "NOT_EXPRESSIBLE", "SIMPLE", "ImportResult", "Unmapped", "export_kohya", "flatten_config",
           "import_any", "import_kohya", "import_kohya_ss_json", "kohya_defaults", "to_kohya"]
