"""LyCORIS network types in the config: fields per type, network_args, validation that teaches."""

from __future__ import annotations

from loratui.config.model import TrainConfig
from loratui.config.network_types import field_applies, network_args, network_module
from loratui.config.validate import ERROR, WARNING


def _net(**kw):
    cfg = TrainConfig()
    for k, v in kw.items():
        setattr(cfg.network, k, v)
    return cfg


def _find(cfg, path, level=None):
    return [f for f in cfg.validate(check_files=False) if f.path == path and (level is None or f.level == level)]


def test_fields_shown_per_type():
    assert not field_applies(_net(type="lora").network, "conv_dim")
    assert not field_applies(_net(type="lora").network, "factor")
    assert field_applies(_net(type="locon").network, "conv_dim")
    assert field_applies(_net(type="lokr").network, "factor")
    assert not field_applies(_net(type="loha").network, "factor")
    assert not field_applies(_net(type="loha").network, "dropout")
    assert not field_applies(_net(type="lora").network, "rank_dropout")
    assert field_applies(_net(type="lora", dora=True).network, "rank_dropout")
    assert field_applies(_net(type="lora", dora=True).network, "preset")


def test_network_args_as_sd_scripts_and_lycoris_read_them():
    assert network_module(_net(type="lora").network) == "networks.lora"
    assert network_args(_net(type="lora").network) == {}
    assert network_args(_net(type="locon", conv_dim=8, conv_alpha=4.0).network) == {"conv_dim": "8", "conv_alpha": "4"}
    lokr = _net(type="lokr", factor=8, conv_dim=4, conv_alpha=2.0, full_matrix=True, rank_dropout=0.1).network
    assert network_module(lokr) == "lycoris.kohya"
    assert network_args(lokr) == {"algo": "lokr", "preset": "full", "conv_dim": "4", "conv_alpha": "2", "factor": "8",
                                  "full_matrix": "True", "decompose_both": "False", "rank_dropout": "0.1",
                                  "module_dropout": "0"}
    loha = network_args(_net(type="loha", preset="attn-mlp").network)
    assert loha["algo"] == "loha" and "conv_dim" not in loha and "factor" not in loha
    dora = network_args(_net(type="lora", dora=True).network)
    # lycoris reads conv_dim 0 as "same as dim": a LoRA's "full" layer set is its conv-free full-lin preset
    assert dora["algo"] == "lora" and dora["dora_wd"] == "True" and dora["preset"] == "full-lin"
    assert "conv_dim" not in dora
    assert network_args(_net(type="locon", dora=True, conv_dim=8).network)["conv_dim"] == "8"


def test_validation_teaches_lycoris_ranges():
    assert _find(_net(type="loha", dim=64, alpha=32.0), "network.dim", WARNING)[0].message.startswith(
        "LoHa's rank is effectively squared")
    assert not _find(_net(type="loha", dim=8, alpha=4.0), "network.dim")
    assert _find(_net(type="lokr", factor=2), "network.factor", WARNING)
    assert not _find(_net(type="lokr", factor=8), "network.factor")
    assert _find(_net(type="lokr", factor=0), "network.factor", ERROR)
    full = _find(_net(type="lokr", full_matrix=True), "network.full_matrix", WARNING)
    assert full and "MB" in full[0].hint
    assert _find(_net(type="lokr", dim=100000), "network.dim", WARNING)  # kohya_ss' "huge dim"
    assert _find(_net(type="lora", dim=100000), "network.dim", ERROR)
    assert _find(_net(type="loha", dropout=0.1), "network.dropout", ERROR)
    assert _find(_net(type="lora", rank_dropout=0.1), "network.rank_dropout", ERROR)
    assert not _find(_net(type="lora", dora=True, rank_dropout=0.1), "network.rank_dropout")
    assert _find(_net(type="lora", dora=True, preset="unet-convblock-only"), "network.preset", ERROR)


def test_toml_round_trip_of_lycoris_fields(tmp_path):
    cfg = _net(type="lokr", factor=8, full_matrix=True, preset="attn-mlp", module_dropout=0.1)
    back = TrainConfig.from_toml(cfg.to_toml())
    assert back.network == cfg.network
