from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from loratui.cli.main import main

from ..lora.lorafiles import SS_META, write_lora
from .helpers import FIXTURES, make_images

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEAVY = ("torch", "diffusers", "transformers", "peft", "onnxruntime", "textual")


def test_new_check_export_import(tmp_path, capsys):
    data = make_images(tmp_path / "data", {"10_mychar": 24})
    (tmp_path / "m.safetensors").write_bytes(b"")
    cfg = str(tmp_path / "run.toml")
    assert main(["config", "new", str(data), "--preset", "character", "--base", str(tmp_path / "m.safetensors"),
                 "-o", cfg]) == 0
    assert main(["config", "new", str(data), "-o", cfg]) == 1  # exists
    assert "exists" in capsys.readouterr().err
    assert main(["config", "check", cfg]) == 0
    out = capsys.readouterr().out
    assert "10_mychar: 24 images x 10 repeats = 240" in out and "2,400 steps" in out and "ready to train" in out
    assert main(["config", "check", cfg, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["ok"] and d["step_math"]["total_steps"] == 2400
    assert main(["config", "export-kohya", cfg, str(tmp_path / "k")]) == 0
    assert "train_network.py --config_file" in capsys.readouterr().out
    back = str(tmp_path / "back.toml")
    assert main(["config", "import", str(tmp_path / "k" / "data_config.toml"), "-o", back]) == 0
    assert open(back).read() == open(cfg).read()


def test_check_reports_errors_with_exit_1(tmp_path, capsys):
    p = tmp_path / "c.toml"
    p.write_text("schema_version = 1\n[optim]\nunet_lr = -1.0\n")
    assert main(["config", "check", str(p)]) == 1
    out = capsys.readouterr().out
    assert "error: optim.unet_lr = -1.0: too small (allowed: > 0)" in out
    p.write_text("schema_version = 1\n[optim]\nunet_lrr = 1\n")
    assert main(["config", "check", str(p)]) == 1
    err = capsys.readouterr().err
    assert "c.toml: optim.unet_lrr: unknown key" in err and "Traceback" not in err


def test_from_lora_and_inspect(tmp_path, capsys):
    lora = write_lora(tmp_path / "x.safetensors", metadata=SS_META)
    assert main(["config", "from-lora", str(lora)]) == 0
    cap = capsys.readouterr()
    assert "dim = 8" in cap.out and "not carried over" in cap.err and "ss_sd_model_name" in cap.err
    assert main(["inspect", str(lora), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "kohya LoRA"
    assert main(["inspect", str(lora), "--metadata"]) == 0
    assert "ss_seed = 1234" in capsys.readouterr().out
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\xff" * 16)
    assert main(["inspect", str(bad)]) == 1
    assert "bad.safetensors" in capsys.readouterr().err


@pytest.mark.skipif(not (FIXTURES / "kohya_ss_presets").is_dir(), reason="shared fixtures missing")
def test_import_gui_preset(tmp_path, capsys):
    src = FIXTURES / "kohya_ss_presets" / "sd15-EDG_LoraOptiSettings.json"
    assert main(["config", "import", str(src), "-o", str(tmp_path / "c.toml")]) == 0
    err = capsys.readouterr().err
    assert "xformers" in err and "prior_loss_weight" in err


def test_presets_and_save_preset(tmp_path, capsys):
    assert main(["config", "presets"]) == 0
    out = capsys.readouterr().out
    assert "character" in out and "not measured optima" in out
    cfg = tmp_path / "c.toml"
    assert main(["config", "new", "--preset", "style", "-o", str(cfg)]) == 0
    assert main(["config", "save-preset", str(cfg), "mine"]) == 0
    capsys.readouterr()
    assert main(["config", "presets"]) == 0
    assert "mine" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--help"], ["config", "--help"], ["config", "check", "--help"], ["inspect", "X"]])
def test_commands_import_nothing_heavy(tmp_path, argv):
    lora = write_lora(tmp_path / "x.safetensors")
    argv = [str(lora) if a == "X" else a for a in argv]
    code = ("import sys\nfrom loratui.cli.main import main\n"
            "try:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in %r if m in sys.modules]\nprint('HEAVY', heavy)\n" % (argv, HEAVY[:-1]))
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in r.stdout, r.stdout + r.stderr


def test_config_and_lora_packages_import_no_ui_or_torch():
    code = ("import sys, loratui.config, loratui.lora\n"
            "from loratui.lora import inspect_lora\n"
            "print('LOADED', [m for m in ('textual', 'torch', 'numpy', 'safetensors') if m in sys.modules])\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert "LOADED []" in r.stdout, r.stdout + r.stderr
