"""kohya settings keep sd-scripts' meaning on the way in and out (each input file built here).

Semantics quoted from sd-scripts' source: train_util.get_remove_epoch_no / get_remove_step_no
(save_last_n_*), train_network.py (max_train_epochs overrides max_train_steps; text_encoder_lr is
nargs="*"), train_util.get_scheduler_fix (constant refuses warm-up steps), config_util.py (general
-> dataset -> subset precedence)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib

from loratui.config import export_kohya, import_any, import_kohya, validate

from .helpers import make_images, ready_config


def _args(tmp_path, text: str, name: str = "args.toml") -> str:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def _unmapped(res) -> dict:
    return {u.key: u for u in res.unmapped}


# ---- save_last_n_epochs / save_last_n_steps -----------------------------------------------------
def test_save_last_n_epochs_counts_files_both_ways(tmp_path):
    res = import_kohya(_args(tmp_path, "save_every_n_epochs = 2\nsave_last_n_epochs = 3\nmax_train_epochs = 10\n"))
    assert res.config.schedule.keep_last == 3  # 3 files kept in sd-scripts, not 3 / 2
    cfg = ready_config(tmp_path)
    cfg.schedule.save_every_n_epochs, cfg.schedule.keep_last = 2, 3
    written, _ = export_kohya(cfg, str(tmp_path / "k"))
    train = tomllib.loads(open(written[0]).read())["training_arguments"]
    assert train["save_last_n_epochs"] == 3 and "save_last_n_steps" not in train
    assert import_kohya(written[0]).config.schedule.keep_last == 3


def test_save_last_n_steps_zero_in_an_epoch_preset_changes_nothing(tmp_path):
    res = import_kohya(_args(tmp_path, "save_every_n_epochs = 1\nsave_last_n_steps = 0\nsave_every_n_steps = 0\n"
                                       "max_train_epochs = 4\n"))
    assert res.config.schedule.keep_last == 0  # keep every epoch file
    assert "step-based" in _unmapped(res)["save_last_n_steps"].reason


def test_save_last_n_steps_keeps_the_same_number_of_files(tmp_path):
    # sd-scripts: every 100 steps, save_last_n_steps = 200 -> at step 500 steps 300, 400, 500 remain
    res = import_kohya(_args(tmp_path, "save_every_n_steps = 100\nsave_last_n_steps = 200\n"))
    assert res.config.schedule.keep_last == 3
    cfg = ready_config(tmp_path)
    cfg.schedule.save_every_n_epochs, cfg.schedule.save_every_n_steps, cfg.schedule.keep_last = 0, 100, 3
    written, _ = export_kohya(cfg, str(tmp_path / "k"))
    train = tomllib.loads(open(written[0]).read())["training_arguments"]
    assert train["save_last_n_steps"] == 200 and "save_last_n_epochs" not in train


# ---- epochs and steps ---------------------------------------------------------------------------
def test_epochs_win_over_steps_and_the_report_says_so(tmp_path):
    res = import_kohya(_args(tmp_path, "max_train_epochs = 10\nmax_train_steps = 1600\n"))
    assert (res.config.schedule.epochs, res.config.schedule.max_steps) == (10, 0)
    assert any("max_train_epochs" in n and "ignores max_train_steps" in n for n in res.notes)


def test_round_trip_of_max_steps_keeps_the_epochs(tmp_path):
    cfg = ready_config(tmp_path)
    cfg.schedule.epochs, cfg.schedule.max_steps = 10, 500
    written, _ = export_kohya(cfg, str(tmp_path / "k"))
    back = import_kohya(written[0]).config
    assert (back.schedule.epochs, back.schedule.max_steps) == (10, 500)


# ---- text_encoder_lr as a list ------------------------------------------------------------------
def test_text_encoder_lr_list_from_output_config(tmp_path):
    res = import_kohya(_args(tmp_path, "learning_rate = 1e-4\nunet_lr = 1e-4\ntext_encoder_lr = [5e-5]\n"))
    assert res.config.optim.text_encoder_lr == 5e-5  # not the base learning rate
    assert "text_encoder_lr" not in _unmapped(res)
    res = import_kohya(_args(tmp_path, "learning_rate = 1e-4\ntext_encoder_lr = [5e-5, 2e-5]\n"))
    assert res.config.optim.text_encoder_lr == 5e-5 and res.config.optim.text_encoder2_lr == 2e-5
    res = import_kohya(_args(tmp_path, "learning_rate = 1e-4\ntext_encoder_lr = []\n"))
    assert res.config.optim.text_encoder_lr == 1e-4  # an empty list is "not given"
    res = import_kohya(_args(tmp_path, "learning_rate = 1e-4\ntext_encoder_lr = [1e-5, 2e-5, 3e-5]\n"))
    assert "one or two" in _unmapped(res)["text_encoder_lr"].reason


def test_text_encoder_lr_exported_as_a_list(tmp_path):
    cfg = ready_config(tmp_path)
    cfg.optim.text_encoder_lr = 3e-5
    written, _ = export_kohya(cfg, str(tmp_path / "k"))
    opt = tomllib.loads(open(written[0]).read())["optimizer_arguments"]
    assert opt["text_encoder_lr"] == [3e-5]
    assert import_kohya(written[0]).config.optim.text_encoder_lr == 3e-5


# ---- constant + warm-up -------------------------------------------------------------------------
def test_constant_with_warmup_has_one_meaning(tmp_path):
    cfg = ready_config(tmp_path)
    cfg.optim.scheduler, cfg.optim.warmup_steps = "constant", 50
    errors = [f for f in validate(cfg, check_files=False) if f.is_error]
    assert any(f.path == "optim.scheduler" and "sd-scripts refuses" in f.message for f in errors)
    written, notes = export_kohya(cfg, str(tmp_path / "k"))
    opt = tomllib.loads(open(written[0]).read())["optimizer_arguments"]
    assert opt["lr_scheduler"] == "constant" and "lr_warmup_steps" not in opt  # a file sd-scripts accepts
    assert any("no warm-up" in n for n in notes)
    # a kohya file with the pair (sd-scripts refuses to start): imported as constant_with_warmup, said
    res = import_kohya(_args(tmp_path, 'lr_scheduler = "constant"\nlr_warmup_steps = 100\n'))
    assert (res.config.optim.scheduler, res.config.optim.warmup_steps) == ("constant_with_warmup", 100)
    assert any("sd-scripts refuses" in n for n in res.notes)


# ---- several [[datasets]] -----------------------------------------------------------------------
CONFIG_README_FIRST_EXAMPLE = r"""
[general]
shuffle_caption = true
caption_extension = '.txt'
keep_tokens = 1

