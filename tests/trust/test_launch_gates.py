"""Run names, config errors and output paths: every launch path refuses what `config check` calls
an error, run folders stay in the runs root, LoRA files stay in output.dir."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from loratui.cli.main import main
from loratui.config.model import SubsetConfig, TrainConfig
from loratui.config.toml_io import ConfigError
from loratui.runs import layout as L
from loratui.runs.launch import create_run, launch, start

FAKE = [sys.executable, "-u", str(Path(__file__).parent.parent / "runs" / "fake_worker.py")]


def config(folder: Path, **schedule) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    cfg = TrainConfig()
    cfg.model.base = "base.safetensors"
    cfg.dataset.root = str(folder)
    cfg.dataset.subsets = [SubsetConfig("1_x", 1, "")]
    cfg.output.dir = "out"
    cfg.output.name = schedule.pop("name", "mylora")
    for k, v in schedule.items():
        setattr(cfg.schedule, k, v)
    path = folder / "c.toml"
    cfg.save(str(path))
    return str(path)


def everything(base: Path) -> set[str]:
    """Every path under ``base``, but the dataset check's own cache."""
    return {str(p.relative_to(base)) for p in base.rglob("*") if ".loratui" not in p.parts}


@pytest.mark.parametrize("name", ["../../x", "a/b", "..", ".hidden", "x\x00y", "n" * 101, ""])
def test_run_names_must_be_plain_components(tmp_path, name):
    cfg = config(tmp_path / "cfg")
    before = everything(tmp_path)
    with pytest.raises(L.RunError, match="run name"):
        launch(cfg, str(tmp_path / "runs"), name=name, worker_cmd=FAKE)
    assert everything(tmp_path) == before


def test_cli_runs_start_refuses_an_escaping_name(tmp_path, capsys):
    cfg = config(tmp_path / "cfg")
    rc = main(["runs", "start", cfg, "--name", "../../escaped", "--runs-root", str(tmp_path / "r" / "runs"),
               "--ignore-check"])
    assert rc == 1 and "run name" in capsys.readouterr().err
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "r" / "runs").exists()


@pytest.mark.parametrize("bad", [dict(max_steps=-5), dict(epochs=10**23), dict(name="../evil"),
                                 dict(name="n" * 5000), dict(sample_prompts=["a cat --w 100000 --h 512"])],
                         ids=["negative-steps", "huge-epochs", "name-escapes", "name-5000", "sample-size"])
def test_config_errors_block_every_launch_path(tmp_path, bad, capsys):
    cfg = config(tmp_path / "cfg", **bad)
    before = everything(tmp_path)
    assert main(["train", cfg, "--ignore-check"]) == 2  # foreground: --ignore-check is not about the config
    err = capsys.readouterr().err
    assert "error" in err and "Traceback" not in err
    assert main(["train", cfg, "--detach", "--ignore-check"]) == 1
    assert main(["runs", "start", cfg, "--ignore-check", "--runs-root", str(tmp_path / "runs")]) == 1
    assert "the config has" in capsys.readouterr().err
    with pytest.raises(L.RunError, match="the config has"):
        launch(cfg, str(tmp_path / "runs"), worker_cmd=FAKE)
    assert everything(tmp_path) == before  # no run folder, no evil.safetensors anywhere


def test_resume_and_the_worker_check_the_frozen_config_again(tmp_path):
    run_dir = create_run(config(tmp_path / "cfg"), str(tmp_path / "runs"), worker_cmd=FAKE)
    frozen = Path(run_dir, L.CONFIG)
    frozen.write_text(frozen.read_text().replace("max_steps = 0", "max_steps = -5"))
    with pytest.raises(L.RunError, match="max_steps"):
        start(run_dir)
    from loratui.train.spec import load_run_spec

    with pytest.raises(ConfigError, match="max_steps"):  # the worker itself refuses (TUI launches too)
        load_run_spec(run_dir)


def test_deeply_nested_toml_is_a_config_error(tmp_path, capsys):
    p = tmp_path / "deep.toml"
    p.write_text("schema_version = 1\nx = " + "[" * 50_000 + "]" * 50_000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        TrainConfig.load(str(p))
    assert main(["config", "check", str(p)]) != 0
    assert "Traceback" not in capsys.readouterr().err


def test_lora_files_always_land_inside_output_dir(tmp_path):
    from loratui.dataset.safe_paths import UnsafePath
    from loratui.train.trainer import lora_filename

    ok = lora_filename(SimpleNamespace(output_name="mine", output_dir=str(tmp_path)), 3)
    assert ok == str(tmp_path / "mine-000003.safetensors")
    for name in ("../evil", "/abs", "a/../../b"):
        with pytest.raises(UnsafePath):
            lora_filename(SimpleNamespace(output_name=name, output_dir=str(tmp_path)), None)


def test_run_records_name_only_signed_worker_commands(tmp_path):
    default = [sys.executable, *L.WORKER_CMD]
    hostile = {"worker": ["sh", "-c", f"touch {tmp_path}/pwned"], "gpu": "0; rm -rf ~"}
    cmd, note = L.trusted_worker(hostile)
    assert cmd == default and "did not write" in note
    assert L.trusted_gpu(hostile) is None
    signed = {"worker": FAKE, "worker_sig": L.sign_worker(FAKE), "gpu": "1"}
    assert L.trusted_worker(signed) == (FAKE, "") and L.trusted_gpu(signed) == "1"
    forged = {"worker": ["sh"], "worker_sig": L.sign_worker(FAKE)}
    assert L.trusted_worker(forged)[0] == default


def test_hostile_run_record_never_runs_its_command(tmp_path):
    """A run folder shipped inside a dataset, resumed: the supervisor runs the standard worker."""
    import subprocess

    run_dir = create_run(config(tmp_path / "cfg"), str(tmp_path / "runs"), worker_cmd=FAKE)
    rec = L.read_json(os.path.join(run_dir, L.RECORD))
    rec["worker"] = ["sh", "-c", f"touch {tmp_path}/pwned"]
    rec["launches"] = [{"t": 1, "token": "x", "fresh": False}]
    L.write_json(os.path.join(run_dir, L.RECORD), rec)
    p = subprocess.run([sys.executable, "-c", "import sys; from loratui.runs.supervisor import main; "
                        "import os; os.fork = None; del os.fork; sys.exit(main(sys.argv[1:]))", run_dir, "x"],
                       capture_output=True, text=True, timeout=120, cwd=run_dir)
    assert not (tmp_path / "pwned").exists()
    assert "did not write" in p.stdout
