from __future__ import annotations

from loratui.check import CheckOptions, check_dataset, check_folder
from loratui.dataset import Dataset

from .helpers import character_dataset


def test_balanced_framing_is_a_note(tmp_path):
    character_dataset(tmp_path, 20)
    r = check_folder(str(tmp_path))
    mix = r.find("framing-mix")[0]
    assert mix.level == "note" and "face 5, upper body 5, cowboy shot 5, full body 5" in mix.message
    assert r.stats["character_subsets"] == ["10_mychar"]


def test_one_framing_dominating_and_no_face_shots(tmp_path):
    character_dataset(tmp_path, 20, framing=lambda i: "full body" if i < 17 else "upper body")
    r = check_folder(str(tmp_path))
    dom = r.find("framing-dominant")[0]
    assert "17 of 20" in dom.message and "full body" in dom.message and len(dom.image_ids) == 17
    assert r.find("no-face-shots")


def test_style_dataset_gets_no_character_advice(tmp_path):
    character_dataset(tmp_path, 20, framing=lambda i: "full body", traits=True)
    r = check_folder(str(tmp_path), CheckOptions(concept="style"))
    assert not r.find("framing-dominant") and not r.find("absorb-traits")


def test_not_a_character_when_captions_have_no_person(tmp_path):
    character_dataset(tmp_path, 20, extra=lambda i, t: ["scenery", "no humans", "sky"])
    r = check_folder(str(tmp_path))
    assert r.stats["character_subsets"] == [] and not r.find("framing-mix")


def test_trigger_absorption_prunes_fixed_traits_only(tmp_path):
    def extra(i, t):
        t = t + ["looking at viewer", "simple background"]
        return t + (["red eyes"] if i < 16 else ["closed eyes"])  # 80%: counts as constant

    character_dataset(tmp_path, 20, traits=True, extra=extra)
    ds = Dataset.open(str(tmp_path))
    r = check_dataset(ds)
    f = r.find("absorb-traits")[0]
    assert f.level == "warning"
    assert set(f.fix.tags) == {"blonde hair", "blue eyes", "red eyes"}
    assert "simple background" in f.detail[0]  # constant but not a trait: mentioned, kept
    assert "mychar" not in f.fix.tags and "1girl" not in f.fix.tags and "solo" not in f.fix.tags
    f.fix.apply(ds)
    text = (tmp_path / "10_mychar" / "img000.txt").read_text()
    assert "blonde hair" not in text and text.startswith("mychar, 1girl, solo")
    assert "simple background" in text
    assert not check_dataset(ds).find("absorb-traits")


def test_absorption_without_trigger_is_only_a_note(tmp_path):
    character_dataset(tmp_path, 20, traits=True, extra=lambda i, t: t[1:])
    r = check_folder(str(tmp_path))
    assert r.find("absorb-traits")[0].level == "note"
