from __future__ import annotations

import pytest

from loratui.config import ConfigError, config_from_lora
from loratui.config.from_lora import parse_optimizer

from ..lora.lorafiles import SS_META, write_lora
from .helpers import make_images


def test_use_these_settings(tmp_path):
    p = write_lora(tmp_path / "liked.safetensors", metadata=SS_META)
    data = make_images(tmp_path / "data", {"10_mine": 3})
    res = config_from_lora(str(p), dataset_dir=str(data), base=str(tmp_path / "m.safetensors"))
    c = res.config
    assert (c.network.type, c.network.dim, c.network.alpha) == ("lora", 8, 4.0)
    assert (c.optim.unet_lr, c.optim.text_encoder_lr) == (1e-4, 5e-5)
    assert (c.optim.optimizer, c.optim.optimizer_args) == ("AdamW8bit", ["weight_decay=0.1", "betas=(0.9, 0.99)"])
    assert (c.optim.scheduler, c.optim.warmup_ratio, c.optim.warmup_steps) == ("cosine_with_restarts", 0.1, 0)
    assert (c.schedule.epochs, c.schedule.max_steps, c.optim.batch_size) == (10, 0, 2)
    assert c.dataset.resolution == [512, 768] and c.dataset.enable_bucket
    assert (c.optim.noise_offset, c.optim.min_snr_gamma, c.model.clip_skip, c.optim.seed) == (0.05, 5.0, 2, 1234)
    assert (c.dataset.keep_tokens, c.dataset.shuffle_caption, c.optim.gradient_checkpointing) == (1, True, True)
    assert c.output.name == "mychar_v1" and c.model.family == "sd1"
    assert [s.image_dir for s in c.dataset.subsets] == ["10_mine"]
    keys = {u.key: u.reason for u in res.unmapped}
    assert "ss_sd_model_name" in keys and "model.base" in keys["ss_sd_model_name"]
    assert "ss_dataset_dirs" in keys
    assert keys["ss_some_new_setting"] == "no equivalent in loratui"
    assert not [f for f in c.validate(check_files=False) if f.is_error and f.path != "model.base"]


def test_locon_and_sdxl_metadata(tmp_path):
    meta = {"ss_network_module": "networks.lora", "ss_network_args": '{"conv_dim": "16", "conv_alpha": "8"}',
            "ss_base_model_version": "sdxl_base_v1-0", "ss_optimizer": "prodigyopt.prodigy.Prodigy",
            "ss_learning_rate": "1.0", "modelspec.trigger_phrase": "abc, def"}
    res = config_from_lora(str(write_lora(tmp_path / "x.safetensors", "locon", metadata=meta)))
    c = res.config
    assert (c.network.type, c.network.conv_dim, c.network.conv_alpha) == ("locon", 16, 8.0)
    assert c.model.family == "sdxl" and c.optim.optimizer == "Prodigy" and c.optim.unet_lr == 1.0
    assert c.output.trigger_words == ["abc", "def"]
    assert any("no dataset" in n for n in res.notes)


def test_no_metadata_and_bad_files(tmp_path):
    res = config_from_lora(str(write_lora(tmp_path / "x.safetensors")))
    assert any("no ss_*" in n for n in res.notes)
    assert (res.config.network.dim, res.config.network.alpha) == (8, 4.0)  # read from the tensors
    loha = config_from_lora(str(write_lora(tmp_path / "h.safetensors", "loha")))
    assert loha.config.network.type == "loha" and not any(u.key == "format" for u in loha.unmapped)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x01")
    with pytest.raises(ConfigError, match="bad.safetensors: too short"):
        config_from_lora(str(bad))


def test_parse_optimizer():
    assert parse_optimizer("torch.optim.adamw.AdamW") == ("AdamW", [])
    assert parse_optimizer("transformers.optimization.Adafactor(relative_step=False,x=[1, 2])") == (
        "Adafactor", ["relative_step=False", "x=[1, 2]"])


def test_lycoris_files_give_their_type(tmp_path):
    # no metadata: the tensors tell
    loha = config_from_lora(str(write_lora(tmp_path / "h.safetensors", "loha-conv"))).config.network
    assert (loha.type, loha.dim, loha.conv_dim, loha.conv_alpha) == ("loha", 8, 4, 2.0)
    full = config_from_lora(str(write_lora(tmp_path / "k.safetensors", "lokr-full"))).config.network
    assert (full.type, full.full_matrix) == ("lokr", True)
    dora = config_from_lora(str(write_lora(tmp_path / "d.safetensors", "dora"))).config.network
    assert (dora.type, dora.dora) == ("locon", True)
    # LyCORIS metadata, as loratui and sd-scripts + lycoris write it
    meta = {"ss_network_module": "lycoris.kohya", "ss_network_dim": "8", "ss_network_alpha": "4",
            "ss_network_args": '{"algo": "lokr", "preset": "attn-mlp", "factor": "8", "full_matrix": "False", '
                               '"decompose_both": "False", "rank_dropout": "0", "module_dropout": "0.1"}'}
    res = config_from_lora(str(write_lora(tmp_path / "m.safetensors", "lokr", metadata=meta)))
    n = res.config.network
    assert (n.type, n.factor, n.preset, n.module_dropout, n.dim) == ("lokr", 8, "attn-mlp", 0.1, 8)
    assert not any(u.key in ("format", "ss_network_args", "network_args") for u in res.unmapped)
