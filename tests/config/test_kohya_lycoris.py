"""LyCORIS interop: kohya_ss GUI LoHa / LoKr presets and sd-scripts ``lycoris.kohya`` args import as
their types; the export writes ``network_module = "lycoris.kohya"`` + ``network_args``."""

from __future__ import annotations

import os

from loratui.config.kohya import import_any
from loratui.config.kohya_export import to_kohya
from loratui.config.model import TrainConfig

FIX = os.path.join(os.path.dirname(__file__), "fixtures")


def test_gui_loha_preset_imports_as_loha():
    res = import_any(os.path.join(FIX, "kohya_ss_gui_loha.json"))
    n = res.config.network
    assert (n.type, n.dim, n.alpha, n.preset) == ("loha", 8, 4.0, "attn-mlp")
    assert (n.rank_dropout, n.module_dropout, n.dora) == (0.1, 0.05, False)
    assert not any(u.key == "LoRA_type" for u in res.unmapped)
    assert not any(u.key in ("factor", "LyCORIS_preset", "dora_wd") for u in res.unmapped)
    assert not [e for e in res.config.validate(check_files=False) if e.is_error and e.path.startswith("network.")]


def test_gui_lokr_preset_imports_as_full_rank_lokr():
    res = import_any(os.path.join(FIX, "kohya_ss_gui_lokr.json"))
    n = res.config.network
    assert (n.type, n.factor, n.dim, n.conv_dim, n.preset) == ("lokr", 8, 100000, 100000, "full")
    # the GUI's "huge dim" is LyCORIS' full-rank LoKr: config check says so
    found = {f.path for f in res.config.validate(check_files=False)}
    assert {"network.dim", "network.full_matrix"} <= found
    # Tucker decomposition is not trained by loratui: listed, not silently dropped
    assert any(u.key == "network_args" and "use_tucker" in str(u.value) for u in res.unmapped)


def test_sd_scripts_lycoris_args_import_and_export_round_trip(tmp_path):
    p = tmp_path / "args.toml"
    p.write_text('network_module = "lycoris.kohya"\nnetwork_dim = 16\nnetwork_alpha = 8\n'
                 'network_args = ["algo=lokr", "factor=4", "conv_dim=8", "conv_alpha=4", "decompose_both=True", '
                 '"preset=attn-mlp", "dora_wd=True", "module_dropout=0.1", "use_scalar=True"]\n')
    res = import_any(str(p))
    n = res.config.network
    assert (n.type, n.factor, n.decompose_both, n.preset, n.dora, n.module_dropout) == (
        "lokr", 4, True, "attn-mlp", True, 0.1)
    assert [u.value for u in res.unmapped if u.key == "network_args"] == ["use_scalar=True"]
    args, _, _ = to_kohya(res.config)
    net = args["network_arguments"]
    assert net["network_module"] == "lycoris.kohya" and net["network_dim"] == 16
    assert set(net["network_args"]) == {"algo=lokr", "preset=attn-mlp", "factor=4", "full_matrix=False",
                                        "decompose_both=True", "dora_wd=True", "rank_dropout=0",
                                        "module_dropout=0.1"}
    # lycoris' defaults for what is left out: algo lora (+ convs with the full preset), conv = network dims
    p.write_text('network_module = "lycoris.kohya"\nnetwork_dim = 16\nnetwork_alpha = 8\n'
                 'network_args = ["dora_wd=True"]\n')
    n = import_any(str(p)).config.network
    assert (n.type, n.dora, n.conv_dim, n.conv_alpha, n.preset) == ("locon", True, 16, 8.0, "full")


def test_export_of_each_lycoris_type():
    cfg = TrainConfig()
    cfg.network.type = "loha"
    cfg.network.dim, cfg.network.alpha, cfg.network.conv_dim, cfg.network.conv_alpha = 8, 4.0, 4, 2.0
    net = to_kohya(cfg)[0]["network_arguments"]
    assert net["network_module"] == "lycoris.kohya"
    assert net["network_args"] == ["algo=loha", "preset=full", "conv_dim=4", "conv_alpha=2", "rank_dropout=0",
                                   "module_dropout=0"]
    cfg.network.type, cfg.network.dora = "lora", True
    net = to_kohya(cfg)[0]["network_arguments"]
    assert "algo=lora" in net["network_args"] and "dora_wd=True" in net["network_args"]
    assert "preset=full-lin" in net["network_args"]
    cfg.network.dora = False
    net = to_kohya(cfg)[0]["network_arguments"]
    assert net["network_module"] == "networks.lora" and "network_args" not in net
