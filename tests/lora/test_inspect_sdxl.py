"""`inspect` on SDXL LoRAs (te1/te2 split, SGM UNet names) and `config from-lora` setting the family."""

from __future__ import annotations

import json

import numpy as np
from safetensors.numpy import save_file

from loratui.cli.main import main
from loratui.config.from_lora import config_from_lora
from loratui.lora.inspect import inspect_lora

UNET = ["lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q",
        "lora_unet_middle_block_1_transformer_blocks_0_attn2_to_k",
        "lora_unet_output_blocks_0_1_transformer_blocks_0_ff_net_2"]
TE1 = ["lora_te1_text_model_encoder_layers_0_self_attn_q_proj", "lora_te1_text_model_encoder_layers_11_mlp_fc2"]
TE2 = ["lora_te2_text_model_encoder_layers_31_mlp_fc1"]


def sdxl_lora(path, modules, metadata=None, rank=4):
    t = {}
    for m in modules:
        t[f"{m}.lora_down.weight"] = np.zeros((rank, 64), np.float16)
        t[f"{m}.lora_up.weight"] = np.zeros((64, rank), np.float16)
        t[f"{m}.alpha"] = np.array(rank / 2, np.float16)
    save_file(t, str(path), metadata=metadata)
    return str(path)


def test_inspect_splits_the_two_text_encoders_and_names_the_sgm_layout(tmp_path, capsys):
    info = inspect_lora(sdxl_lora(tmp_path / "xl.safetensors", UNET + TE1 + TE2))
    assert (info.unet_modules, info.te_modules, info.te1_modules, info.te2_modules) == (3, 3, 2, 1)
    assert info.unet_naming == "sgm" and info.base_model == "sdxl_base_v1-0"
    assert info.format == "kohya LoRA" and info.ranks == {4: 6} and not info.problems
    text = "\n".join(info.lines())
    assert "UNet 3 (SGM names, as sd-scripts writes SDXL), text encoders 2 + 1 (te1 CLIP-L + te2 OpenCLIP bigG)" in text
    assert main(["inspect", str(tmp_path / "xl.safetensors"), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (d["te1_modules"], d["te2_modules"], d["unet_naming"]) == (2, 1, "sgm")


def test_unet_only_sgm_file_without_metadata_is_still_sdxl(tmp_path):
    info = inspect_lora(sdxl_lora(tmp_path / "u.safetensors", UNET))
    assert info.base_model == "sdxl_base_v1-0" and "SGM" in info.base_model_source
    assert (info.te1_modules, info.te2_modules, info.te_modules) == (0, 0, 0)
    res = config_from_lora(str(tmp_path / "u.safetensors"))
    assert res.config.model.family == "sdxl"


def test_sd15_layout_is_diffusers_naming_with_one_text_encoder(tmp_path):
    mods = ["lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q",
            "lora_te_text_model_encoder_layers_0_self_attn_q_proj"]
    info = inspect_lora(sdxl_lora(tmp_path / "sd.safetensors", mods))
    assert info.unet_naming == "diffusers" and (info.te1_modules, info.te2_modules) == (0, 0)
    assert "text encoder 1" in "\n".join(info.lines())
    mixed = inspect_lora(sdxl_lora(tmp_path / "mixed.safetensors", mods + UNET[:1]))
    assert mixed.unet_naming == "mixed" and any("SGM" in p for p in mixed.problems)


def test_from_lora_reads_sdxl_vpred_metadata(tmp_path):
    meta = {"ss_base_model_version": "sdxl_base_v1-0_v", "ss_v2": "False", "ss_v_parameterization": "True",
            "ss_zero_terminal_snr": "True", "ss_network_dim": "4", "ss_network_alpha": "2.0",
            "ss_text_encoder_lr": "[3e-05, 1e-05]", "ss_unet_lr": "0.0001"}
    res = config_from_lora(sdxl_lora(tmp_path / "v.safetensors", UNET + TE1 + TE2, meta))
    m = res.config.model
    assert (m.family, m.prediction_type, m.zero_terminal_snr) == ("sdxl", "v_prediction", True)
    assert not any(u.key == "ss_v_parameterization" for u in res.unmapped)
    assert (res.config.optim.text_encoder_lr, res.config.optim.text_encoder2_lr) == (3e-05, 1e-05)
    # epsilon SDXL metadata: epsilon (sd-scripts trained it so), not "auto"
    meta.update(ss_base_model_version="sdxl_base_v1-0", ss_v_parameterization="False", ss_zero_terminal_snr="False")
    res = config_from_lora(sdxl_lora(tmp_path / "e.safetensors", UNET, meta))
    assert (res.config.model.family, res.config.model.prediction_type) == ("sdxl", "epsilon")
