"""The demo passes its own health check: `c` then F10 (or `loratui train` on its config) launches
without the override. Triggers are per subset: the background subset is not asked for the
character's trigger word."""

from __future__ import annotations

import os

from loratui.check import CheckOptions, check_folder, launch_gate, pre_launch_check
from loratui.config import TrainConfig
from loratui.demo import TRAIN_CONFIG, create_demo, write_demo_config

from .helpers import character_dataset, save


def demo_config(tmp_path) -> TrainConfig:
    root = create_demo(str(tmp_path / "demo"))
    model = tmp_path / "demo" / "models" / "tiny"
    model.mkdir(parents=True)  # the check reads the dataset, not the model
    path = os.path.join(root, TRAIN_CONFIG)
    write_demo_config(root, str(model), path, str(tmp_path / "demo" / "output"))
    return TrainConfig.load(path)


def test_demo_config_launches_without_override(tmp_path):
    cfg = demo_config(tmp_path)
    report = pre_launch_check(cfg)
    assert report.errors == [], [f.message for f in report.errors]
    ok, message = launch_gate(report, override=False)
    assert ok, message
    codes = {f.code for f in report.findings}
    assert "trigger-missing" not in codes
    assert report.stats["triggers"] == {"10_demo_char": {"word": "demo_char", "source": "config"}}
    note = next(f for f in report.findings if f.code == "subset-without-trigger")
    assert "4_demo_bg" in note.message and note.level == "note"


def test_each_subset_is_judged_by_its_own_trigger(tmp_path):
    root = character_dataset(tmp_path / "ds", n=6)
    for i in range(4):  # a second concept, with its own class token as its trigger
        save(root, f"5_otherchar/o{i}.png", seed=50 + i, caption=f"otherchar, 1boy, pose{i}")
    for i in range(4):  # backgrounds: no trigger at all
        save(root, f"2_bg/b{i}.png", seed=80 + i, caption=f"scenery, no humans, sky{i}")
    for i in range(3):  # the configured trigger forgotten in the subset named after it
        save(root, f"3_mychar extra/x{i}.png", seed=90 + i, caption=f"1girl, solo, extra{i}")
    report = check_folder(str(root), CheckOptions(trigger_words=["mychar"]))
    triggers = report.stats["triggers"]
    assert triggers["10_mychar"] == {"word": "mychar", "source": "config"}
    assert triggers["5_otherchar"]["word"] == "otherchar"
    assert "2_bg" not in triggers
    assert triggers["3_mychar extra"] == {"word": "mychar", "source": "config"}
    missing = [f for f in report.findings if f.code == "trigger-missing"]
    assert len(missing) == 1 and "3_mychar extra" in missing[0].message and missing[0].level == "error"
    note = next(f for f in report.findings if f.code == "subset-without-trigger")
    assert "2_bg" in note.message and "otherchar" not in note.message


def test_a_configured_trigger_in_no_caption_is_missing_everywhere(tmp_path):
    root = tmp_path / "ds"
    for i in range(4):
        save(root, f"10_char/c{i}.png", seed=i, caption=f"1girl, solo, pose{i}")
    report = check_folder(str(root), CheckOptions(trigger_words=["mychar"]))
    missing = [f for f in report.findings if f.code == "trigger-missing"]
    assert len(missing) == 1 and missing[0].level == "error" and "`mychar`" in missing[0].message
