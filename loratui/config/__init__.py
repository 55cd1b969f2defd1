"""The training configuration: typed dataclasses, TOML files, validation, step math, presets, kohya
interop and "use a LoRA's settings". No Textual, no torch.

Stable public API (the training worker and the TUI build on these names)::

    cfg = TrainConfig.load("run.toml")          # or TrainConfig.from_toml(text, base_dir=...)
    findings = cfg.validate()                   # list[Finding]; f.level in ("error", "warning")
    math = cfg.step_math()                      # StepMath: steps_per_epoch, total_steps, eta_seconds
    run_cfg = cfg.resolved()                    # every path absolute
"""

from .kohya import ImportResult, Unmapped, export_kohya, import_any, import_kohya, import_kohya_ss_json, to_kohya
from .load_any import Loaded, import_report, load_any, use_lora_settings
from .model import (
    CONCEPTS,
    FAMILIES,
    MIXED_PRECISION,
    NETWORK_TYPES,
    OPTIMIZERS,
    SAMPLERS,
    SAVE_PRECISION,
    SCHEDULERS,
    SCHEMA_VERSION,
    SECTIONS,
    DatasetConfig,
    HardwareConfig,
    ModelConfig,
    NetworkConfig,
    OptimConfig,
    OutputConfig,
    ScheduleConfig,
    SubsetConfig,
    TrainConfig,
)
from .presets import BUILTIN as BUILTIN_PRESETS
from .presets import DISCLAIMER as PRESET_DISCLAIMER
from .presets import Preset, apply_preset, new_config, preset_names, save_user_preset, user_presets_dir
from .speed import known_speed, record_speed
from .stepmath import StepMath, SubsetMath, format_duration, step_math
from .toml_io import ConfigError, load_config, save_config
from .validate import ERROR, WARNING, Finding, count_images, validate


def config_from_lora(path: str, dataset_dir: str | None = None, base: str | None = None) -> ImportResult:
    """A new config from a LoRA file's ``ss_*`` metadata ("use these settings")."""
    from .from_lora import config_from_lora as _impl

    return _impl(path, dataset_dir=dataset_dir, base=base)


__all__ = [
    "BUILTIN_PRESETS", "CONCEPTS", "ConfigError", "DatasetConfig", "ERROR", "FAMILIES", "Finding",
    "HardwareConfig", "ImportResult", "Loaded", "MIXED_PRECISION", "ModelConfig", "NETWORK_TYPES", "NetworkConfig",
    "OPTIMIZERS", "OptimConfig", "OutputConfig", "PRESET_DISCLAIMER", "Preset", "SAMPLERS", "SAVE_PRECISION",
    "SCHEDULERS", "SCHEMA_VERSION", "SECTIONS", "ScheduleConfig", "StepMath", "SubsetConfig", "SubsetMath",
    "TrainConfig", "Unmapped", "WARNING", "apply_preset", "config_from_lora", "count_images", "export_kohya",
    "format_duration", "import_any", "import_report", "import_kohya", "import_kohya_ss_json", "known_speed", "load_any", "load_config",
    "new_config", "preset_names", "record_speed", "save_config", "save_user_preset", "step_math", "to_kohya",
    "use_lora_settings", "user_presets_dir", "validate",
]
