"""The torch boundary: the CLI, the spec, events and the data pipeline import nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "diffusers", "transformers", "peft", "accelerate", "safetensors", "lycoris")


def test_cli_and_pure_train_modules_do_not_import_heavy_packages():
    code = (
        "import sys, json\n"
        "import loratui.cli.main as m\n"
        "m.build_parser()\n"
        "import loratui.cli.cmd_train, loratui.train.spec, loratui.train.events, loratui.train.data\n"
        "import loratui.train.worker, loratui.train.trainer, loratui.train.metadata, loratui.train.samples\n"
        "import loratui.lora.kohya_keys, loratui.lora.kohya_save, loratui.train.network, loratui.train.lycoris_net\n"
        "import loratui.config.network_types, loratui.config.kohya_network, loratui.config.validate_network\n"
        f"print(json.dumps(sorted({{k.split('.')[0] for k in sys.modules}} & set({HEAVY!r}))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_spec_from_loratui_config(tmp_path, dataset_dir):
    from loratui.config.model import TrainConfig
    from loratui.train.spec import load_run_spec

    from .conftest import write_run_config

    write_run_config(str(tmp_path / "run"), "/models/sd15", dataset_dir, network__type="locon",
                     optim__optimizer_args=["weight_decay=0.01", "betas=[0.9, 0.99]"])
    spec = load_run_spec(str(tmp_path / "run"))
    assert spec.base_model == "/models/sd15" and spec.output_dir == str(tmp_path / "run" / "output")
    assert [s.path for s in spec.subsets] == [f"{dataset_dir}/2_mychar", f"{dataset_dir}/1_bg"]
    assert [s.repeats for s in spec.subsets] == [2, 1] and spec.subsets[0].class_tokens == "mychar"
    assert spec.subsets[0].keep_tokens == 1 and spec.resolution == (48, 48)
    assert spec.network_type == "locon" and spec.conv_dim == 2 and spec.conv_alpha == 1.0
    assert spec.optimizer_args == {"weight_decay": 0.01, "betas": [0.9, 0.99]}
    assert spec.lr_scheduler == "cosine" and spec.lr_warmup_steps == 1 and spec.device == "cpu"
    # the default subset list: every <repeats>_<name> folder under dataset.root
    cfg = TrainConfig.load(str(tmp_path / "run" / "config.toml"))
    cfg.dataset.subsets = []
    from loratui.train.spec import spec_from_config

    s2 = spec_from_config(cfg)
    assert sorted((s.repeats, s.class_tokens) for s in s2.subsets) == [(1, "bg"), (2, "mychar")]
    assert TrainConfig  # imported for the adapter's contract


def test_save_now_request_is_consumed_once(tmp_path):
    from loratui.train.trainer import SAVE_NOW_FILE, Stopper

    stopper = Stopper(str(tmp_path))
    assert not stopper.save_now_requested()
    (tmp_path / SAVE_NOW_FILE).write_text("")
    assert stopper.save_now_requested()
    assert not (tmp_path / SAVE_NOW_FILE).exists()
    assert not stopper.save_now_requested()
    assert stopper.requested(1) is None  # a checkpoint request is not a stop request
