"""kohya_ss's ``num_cpu_threads_per_process`` (accelerate launch's option, OMP_NUM_THREADS of the
training process) <-> loratui's ``hardware.cpu_threads``."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from loratui.config import export_kohya, import_kohya, import_kohya_ss_json
from loratui.config.kohya import flatten_config

from .helpers import ready_config


def test_gui_preset_threads_become_cpu_threads():
    res = import_kohya_ss_json(str(Path(__file__).parent / "fixtures" / "kohya_ss_gui_loha.json"))
    assert res.config.hardware.cpu_threads == 2
    assert "num_cpu_threads_per_process" not in {u.key for u in res.unmapped}
    assert any("hardware.cpu_threads = 2" in n for n in res.notes)


def test_gui_preset_bad_threads_are_reported_not_applied(tmp_path):
    data = json.loads((Path(__file__).parent / "fixtures" / "kohya_ss_gui_loha.json").read_text())
    for bad in ("many", -3, 1.5):
        data["num_cpu_threads_per_process"] = bad
        p = tmp_path / "preset.json"
        p.write_text(json.dumps(data))
        res = import_kohya_ss_json(str(p))
        assert res.config.hardware.cpu_threads == 0
        assert [u.value for u in res.unmapped if u.key == "num_cpu_threads_per_process"] == [bad]


def test_export_writes_threads_and_the_launch_line(tmp_path):
    cfg = ready_config(tmp_path)
    cfg.hardware.cpu_threads = 3
    written, _ = export_kohya(cfg, str(tmp_path / "k"))
    text = open(written[0]).read()
    assert tomllib.loads(text)["training_arguments"]["num_cpu_threads_per_process"] == 3
    assert "accelerate launch --num_cpu_threads_per_process 3 train_network.py" in text


def test_default_threads_export_nothing(tmp_path):
    cfg = ready_config(tmp_path)
    written, _ = export_kohya(cfg, str(tmp_path / "k"))
    text = open(written[0]).read()
    assert "num_cpu_threads_per_process" not in text
    assert import_kohya(written[0]).config.hardware.cpu_threads == 0


def test_round_trip_keeps_threads_even_without_loratui_comments(tmp_path):
    cfg = ready_config(tmp_path)
    cfg.hardware.cpu_threads = 5
    written, _ = export_kohya(cfg, str(tmp_path / "k"))
    back = import_kohya(written[0])
    assert back.config.hardware.cpu_threads == 5
    assert flatten_config(back.config.resolved()) == flatten_config(cfg.resolved())
    text = "".join(ln for ln in open(written[0]).readlines() if not ln.startswith("#"))
    open(written[0], "w").write(text)
    assert import_kohya(written[0]).config.hardware.cpu_threads == 5
