from __future__ import annotations

import importlib.util

import pytest

from loratui.check import CheckOptions, check_dataset, check_folder
from loratui.check.tokens import ClipCounter, EstimatedCounter
from loratui.dataset import Dataset

from .helpers import character_dataset


def _move_trigger(i, tags):
    if i == 3:
        return tags[1:] + ["mychar"]
    if i == 4:
        return tags[1:]
    return tags


def test_trigger_missing_and_not_first_with_fixes(tmp_path):
    character_dataset(tmp_path, 20, extra=_move_trigger)
    ds = Dataset.open(str(tmp_path))
    r = check_dataset(ds)
    missing = r.find("trigger-missing")[0]
    assert missing.paths == ["10_mychar/img004.txt"] and missing.level == "warning"
    late = r.find("trigger-not-first")[0]
    assert late.paths == ["10_mychar/img003.txt"]
    assert "inferred" in missing.hint
    late.fix.apply(ds)
    missing.fix.apply(ds)
    assert (tmp_path / "10_mychar/img003.txt").read_text().startswith("mychar, ")
    assert (tmp_path / "10_mychar/img004.txt").read_text().startswith("mychar, ")
    r = check_dataset(ds)
    assert not r.find("trigger-missing") and not r.find("trigger-not-first")
    assert ds.undo() is not None  # journaled: undoable


def test_configured_trigger_missing_everywhere_is_an_error(tmp_path):
    character_dataset(tmp_path, 20)
    r = check_folder(str(tmp_path), CheckOptions(trigger_words=["otherchar"]))
    f = r.find("trigger-missing")[0]
    assert f.level == "error" and len(f.paths) == 20


def test_keep_tokens_window(tmp_path):
    character_dataset(tmp_path, 20, extra=lambda i, t: [t[1], t[0], *t[2:]] if i == 0 else t)
    r = check_folder(str(tmp_path), CheckOptions(keep_tokens=2))
    assert not r.find("trigger-not-first")
    r = check_folder(str(tmp_path), CheckOptions(keep_tokens=1))
    assert r.find("trigger-not-first")[0].paths == ["10_mychar/img000.txt"]


def test_caption_length_brackets_estimate_says_so(tmp_path):
    long_tags = [f"very descriptive tag number {k}" for k in range(30)]
    character_dataset(tmp_path, 20, extra=lambda i, t: t + long_tags[: [0, 10, 20, 30][i % 4]] if i < 4 else t)
    r = check_folder(str(tmp_path))
    assert r.stats["token_counter"] == "estimate"
    over = {c: r.find(c) for c in ("caption-over-75", "caption-over-150", "caption-over-225")}
    assert over["caption-over-75"][0].paths == ["10_mychar/img001.txt"]
    assert over["caption-over-150"][0].paths == ["10_mychar/img002.txt"]
    assert over["caption-over-225"][0].paths == ["10_mychar/img003.txt"]
    assert "estimated" in over["caption-over-75"][0].message


def test_estimate_is_close_to_clip_on_common_tags():
    est = EstimatedCounter()
    assert est.count_tags(["1girl", "solo", "long hair"]) == 7  # 1 girl , solo , long hair (as CLIP)
    assert est.count_tags([]) == 0


@pytest.mark.skipif(importlib.util.find_spec("transformers") is None, reason="transformers not installed")
def test_exact_counter_matches_transformers_clip_tokenizer(tmp_path):
    from loratui.train.tiny_model import write_tiny_tokenizer

    folder = tmp_path / "tokenizer"
    write_tiny_tokenizer(str(folder))
    from transformers import CLIPTokenizer

    tok = CLIPTokenizer.from_pretrained(str(folder), local_files_only=True)
    counter = ClipCounter(str(folder / "merges.txt"))
    for tags in (["the", "then", "winner"], ["1girl", "long hair", "(masterpiece:1.2)"], ["^_^", "o_o", "blue eyes"],
                 ["Thé café", "中文", "don't"], ["hello world"]):
        assert counter.count_tags(tags) == len(tok(", ".join(tags), add_special_tokens=False)["input_ids"]), tags


def test_near_identical_typos_and_plurals_with_merge_fix(tmp_path):
    def extra(i, t):
        if i == 0:
            return t + ["blonde_hair"]
        if i == 1:
            return t + ["blnde hair"]
        if i == 2:
            return t + ["flowers"]
        return t + (["blonde hair"] if i < 15 else []) + (["flower"] if i % 2 else [])

    character_dataset(tmp_path, 20, extra=extra)
    ds = Dataset.open(str(tmp_path))
    r = check_dataset(ds)
    same = r.find("near-identical-tags")[0]
    assert "`blonde hair`" in same.message and "`blonde_hair`" in same.message
    assert same.fix.renames == [("blonde_hair", "blonde hair")]
    plural = r.find("plural-tags")[0]
    assert plural.level == "note" and plural.fix.renames == [("flowers", "flower")]
    typo = r.find("tag-typos")[0]
    assert typo.fix.renames == [("blnde hair", "blonde hair")]
    same.fix.apply(ds)
    typo.fix.apply(ds)
    assert ds.index.count("blonde hair") == 12 + 2
    assert "blnde hair" not in ds.index and "blonde_hair" not in ds.index


def test_known_vocabulary_tag_is_not_a_typo(tmp_path):
    character_dataset(tmp_path, 20, extra=lambda i, t: t + (["blonde hair"] if i > 3 else ["blond hair"] if i == 0 else []))
    r = check_folder(str(tmp_path), CheckOptions(vocabulary=None))
    r2 = check_folder(str(tmp_path), CheckOptions(vocabulary={"blond hair", "blonde hair"}))
    assert not r2.find("tag-typos")
    assert "blond hair" in r2.find("tags-used-once")[0].detail
    assert r.find("tag-typos") or r.find("tags-used-once")


def test_conflicting_tags_in_one_caption(tmp_path):
    character_dataset(tmp_path, 20, extra=lambda i, t: t + (["short hair", "long hair"] if i == 5 else
                                                              ["indoors", "outdoors"] if i == 6 else []))
    r = check_folder(str(tmp_path))
    conf = r.find("conflicting-tags")
    paths = {p for f in conf for p in f.paths}
    assert paths == {"10_mychar/img005.txt", "10_mychar/img006.txt"}
    # the helper's captions hold both `indoors`-less images and `outdoors`-less: no false positives
    assert all(len(f.paths) == 1 for f in conf)


def test_config_base_model_tokenizer_gives_exact_counts(tmp_path):
    from loratui.config import SubsetConfig, TrainConfig
    from loratui.train.tiny_model import write_tiny_tokenizer

    write_tiny_tokenizer(str(tmp_path / "model" / "tokenizer"))
    character_dataset(tmp_path / "ds", 20)
    cfg = TrainConfig()
    cfg.base_dir = str(tmp_path)
    cfg.model.base = "model"
    cfg.dataset.root = "ds"
    cfg.dataset.subsets = [SubsetConfig("10_mychar", 10)]
    r = check_folder(str(tmp_path / "ds"), CheckOptions.from_config(cfg, root=str(tmp_path / "ds")))
    assert r.stats["token_counter"] == "exact"
    assert r.stats["token_source"].endswith("model/tokenizer/merges.txt")
