"""`loratui --help` and every command that does not train must not import the heavy libraries."""

import json
import subprocess
import sys

import pytest

HEAVY = ["torch", "diffusers", "peft", "transformers", "onnxruntime", "accelerate"]

PROBE = """
import json, sys, contextlib, io
from loratui.cli.main import main
argv = json.loads(sys.argv[1])
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        main(argv)
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in set(json.loads(sys.argv[3])))))
"""


def loaded(argv, extra_imports=()):
    p = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(list(extra_imports)),
                        json.dumps(HEAVY)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def command_names():
    from loratui.cli.main import COMMANDS

    return [name for name, _ in COMMANDS if name not in ("train",)]


def test_top_level_help_is_light():
    assert loaded(["--help"]) == []


@pytest.mark.parametrize("name", command_names())
def test_every_non_training_command_help_is_light(name):
    assert loaded([name, "--help"]) == []


def test_dataset_commands_are_light(tmp_path):
    (tmp_path / "1_a").mkdir()
    (tmp_path / "1_a" / "x.png").write_bytes(b"")
    (tmp_path / "1_a" / "x.txt").write_text("a, b")
    assert loaded(["stats", str(tmp_path)]) == []
    assert loaded(["tags", str(tmp_path), "--rename", "a=c"]) == []
    assert loaded(["undo", str(tmp_path)]) == []
    # the demo builds its tiny torch model in a subprocess: this process stays light
    assert loaded(["demo", "--path", str(tmp_path / "demo"), "--no-open"]) == []


def test_tui_app_import_is_light():
    code = ("import json, sys, loratui.tui.app; print(json.dumps(sorted(m for m in sys.modules "
            f"if m.split('.')[0] in {HEAVY!r})))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1]) == []
