"""The dialog's form rules and the caption editor's confidence helper, without a UI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from loratui.dataset import Dataset
from loratui.tagging import TaggingOptions, run_tagging
from loratui.tui.dialogs.tagging_form import (
    build_options,
    parse_pairs,
    preset_values,
    split_tags,
    trigger_words,
    untagged_count,
)
from loratui.tui.services import tag_confidence
from loratui.tui.services.tag_confidence import TagConfidences, confidence_text

from .conftest import make_dataset


def test_split_and_pairs():
    assert split_tags(" a, b ,, a , c ") == ["a", "b", "c"]
    assert parse_pairs("a=b, c= , d = e f") == [("a", "b"), ("c", ""), ("d", "e f")]
    with pytest.raises(ValueError, match="`x`"):
        parse_pairs("a=b, x")
    with pytest.raises(ValueError, match="empty"):
        parse_pairs("=b")


def test_build_options_mirrors_the_cli_defaults():
    opts, errors = build_options({"general": "0.35", "character": "0.85"})
    assert errors == {}
    assert opts == TaggingOptions()
    opts, errors = build_options({"model-dir": " /m ", "general": "0.3", "character": "0.9", "mode": "append",
                                  "always-first": "sks, dog", "undesired": "watermark", "replace": "a=b",
                                  "batch": "8", "rating": True, "characters-first": False, "underscores": False,
                                  "escape": True, "require-gpu": True, "use-cache": False, "fast-decode": True})
    assert errors == {}
    s = opts.select
    assert (opts.model_dir, opts.mode, opts.batch, opts.require_gpu, opts.use_cache, opts.fast_decode) == \
        ("/m", "append", 8, True, False, True)
    assert (s.general_threshold, s.character_threshold, s.always_first, s.undesired, s.replace) == \
        (0.3, 0.9, ["sks", "dog"], ["watermark"], [("a", "b")])
    assert (s.rating, s.characters_first, s.underscores_to_spaces, s.escape_brackets) == (True, False, False, True)


def test_build_options_errors_name_the_field():
    opts, errors = build_options({"general": "", "character": "2", "batch": "x"})
    assert opts is None and set(errors) == {"general", "character", "batch"}
    assert "MCut" in errors["general"]


def test_presets_reset_only_their_fields():
    assert preset_values("default") == {"general": "0.35", "character": "0.85", "general-mcut": False,
                                        "character-mcut": False, "rating": False, "characters-first": True}
    assert preset_values("style")["character"] == "1"


def test_trigger_words_and_untagged(tmp_path):
    root = make_dataset(tmp_path / "ds", n=3, captioned={0: "x"}, bg=1)
    ds = Dataset.open(str(root))
    assert trigger_words(ds, None) == ["mychar", "bg"]  # subset order
    char = [e.id for e in ds.images if e.path.startswith("10_")]
    assert trigger_words(ds, char) == ["mychar"]
    assert untagged_count(ds, char) == 2


def test_confidence_text():
    assert confidence_text(None) == ""
    assert confidence_text(0.873) == "87%"
    assert confidence_text(0.004) == "<1%"
    assert confidence_text(1.0) == "100%"


def test_cache_location_matches_the_tagger():
    from loratui.tagging import cache, kept_paths

    assert (kept_paths.CACHE_DIR, kept_paths.CACHE_FILE) == (cache.CACHE_DIR, cache.CACHE_FILE)
    assert not hasattr(tag_confidence, "sqlite3"), "the cache's SQL lives in the tagging package"


def test_confidences_unknown_before_tagging_and_known_after(tmp_path, standin_dir):
    root = make_dataset(tmp_path / "ds", captioned={0: "mychar, hand tag"})
    ds = Dataset.open(str(root))
    conf = TagConfidences()
    assert conf.get(ds, 1) == {}
    assert conf.lookup(ds, 1, ["a", "b"]) == [None, None]
    assert not os.path.exists(root / ".loratui" / "tagger"), "looking never creates the cache"

    opts = TaggingOptions(model_dir=standin_dir)
    opts.select.always_first = ["mychar"]
    s = run_tagging(ds, opts)
    assert s.tagged == 5
    tags = ds.images[1].tags
    values = conf.lookup(ds, 1, tags)
    assert values[0] is None, "the trigger word was not predicted"
    assert all(isinstance(v, float) and v > opts.select.general_threshold for v in values[1:] if v is not None)
    assert sum(v is not None for v in values[1:]) == len(tags) - 1
    first = conf.get(ds, 1)
    assert conf.get(ds, 1) is first, "cached while the probability file is unchanged"
    assert conf.get(ds, 0) == {}, "skipped image: never run through the model"

    # another run (over the hand-captioned image) updates the file: the cache follows
    opts.mode = "overwrite"
    opts.use_cache = False
    run_tagging(ds, opts, [0])
    assert conf.get(ds, 0) != {}


def test_importing_the_dialog_pulls_no_heavy_libraries():
    code = ("import sys, loratui.tui.dialogs.tagging, loratui.tui.dialogs.tagging_progress, loratui.tui.services.tag_confidence;"
            "heavy = [m for m in ('numpy', 'onnxruntime', 'onnx', 'huggingface_hub', 'torch', 'PIL') if m in sys.modules];"
            "print(heavy); sys.exit(1 if heavy else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
