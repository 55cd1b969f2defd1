from __future__ import annotations

import tomllib

import pytest

from loratui.config import (
    ConfigError,
    SubsetConfig,
    TrainConfig,
    export_kohya,
    import_any,
    import_kohya,
    import_kohya_ss_json,
    to_kohya,
)
from loratui.config.kohya import NOT_EXPRESSIBLE, flatten_config

from .helpers import FIXTURES, make_images, ready_config

PRESET_JSON = FIXTURES / "kohya_ss_presets" / "sd15-EDG_LoraOptiSettings.json"


def rich_config(tmp_path) -> TrainConfig:
    cfg = ready_config(tmp_path, {"10_mychar": 4, "3_mychar outfit": 2, "1_reg": 2})
    cfg.dataset.subsets[-1] = SubsetConfig("1_reg", 1, "1girl", True)
    cfg.model.vae = str(tmp_path / "vae.safetensors")
    cfg.model.clip_skip = 2
    cfg.dataset.caption_extension = ".caption"
    cfg.dataset.keep_tokens = 2
    cfg.dataset.caption_dropout_rate = 0.05
    cfg.dataset.caption_tag_dropout_rate = 0.1
    cfg.dataset.flip_aug = True
    cfg.dataset.resolution = [512, 768]
    cfg.dataset.min_bucket_reso, cfg.dataset.max_bucket_reso, cfg.dataset.bucket_reso_steps = 320, 1280, 32
    cfg.dataset.bucket_no_upscale = True
    cfg.dataset.cache_latents_to_disk = True
    cfg.model.config_dir = str(tmp_path / "sd15-config")
    cfg.network.type, cfg.network.conv_dim, cfg.network.conv_alpha = "locon", 8, 4.5
    cfg.network.dropout = 0.1
    cfg.network.train_text_encoder = False
    cfg.optim.optimizer, cfg.optim.optimizer_args = "Adafactor", ["relative_step=False", "scale_parameter=False"]
    cfg.optim.scheduler, cfg.optim.cycles, cfg.optim.warmup_ratio = "cosine_with_restarts", 3, 0.05
    cfg.optim.batch_size, cfg.optim.grad_accumulation, cfg.optim.max_grad_norm = 2, 2, 0.5
    cfg.optim.noise_offset, cfg.optim.min_snr_gamma, cfg.optim.mixed_precision = 0.05, 5.0, "bf16"
    cfg.optim.gradient_checkpointing, cfg.optim.seed = True, 7
    cfg.schedule.epochs, cfg.schedule.save_every_n_epochs, cfg.schedule.keep_last = 12, 2, 3
    cfg.schedule.sample_every_n_epochs, cfg.schedule.sample_sampler = 2, "k_euler_a"
    cfg.schedule.sample_prompts = ["mychar, smile --n lowres --w 512 --h 768 --d 1", "mychar, from side"]
    cfg.schedule.sample_strengths = [0.5, 0.8, 1.0]
    cfg.output.save_precision = "fp32"
    cfg.output.title, cfg.output.author, cfg.output.description = "My char", "me", "a test"
    cfg.output.trigger_words = ["mychar", "mychar outfit"]
    cfg.hardware.gpu_ids, cfg.hardware.num_processes = [0, 1], 2
    cfg.concept = "character"
    return cfg


def test_export_writes_an_sd_scripts_pair(tmp_path):
    cfg = rich_config(tmp_path)
    written, notes = export_kohya(cfg, str(tmp_path / "k"))
    args = tomllib.loads(open(written[0]).read())
    ds = tomllib.loads(open(written[1]).read())
    assert set(args) == {"model_arguments", "network_arguments", "optimizer_arguments", "training_arguments"}
    assert args["network_arguments"]["network_args"] == ["conv_dim=8", "conv_alpha=4.5"]
    assert args["network_arguments"]["network_train_unet_only"] is True
    assert args["optimizer_arguments"]["optimizer_type"] == "AdaFactor"
    assert args["optimizer_arguments"]["lr_warmup_steps"] == 0.05
    assert args["training_arguments"]["save_precision"] == "float"
    assert args["training_arguments"]["save_last_n_epochs"] == 3  # files kept (sd-scripts counts files)
    assert args["training_arguments"]["dataset_config"] == written[1]
    sub = ds["datasets"][0]["subsets"]
    assert sub[0] == {"image_dir": str(tmp_path / "data" / "10_mychar"), "num_repeats": 10, "class_tokens": "mychar"}
    assert sub[2]["is_reg"] is True
    assert ds["datasets"][0]["resolution"] == [512, 768]
    assert open(written[2]).read().count("mychar") == 2
    assert any("trigger_words" in n for n in notes)


def test_round_trip_is_identical(tmp_path):
    cfg = rich_config(tmp_path)
    written, _ = export_kohya(cfg, str(tmp_path / "k"))
    res = import_kohya(written[0])
    assert flatten_config(res.config.resolved()) == flatten_config(cfg.resolved())
    assert {u.key for u in res.unmapped} <= {"save_model_as", "sdpa"}


