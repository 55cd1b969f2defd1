"""WD14 auto-tagging: known models, preprocessing, tag selection, and journaled tagging runs.

A plain library (no Textual). Names are loaded lazily from their submodules so that the CLI's
``--help`` and the TUI import nothing heavy; onnxruntime is imported only when a model is loaded
(``Tagger.load``).

For the TUI: build ``TaggingOptions`` (or ``apply_preset(name)``), call ``run_tagging(ds, options,
ids, progress, cancel)`` from a thread worker, and show the returned ``TaggingSummary``; see
``loratui.tagging.run``.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "labels": ["CHARACTER", "GENERAL", "RATING", "Labels", "LabelsError", "load_labels"],
    "models": ["DEFAULT_MODEL", "KNOWN_MODELS", "REQUIRED_FILES", "KnownModel", "ModelError", "ModelFiles",
               "download_model", "local_state", "models_dir", "resolve_model"],
    "options": ["MAX_PIXELS", "MODES", "MODE_HELP", "PRESETS", "Preset", "SelectOptions", "TaggingOptions",
                "apply_preset"],
    "preprocessing": ["ImageSkipped", "load_image", "preprocess", "reference_preprocess"],
    "run": ["AutoTag", "TaggingProgress", "TaggingSummary", "confidences", "run_tagging"],
    "select": ["format_tag", "mcut_threshold", "merge_tags", "select_tags"],
    "session": ["Tagger"],
}
_WHERE = {name: mod for mod, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module 'loratui.tagging' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