# This is a DreamBooth-style dataset
[[datasets]]
resolution = 512
batch_size = 4
keep_tokens = 2

  [[datasets.subsets]]
  image_dir = 'C:\hoge'
  class_tokens = 'hoge girl'
  # This subset uses keep_tokens = 2 (the value of the parent datasets)

  [[datasets.subsets]]
  image_dir = 'C:\fuga'
  class_tokens = 'fuga boy'
  keep_tokens = 3

  [[datasets.subsets]]
  is_reg = true
  image_dir = 'C:\reg'
  class_tokens = 'human'
  keep_tokens = 1

# This is a fine-tuning dataset
[[datasets]]
resolution = [768, 768]
batch_size = 2

  [[datasets.subsets]]
  image_dir = 'C:\piyo'
  metadata_file = 'C:\piyo\piyo_md.json'
  # This subset uses keep_tokens = 1 (the value of [general])
"""


def test_sd_scripts_config_readme_first_example(tmp_path):
    res = import_kohya(_args(tmp_path, CONFIG_README_FIRST_EXAMPLE, "dataset.toml"))
    c = res.config
    assert (c.dataset.shuffle_caption, c.dataset.caption_extension, c.dataset.keep_tokens) == (True, ".txt", 1)
    assert c.dataset.resolution == [512, 512] and c.optim.batch_size == 4  # the first dataset's
    subs = c.dataset.subsets
    assert [s.class_tokens for s in subs] == ["hoge girl", "fuga boy", "human", ""]
    assert [s.is_reg for s in subs] == [False, False, True, False]

    def keep(s):
        return c.dataset.keep_tokens if s.keep_tokens is None else s.keep_tokens

    assert [keep(s) for s in subs] == [2, 3, 1, 1]  # subset -> dataset -> general
    um = _unmapped(res)
    # the second dataset's own resolution and batch size cannot be represented: listed, not only noted
    assert "datasets[1].resolution" in um and "not carried over" in um["datasets[1].resolution"].reason
    assert "C:\\piyo" in um["datasets[1].resolution"].reason
    assert "datasets[1].batch_size" in um
    assert "datasets[1].subsets[0].metadata_file" in um
    assert "datasets[0].keep_tokens" not in um  # applied (to that dataset's subsets)


def test_dataset_level_caption_options_apply_to_that_datasets_subsets_only(tmp_path):
    make_images(tmp_path / "imgs", {"a": 1, "b": 1, "c": 1})
    res = import_kohya(_args(tmp_path, """
[general]
flip_aug = false
num_repeats = 3
[[datasets]]
flip_aug = true
caption_dropout_rate = 0.1
  [[datasets.subsets]]
  image_dir = "imgs/a"
  [[datasets.subsets]]
  image_dir = "imgs/b"
  flip_aug = false
  num_repeats = 5
[[datasets]]
  [[datasets.subsets]]
  image_dir = "imgs/c"
""", "ds.toml"))
    c = res.config
    flips = [c.dataset.flip_aug if s.flip_aug is None else s.flip_aug for s in c.dataset.subsets]
    drops = [c.dataset.caption_dropout_rate if s.caption_dropout_rate is None else s.caption_dropout_rate
             for s in c.dataset.subsets]
    assert flips == [True, False, False] and drops == [0.1, 0.1, 0.0]
    assert [s.repeats for s in c.dataset.subsets] == [3, 5, 3]
    assert not res.unmapped, res.unmapped


# ---- unsupported network types ------------------------------------------------------------------
def test_gui_preset_with_an_unsupported_network_says_so_first(tmp_path):
    preset = {"LoRA_type": "LyCORIS/iA3", "network_dim": 8, "learning_rate": 1e-4}
    preset.update({f"unknown_gui_key_{i}": f"v{i}" for i in range(50)})
    p = tmp_path / "preset.json"
    p.write_text(json.dumps(preset), encoding="utf-8")
    res = import_any(str(p))
    assert res.unsupported and "iA3" in res.unsupported[0] and "cannot train" in res.unsupported[0]
    assert res.report_lines()[0].startswith("NOT SUPPORTED:")
    out = subprocess.run([sys.executable, "-m", "loratui", "config", "import", str(p), "-o",
                          str(tmp_path / "run.toml")], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert out.stderr.splitlines()[0].startswith("NOT SUPPORTED: LoRA_type = 'LyCORIS/iA3'"), out.stderr


def test_toml_with_an_unsupported_lycoris_algo_says_so_first(tmp_path):
    res = import_kohya(_args(tmp_path, 'network_module = "lycoris.kohya"\nnetwork_args = ["algo=ia3"]\n'))
    assert res.unsupported and "ia3" in res.unsupported[0]
    res = import_kohya(_args(tmp_path, 'network_module = "networks.oft"\n'))
    assert res.unsupported and "oft" in res.unsupported[0]