def test_round_trip_without_loratui_comments(tmp_path):
    """What kohya itself can express survives even when the comments are gone."""
    cfg = rich_config(tmp_path)
    written, _ = export_kohya(cfg, str(tmp_path / "k"))
    text = "".join(ln for ln in open(written[0]).readlines() if not ln.startswith("#"))
    open(written[0], "w").write(text)
    back = import_kohya(written[0]).config
    a, b = flatten_config(back.resolved()), flatten_config(cfg.resolved())
    differing = {k for k in a if a[k] != b[k]}
    assert differing <= set(NOT_EXPRESSIBLE) | {"model.family"}
    assert back.model.family == "sd1"


HAND_WRITTEN = '''
# written by hand, with odd sections and string numbers
pretrained_model_name_or_path = "/models/nai.safetensors"

[paths]
train_data_dir = "train"
output_dir = "out"
output_name = "hand"

[lr]
learning_rate = "1e-4"
text_encoder_lr = "5e-5"
optimizer_type = "adamw8bit"
lr_scheduler = "cosine"
lr_warmup_steps = "50"

[net]
network_module = "networks.lora"
network_dim = "16"
network_alpha = "8"
network_args = ["conv_dim=8", "conv_alpha=4", "block_dims=2,2,2"]

[misc]
resolution = "512,640"
max_train_epochs = "8"
train_batch_size = "2"
enable_bucket = "true"
caption_extension = ".txt"
shuffle_caption = true
keep_tokens = 1
mixed_precision = "fp16"
save_every_n_epochs = 2
save_last_n_epochs = 4
xformers = true
weird_option = "x"
'''


def test_hand_written_sectioned_toml(tmp_path):
    make_images(tmp_path / "train", {"10_mychar": 2, "4_bg": 1, "no_prefix": 1})
    p = tmp_path / "hand.toml"
    p.write_text(HAND_WRITTEN)
    res = import_kohya(str(p))
    c = res.config
    assert c.model.base == "/models/nai.safetensors"
    assert c.dataset.cache_latents is False  # sd-scripts' default when the key is absent
    assert (c.optim.unet_lr, c.optim.text_encoder_lr, c.optim.optimizer) == (1e-4, 5e-5, "AdamW8bit")
    assert (c.optim.scheduler, c.optim.warmup_steps) == ("cosine", 50)
    assert (c.network.type, c.network.dim, c.network.alpha, c.network.conv_dim, c.network.conv_alpha) == \
        ("locon", 16, 8.0, 8, 4.0)
    assert c.dataset.resolution == [512, 640] and c.dataset.enable_bucket is True
    assert (c.schedule.epochs, c.schedule.max_steps, c.optim.batch_size) == (8, 0, 2)
    assert c.schedule.keep_last == 4  # save_last_n_epochs = 4 keeps 4 files in sd-scripts
    assert c.dataset.root == str(tmp_path / "train")
    assert [(s.image_dir, s.repeats, s.class_tokens) for s in c.dataset.subsets] == [
        ("10_mychar", 10, "mychar"), ("4_bg", 4, "bg")]
    assert (c.output.dir, c.output.name) == ("out", "hand")
    unmapped = {u.key: u for u in res.unmapped}
    assert "weird_option" in unmapped and unmapped["weird_option"].reason == "no equivalent in loratui"
    assert "block_dims=2,2,2" in unmapped["network_args"].value
    assert "xformers" in unmapped
    assert any("no_prefix" in n for n in res.notes)
    assert any("seed" in n for n in res.notes)


def test_dataset_config_alone_and_per_subset_values(tmp_path):
    p = tmp_path / "ds.toml"
    p.write_text('''
[general]
shuffle_caption = true
caption_extension = ".txt"
keep_tokens = 1

[[datasets]]
resolution = 768
batch_size = 4
enable_bucket = true

  [[datasets.subsets]]
  image_dir = "imgs/10_a"
  num_repeats = 10
  flip_aug = true

  [[datasets.subsets]]
  image_dir = "imgs/2_b"
  num_repeats = "2"
  flip_aug = false
  color_aug = true
  typo_key = 1
''')
    res = import_kohya(str(p))
    c = res.config
    assert c.dataset.resolution == [768, 768] and c.optim.batch_size == 4
    assert c.dataset.root == str(tmp_path / "imgs")
    assert [(s.image_dir, s.repeats) for s in c.dataset.subsets] == [("10_a", 10), ("2_b", 2)]
    # per-subset caption options stay on their subset
    assert [s.flip_aug for s in c.dataset.subsets] == [True, False]
    reasons = {u.key: u.reason for u in res.unmapped}
    assert "datasets[0].subsets[1].flip_aug" not in reasons
    assert reasons["datasets[0].subsets[1].color_aug"] == "no equivalent in loratui"
    assert "reject" in reasons["datasets[0].subsets[1].typo_key"]


