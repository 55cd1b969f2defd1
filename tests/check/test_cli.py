from __future__ import annotations

import json
import subprocess
import sys

from loratui.cli.main import main

from .helpers import character_dataset


def _run(capsys, *argv):
    rc = main(["check", *argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_clean_dataset_exits_zero_grouped_report(tmp_path, capsys):
    character_dataset(tmp_path, 20)
    rc, out, _ = _run(capsys, str(tmp_path))
    assert rc == 0
    assert "Counts and steps" in out and "0 errors" in out


def test_errors_exit_nonzero_and_json(tmp_path, capsys):
    character_dataset(tmp_path, 20)
    (tmp_path / "10_mychar" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    rc, out, _ = _run(capsys, str(tmp_path))
    assert rc == 1 and "broken.png" in out and "error" in out
    rc, out, _ = _run(capsys, str(tmp_path), "--json")
    d = json.loads(out)
    assert rc == 1 and d["errors"] == 1 and d["blocks_launch"] is True
    assert d["findings"][0]["level"] in ("error", "warning", "note")
    assert any(f["code"] == "corrupt-image" and f["paths"] == ["10_mychar/broken.png"] for f in d["findings"])


def test_missing_folder_and_bad_config_are_usage_errors(tmp_path, capsys):
    rc, _, err = _run(capsys, str(tmp_path / "nope"))
    assert rc == 2 and "nope" in err
    bad = tmp_path / "bad.toml"
    bad.write_text("[dataset]\nnot_a_key = 1\n")
    rc, _, err = _run(capsys, str(tmp_path), "--config", str(bad))
    assert rc == 2 and "bad.toml" in err


def test_config_supplies_root_trigger_and_steps(tmp_path, capsys):
    character_dataset(tmp_path / "ds", 20)
    cfg = tmp_path / "run.toml"
    cfg.write_text('schema_version = 1\n[dataset]\nroot = "ds"\nkeep_tokens = 1\n[[dataset.subsets]]\nimage_dir = "10_mychar"\n'
                   'repeats = 10\n[output]\ntrigger_words = ["otherchar"]\n', encoding="utf-8")
    rc, out, _ = _run(capsys, "--config", str(cfg))
    assert rc == 1  # the configured trigger is in no caption
    assert "`otherchar` missing from 20 captions" in out
    assert "200 steps per epoch" in out
    rc, out, _ = _run(capsys, "--config", str(cfg), "--trigger", "mychar")
    assert rc == 0


def test_exclude_and_restore_duplicates(tmp_path, capsys):
    import shutil

    character_dataset(tmp_path, 20)
    shutil.copy(tmp_path / "10_mychar" / "img000.png", tmp_path / "10_mychar" / "dup.png")
    rc, out, _ = _run(capsys, str(tmp_path), "--exclude-duplicates")
    assert "moved 1 duplicate" in out
    assert (tmp_path / ".loratui" / "excluded" / "10_mychar" / "dup.png").exists()
    rc, out, _ = _run(capsys, str(tmp_path))
    assert "identical" not in out
    rc, out, _ = _run(capsys, str(tmp_path), "--restore-excluded")
    assert "restored 1 file" in out and (tmp_path / "10_mychar" / "dup.png").exists()
    assert "identical" in out


def test_check_help_and_run_import_no_heavy_libraries(tmp_path):
    character_dataset(tmp_path, 3)
    code = ("import json, sys, contextlib, io\nfrom loratui.cli.main import main\n"
            "for argv in (['check', '--help'], ['check', sys.argv[1], '--json']):\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            "        try: main(argv)\n        except SystemExit: pass\n"
            "heavy = ['torch', 'diffusers', 'transformers', 'onnxruntime', 'accelerate', 'peft', 'textual']\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))")
    p = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1]) == []


def test_check_package_imports_no_pillow_or_numpy_at_import(tmp_path):
    code = "import sys, loratui.check; print(sorted(m for m in ('PIL', 'numpy', 'torch', 'textual') if m in sys.modules))"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"
