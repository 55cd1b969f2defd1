"""Import kohya_ss GUI presets (JSON with GUI names; ``lr_warmup`` is a percentage)."""

from __future__ import annotations

import json
import os

from .kohya_import import _apply_flat, _finish, _subsets_from_dir, kohya_defaults
from .kohya_values import ImportResult, Unmapped, _Bad, _empty, _to_float, unsupported_network
from .model import NETWORK_TYPES, SubsetConfig
from .toml_io import ConfigError

GUI_RENAMES = {
    "epoch": "max_train_epochs", "max_resolution": "resolution", "optimizer": "optimizer_type",
}
GUI_LORA_TYPES = {"Standard": "lora", "Kohya LoCon": "locon", "LoCon": "locon", "LyCORIS/LoCon": "locon",
                  "LyCORIS/LoHa": "loha", "LyCORIS/LoKr": "lokr", "LyCORIS/iA3": "ia3", "LyCORIS/DyLoRA": "dylora",
                  "Kohya DyLoRA": "dylora", "LyCORIS/GLoRA": "glora", "LyCORIS/BOFT": "boft",
                  "LyCORIS/Diag-OFT": "diag-oft", "LyCORIS/Native Fine-Tuning": "full", "LoRA-FA": "lora-fa",
                  "LyCORIS/LoRA-FA": "lora-fa"}
"""The GUI's LoRA_type names and the network each trains; loratui trains those in NETWORK_TYPES."""
GUI_LYCORIS_ALGOS = {"LyCORIS/LoCon": "locon", "LyCORIS/LoHa": "loha", "LyCORIS/LoKr": "lokr"}
"""GUI types the GUI trains with ``network_module = lycoris.kohya`` and ``algo=...``."""
GUI_LYCORIS_ARGS = {"LyCORIS_preset": "preset", "factor": "factor", "decompose_both": "decompose_both",
                    "full_matrix": "full_matrix", "dora_wd": "dora_wd", "rank_dropout": "rank_dropout",
                    "module_dropout": "module_dropout", "use_tucker": "use_tucker", "use_cp": "use_cp",
                    "use_scalar": "use_scalar", "rank_dropout_scale": "rank_dropout_scale", "train_norm": "train_norm",
                    "bypass_mode": "bypass_mode", "constrain": "constraint", "rescaled": "rescaled",
                    "network_dropout": "dropout"}
"""GUI fields the GUI turns into LyCORIS ``network_args`` (GUI name -> argument name)."""


def _lycoris_gui_args(algo: str, data: dict, flat: dict) -> None:
    """Move the GUI's LyCORIS fields into ``network_module`` / ``network_args`` (unset ones dropped,
    as the GUI does), so the sd-scripts path imports them."""
    args = [f"algo={algo}"]
    for gui, arg in GUI_LYCORIS_ARGS.items():
        if gui not in data:
            continue
        v = flat.pop(gui, data[gui])
        if _empty(v) or v is False or str(v).strip().lower() in ("false", "0", "0.0"):
            continue
        if gui == "factor" and str(v).strip() in ("-1", "-1.0"):
            continue
        args.append(f"{arg}={_gui_str(v)}")
    for k in ("conv_dim", "conv_alpha"):
        if k in flat and not _empty(flat[k]):
            args.append(f"{k}={_gui_str(flat.pop(k))}")
    flat["network_module"] = "lycoris.kohya"
    flat["network_args"] = args


def _gui_str(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def import_kohya_ss_json(path: str) -> ImportResult:
    """Import a kohya_ss GUI preset (JSON with GUI names). ``lr_warmup`` is a percentage."""
    try:
        with open(path, "rb") as fh:
            data = json.loads(fh.read().decode("utf-8"))
    except OSError as e:
        raise ConfigError([f"cannot read ({e.strerror or e})"], path) from None
    except (UnicodeDecodeError, ValueError) as e:
        raise ConfigError([f"not valid JSON: {e}"], path) from None
    if not isinstance(data, dict):
        raise ConfigError(["expected a JSON object of GUI settings"], path)
    res = ImportResult(kohya_defaults(), sources=[path])
    res.config.base_dir = os.path.dirname(os.path.abspath(path))
    flat: dict = {}
    for k, v in data.items():
        if k == "LoRA_type":
            continue
        if k == "lr_warmup":
            if not _empty(v):
                try:
                    pct = _to_float(v)
                    if not 0 <= pct <= 100:
                        raise _Bad("expected a percentage 0-100")
                    res.config.optim.warmup_ratio = pct / 100.0
                    res.config.optim.warmup_steps = 0
                    if pct:
                        res.notes.append(f"lr_warmup {v}% -> optim.warmup_ratio {pct / 100:g}")
                except _Bad as e:
                    res.unmapped.append(Unmapped(k, v, str(e)))
            continue
        name = GUI_RENAMES.get(k, k)
        if name == "max_train_epochs" and k == "max_train_epochs" and _empty(v):
            continue  # the GUI's "max train epochs" override, unset: `epoch` applies
        if name in flat and not _empty(v):
            flat[name] = v  # explicit override field wins over `epoch`
        elif name not in flat:
            flat[name] = v
    lt = data.get("LoRA_type", "Standard")
    kind = GUI_LORA_TYPES.get(str(lt), str(lt))
    if kind not in NETWORK_TYPES:
        unsupported_network(res, "LoRA_type", lt, str(lt).rpartition("/")[2])
        res.unmapped.append(Unmapped("LoRA_type", lt, "not supported; LoRA assumed"))
        kind = "lora"
    if kind == "lora":
        for k in ("conv_dim", "conv_alpha"):
            if k in flat:
                res.unmapped.append(Unmapped(k, flat.pop(k), "applies to LoCon only; ignored for LoRA_type "
                                                             f"{lt}"))
    if str(lt) in GUI_LYCORIS_ALGOS:
        _lycoris_gui_args(GUI_LYCORIS_ALGOS[str(lt)], data, flat)
    if "max_train_epochs" in flat and not _empty(flat["max_train_epochs"]) and _empty(flat.get("max_train_steps")):
        flat["max_train_steps"] = ""
    # the GUI sends 0 for "use learning_rate"
    for k in ("unet_lr", "text_encoder_lr"):
        try:
            if k in flat and not _empty(flat[k]) and _to_float(flat[k]) == 0:
                flat[k] = ""
        except _Bad:
            pass
    _apply_flat(flat, res, path, res.config.base_dir)
    if kind != "lora" and str(lt) not in GUI_LYCORIS_ALGOS:  # LyCORIS types came through network_args
        res.config.network.type = kind
    if not _empty(data.get("train_data_dir")):
        subsets = _subsets_from_dir(os.path.expanduser(str(data["train_data_dir"])), False, res, "train_data_dir")
        res.config.dataset.root = os.path.expanduser(str(data["train_data_dir"]))
        res.config.dataset.subsets = [SubsetConfig(os.path.basename(s.image_dir), s.repeats, s.class_tokens)
                                      for s in subsets]
    _finish(res, flat)
    return res