def test_import_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("a = \n")
    with pytest.raises(ConfigError, match="bad.toml: not valid TOML"):
        import_any(str(bad))
    ref = tmp_path / "ref.toml"
    ref.write_text('dataset_config = "missing.toml"\n')
    with pytest.raises(ConfigError, match="dataset_config: missing.toml not found"):
        import_any(str(ref))
    ds = tmp_path / "ds.toml"
    ds.write_text("[[datasets]]\n[[datasets.subsets]]\nnum_repeats = 1\n")
    with pytest.raises(ConfigError, match=r"datasets\[0\].subsets\[0\]: `image_dir` is required"):
        import_any(str(ds))
    js = tmp_path / "p.json"
    js.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="expected a JSON object"):
        import_any(str(js))


@pytest.mark.skipif(not PRESET_JSON.is_file(), reason=f"shared fixture missing: {PRESET_JSON}")
def test_kohya_ss_gui_preset_fixture():
    res = import_kohya_ss_json(str(PRESET_JSON))
    c = res.config
    assert (c.network.type, c.network.dim, c.network.alpha) == ("lora", 64, 64.0)
    assert (c.optim.unet_lr, c.optim.text_encoder_lr, c.optim.optimizer) == (1e-4, 5e-5, "AdamW8bit")
    assert (c.optim.scheduler, c.optim.warmup_ratio, c.optim.warmup_steps) == ("constant", 0.0, 0)
    assert (c.optim.batch_size, c.optim.noise_offset, c.optim.seed, c.optim.mixed_precision) == (3, 0.05, 1234, "bf16")
    assert c.dataset.resolution == [512, 650]
    assert (c.dataset.caption_extension, c.dataset.keep_tokens, c.dataset.bucket_no_upscale) == (".txt", 0, True)
    assert (c.schedule.epochs, c.schedule.max_steps, c.schedule.save_every_n_epochs) == (1, 0, 1)
    assert (c.model.clip_skip, c.model.family, c.output.save_precision) == (2, "sd1", "bf16")
    assert c.hardware.cpu_threads == 2  # num_cpu_threads_per_process (accelerate launch)
    # every GUI key is either applied or reported
    import json

    data = json.loads(PRESET_JSON.read_text())
    reported = {u.key for u in res.unmapped}
    applied = {"LoRA_type", "bucket_no_upscale", "cache_latents", "bucket_reso_steps", "caption_dropout_rate", "caption_extension",
               "clip_skip", "enable_bucket", "epoch", "flip_aug", "gradient_accumulation_steps",
               "gradient_checkpointing", "keep_tokens", "learning_rate", "lr_scheduler", "lr_scheduler_num_cycles",
               "lr_scheduler_power", "lr_warmup", "max_resolution", "max_train_epochs", "min_snr_gamma",
               "mixed_precision", "network_alpha", "network_dim", "noise_offset", "optimizer", "optimizer_args",
               "save_every_n_epochs", "save_precision", "seed", "shuffle_caption", "text_encoder_lr",
               "train_batch_size", "unet_lr", "v2", "v_parameterization", "training_comment",
               "num_cpu_threads_per_process"}
    assert set(data) - applied <= reported, set(data) - applied - reported
    assert {"conv_dim", "conv_alpha", "xformers", "prior_loss_weight", "block_dims"} <= reported


def test_gui_percent_warmup_and_locon(tmp_path):
    p = tmp_path / "g.json"
    p.write_text('{"LoRA_type": "LyCORIS/LoCon", "conv_dim": "8", "conv_alpha": "2", "lr_warmup": "10", '
                 '"epoch": 3, "max_train_epochs": "", "optimizer": "Prodigy", "learning_rate": 1, '
                 '"unet_lr": 0, "text_encoder_lr": 0, "sample_prompts": "a cat --w 512\\nmychar --d 3"}')
    c = import_any(str(p)).config
    assert (c.network.type, c.network.conv_dim, c.network.conv_alpha) == ("locon", 8, 2.0)
    assert c.optim.warmup_ratio == 0.1 and c.schedule.epochs == 3
    assert (c.optim.optimizer, c.optim.unet_lr, c.optim.text_encoder_lr) == ("Prodigy", 1.0, 1.0)
    assert c.schedule.sample_prompts == ["a cat --w 512", "mychar --d 3"]
    p.write_text('{"LoRA_type": "LyCORIS/LoHa"}')
    res = import_any(str(p))
    assert res.config.network.type == "loha" and not res.unsupported  # trainable since LyCORIS support
    p.write_text('{"LoRA_type": "LyCORIS/iA3"}')
    res = import_any(str(p))
    assert any(u.key == "LoRA_type" and "LoRA assumed" in u.reason for u in res.unmapped)
    assert res.unsupported


def test_to_kohya_sdxl_note():
    cfg = TrainConfig()
    cfg.model.family = "sdxl"
    _, _, notes = to_kohya(cfg)
    assert any("sdxl_train_network.py" in n for n in notes)
