"""The real `loratui` CLI in a subprocess: output, exit codes, files on disk."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.dataset.helpers import make_dataset, read, simple_dataset


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "loratui", *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def test_stats_text_and_json(tmp_path):
    simple_dataset(tmp_path)
    (tmp_path / "10_mychar" / "nocap.png").write_bytes(b"")
    p = cli("stats", tmp_path)
    assert p.returncode == 0, p.stderr
    assert "images    8 (7 with a caption, 1 without)" in p.stdout
    # the zero-byte nocap.png is listed but is not a training image (one definition everywhere)
    assert "training  7 images; 1 empty or unreadable" in p.stdout
    assert "10_mychar  repeats  10  images      6 (+1 unreadable)" in p.stdout
    assert "no-caption" not in p.stdout and "10_mychar/nocap.png: no caption file" in p.stdout
    j = json.loads(cli("stats", tmp_path, "--json").stdout)
    assert j["images"] == 8 and j["training_images"] == 7 and j["images_x_repeats"] == 6 * 10 + 4
    assert j["not_training"] == ["10_mychar/nocap.png"]
    assert j["top_tags"][0] == {"tag": "1girl", "count": 6}


def test_tags_list_and_where(tmp_path):
    simple_dataset(tmp_path)
    p = cli("tags", tmp_path, "--top", "2")
    assert p.stdout.split("\n")[:2] == ["      6  1girl", "      6  blonde hair"]
    p = cli("tags", tmp_path, "--where", "solo", "--by-name")
    assert "      3  solo" in p.stdout and "multiple girls" not in p.stdout


def test_bulk_edit_dry_run_then_apply_then_undo_redo(tmp_path):
    simple_dataset(tmp_path)
    before = read(tmp_path, "10_mychar/img01.txt")
    p = cli("tags", tmp_path, "--rename", "blonde hair=yellow hair", "--dry-run")
    assert p.returncode == 0
    assert p.stdout.startswith("would rename `blonde hair` -> `yellow hair` in 6 files")
    assert "10_mychar/img01.txt: -'blonde hair' +'yellow hair'" in p.stdout
    assert read(tmp_path, "10_mychar/img01.txt") == before

    p = cli("tags", tmp_path, "--where", "solo", "--add", "alone", "--front", "--remove", "pose1")
    assert p.returncode == 0, p.stderr
    assert "remove `pose1`: 1 file written (of 3 images matching 'solo')" in p.stdout
    assert "add `alone` at the front: 3 files written" in p.stdout
    assert read(tmp_path, "10_mychar/img01.txt") == b"alone, mychar, 1girl, solo, blonde hair"

    p = cli("undo", tmp_path, "--list")
    assert "*   2  add `alone` at the front" in p.stdout
    assert cli("undo", tmp_path).returncode == 0
    assert cli("undo", tmp_path).returncode == 0
    assert read(tmp_path, "10_mychar/img01.txt") == before
    p = cli("undo", tmp_path)
    assert p.returncode == 1 and "nothing to undo" in p.stderr
    assert cli("redo", tmp_path).returncode == 0
    assert b"pose1" not in read(tmp_path, "10_mychar/img01.txt")


def test_sort_dedupe_move_front(tmp_path):
    make_dataset(tmp_path, {"1_a/x.png": None, "1_a/x.txt": "c, trig, a, b, a_b, a b"})
    assert cli("tags", tmp_path, "--dedupe").returncode == 0
    assert read(tmp_path, "1_a/x.txt") == b"c, trig, a, b, a_b"
    cli("tags", tmp_path, "--move-front", "trig")
    cli("tags", tmp_path, "--sort", "alpha", "--keep-first", "1")
    assert read(tmp_path, "1_a/x.txt") == b"trig, a, a_b, b, c"
    cli("tags", tmp_path, "--replace", "^a_b$=ab")
    assert read(tmp_path, "1_a/x.txt") == b"trig, a, ab, b, c"


def test_errors_are_messages_with_exit_codes(tmp_path):
    simple_dataset(tmp_path)
    p = cli("stats", tmp_path / "missing")
    assert p.returncode == 2 and "no such folder" in p.stderr and "Traceback" not in p.stderr
    p = cli("tags", tmp_path, "--where", "(solo")
    assert p.returncode == 2 and "--where" in p.stderr and "Traceback" not in p.stderr
    p = cli("tags", tmp_path, "--rename", "nonsense")
    assert p.returncode == 2 and "expected OLD=NEW" in p.stderr
    p = cli("tags", tmp_path, "--replace", "(=x")
    assert p.returncode == 2 and "invalid regular expression" in p.stderr
    p = cli("tags", tmp_path, "--remove", "blonde_hair")
    assert "did you mean 'blonde hair'" in p.stderr
    os.chmod(tmp_path / "4_bg/bg0.txt", 0o444)
    p = cli("tags", tmp_path, "--add", "x")
    assert p.returncode == 3 and "refused 4_bg/bg0.txt" in p.stderr and "read-only" in p.stderr


def test_help_everywhere():
    from loratui.cli.main import COMMANDS

    assert cli("--help").returncode == 0
    for name, _ in COMMANDS:
        p = cli(name, "--help")
        assert p.returncode == 0 and "usage: loratui " + name in p.stdout, name


def test_demo_workspace_created_once(tmp_path):
    p = cli("demo", "--path", tmp_path / "demo", "--no-open")
    assert p.returncode == 0, p.stderr
    root = Path(p.stdout.strip())
    from loratui.dataset import Dataset

    ds = Dataset.open(root)
    assert [(s.path, s.repeats) for s in ds.subsets] == [("10_demo_char", 10), ("4_demo_bg", 4)]
    assert 20 <= len(ds.images) <= 30 and all(e.has_caption for e in ds.images)
    sizes = {ds.pixel_size(e) for e in ds.images}
    assert len(sizes) >= 8 and all(s is not None for s in sizes)
    assert {e.path.rsplit(".", 1)[1] for e in ds.images} >= {"png", "jpg", "webp"}
    # a second call keeps the user's edits
    (root / "10_demo_char/char_01.txt").write_text("mine")
    cli("demo", "--path", root, "--no-open")
    assert (root / "10_demo_char/char_01.txt").read_text() == "mine"


def test_demo_ships_a_tiny_model_and_a_valid_training_config(tmp_path):
    p = cli("demo", "--path", tmp_path / "demo", "--no-open")
    assert p.returncode == 0, p.stderr
    root = Path(p.stdout.strip())
    assert root.name == "dataset"
    assert (root.parent / "models/tiny-sd-random/model_index.json").is_file()
    from loratui.config import TrainConfig, step_math, validate

    cfg = TrainConfig.load(str(root / "loratui-train.toml"))
    assert [f for f in validate(cfg) if f.is_error] == []
    assert cfg.model.base == str(root.parent / "models/tiny-sd-random")
    assert cfg.output.dir == str(root.parent / "output")
    assert "RANDOM-WEIGHT" in cfg.output.description
    assert step_math(cfg).total_steps < 200  # small enough to finish in about a minute on a CPU
    p = cli("stats", root)
    assert "problems" not in p.stdout  # the model and outputs live beside the dataset, not in it


def test_demo_without_model(tmp_path):
    p = cli("demo", "--path", tmp_path / "demo", "--no-open", "--no-model")
    assert p.returncode == 0, p.stderr
    assert not (tmp_path / "demo" / "dataset" / "loratui-train.toml").exists()


def test_bare_loratui_outside_a_dataset_explains_instead_of_scanning(tmp_path):
    (tmp_path / "notes").mkdir()
    p = cli(cwd=tmp_path)
    assert p.returncode == 0
    assert "usage: loratui" in p.stdout and "loratui demo" in p.stdout


def test_tags_add_normalize_follows_the_datasets_style(tmp_path):
    simple_dataset(tmp_path)  # captions use spaces: `blonde hair`
    p = cli("tags", tmp_path, "--where", "solo", "--add", "long_hair", "--add", "^_^", "--normalize")
    assert p.returncode == 0, p.stderr
    assert "'long_hair' written as 'long hair' (spaces)" in p.stderr and "^_^" not in p.stderr
    assert read(tmp_path, "10_mychar/img01.txt").endswith(b", long hair, ^_^")
    p = cli("tags", tmp_path, "--where", "solo", "--add", "x y", "--normalize", "underscores")
    assert p.returncode == 0, p.stderr
    assert read(tmp_path, "10_mychar/img01.txt").endswith(b", ^_^, x_y")
    p = cli("tags", tmp_path, "--where", "solo", "--add", "pony_tail")  # without the flag: as typed
    assert read(tmp_path, "10_mychar/img01.txt").endswith(b", x_y, pony_tail")
