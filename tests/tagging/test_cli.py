from __future__ import annotations

import subprocess
import sys

from loratui.cli.main import main

from .conftest import caption, make_tag_dataset


def test_tag_command(tmp_path, model_dir, capsys):
    root = make_tag_dataset(tmp_path / "ds", captioned={0: "mine"})
    rc = main(["tag", str(root), "--model-dir", model_dir, "--first", "mychar", "--threshold", "0.5", "-q"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "5 caption(s) written" in out.out and "1 skipped" in out.out and "top new tags:" in out.out
    assert "on CPU" in out.out and "loratui undo" in out.out
    assert caption(root, 0) == "mine" and caption(root, 1).startswith("mychar, ")
    rc = main(["undo", str(root)])
    assert rc == 0 and caption(root, 1) is None


def test_tag_progress_without_a_tty(tmp_path, model_dir, capsys):
    root = make_tag_dataset(tmp_path / "ds")
    assert main(["tag", str(root), "--model-dir", model_dir, "--overwrite", "--preset", "mcut"]) == 0
    err = capsys.readouterr().err
    assert "loading model" in err and "img/s" in err and "100%" in err


def test_tag_where_and_bad_images(tmp_path, model_dir, capsys):
    root = make_tag_dataset(tmp_path / "ds", n=3, captioned={0: "x"})
    (root / "10_char" / "broken.png").write_bytes(b"\x89PNG\r\n")
    rc = main(["tag", str(root), "--model-dir", model_dir, "--where", "no-caption", "-q"])
    out = capsys.readouterr()
    assert rc == 3 and "broken.png" in out.err and "1 failed" in out.out
    assert caption(root, 0) == "x" and caption(root, 1)


def test_tag_errors(tmp_path, model_dir, capsys, monkeypatch):
    monkeypatch.setenv("LORATUI_MODELS_DIR", str(tmp_path / "models"))
    root = make_tag_dataset(tmp_path / "ds", n=1)
    assert main(["tag", str(root), "--model", "vit-v3", "-q"]) == 1
    assert "loratui models get vit-v3" in capsys.readouterr().err
    assert main(["tag", str(root), "--model-dir", model_dir, "--threshold", "2"]) == 2
    assert main(["tag", str(root), "--model-dir", model_dir, "--replace", "nope"]) == 2
    assert main(["tag", str(root), "--model-dir", model_dir, "--where", "(("]) == 2
    assert main(["tag", str(tmp_path / "missing"), "--model-dir", model_dir]) == 2
    assert caption(root, 0) is None


def test_models_command(tmp_path, monkeypatch, capsys, model_dir):
    import shutil

    monkeypatch.setenv("LORATUI_MODELS_DIR", str(tmp_path / "models"))
    shutil.copytree(model_dir, tmp_path / "models" / "moat-v2")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "eva02-large-v3" in out and "not downloaded" in out
    assert [ln for ln in out.splitlines() if "moat-v2" in ln][0].find("downloaded") > 0
    assert main(["models", "path", "moat-v2"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "models" / "moat-v2")
    assert main(["models", "get", "vit-v3"]) == 1
    err = capsys.readouterr().err
    assert "model.onnx" in err and "huggingface.co/SmilingWolf/wd-vit-tagger-v3" in err
    assert main(["models", "get"]) == 2


def test_no_onnxruntime_at_import_or_help():
    code = (
        "import sys, io, contextlib\n"
        "from loratui.cli.main import main\n"
        "for argv in (['--help'], ['tag', '--help'], ['models', '--help']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        try:\n"
        "            main(argv)\n"
        "        except SystemExit:\n"
        "            pass\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['models'])\n"
        "import loratui.tagging, loratui.tagging.run\n"
        "bad = [m for m in ('onnxruntime', 'onnx') if m in sys.modules]\n"
        "print(bad)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
