from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest
from PIL import Image

from loratui.dataset import Dataset
from loratui.tagging import (
    ModelError,
    ModelFiles,
    SelectOptions,
    TaggingOptions,
    apply_preset,
    confidences,
    load_image,
    run_tagging,
    select_tags,
)
from loratui.tagging.cache import ProbCache
from loratui.tagging.session import Tagger

from .conftest import caption, make_tag_dataset, save_image


def opts(model_dir, **kw) -> TaggingOptions:
    sel = kw.pop("select", None) or SelectOptions()
    return TaggingOptions(model_dir=model_dir, select=sel, **kw)


def expected_tags(model_dir, path, sel=None) -> list[str]:
    """What the model + selection give for one image, computed without the run machinery."""
    t = Tagger.load(ModelFiles("x", model_dir))
    p = t.run(load_image(str(path), t.size)[None])[0]
    p[p < 0.01] = 0
    return [n for n, _ in select_tags(p, t.labels, sel or SelectOptions())]


def test_skip_mode_tags_only_untagged_images(tmp_path, model_dir):
    root = make_tag_dataset(tmp_path / "ds", captioned={1: "mine, hand tagged", 3: ""})
    ds = Dataset.open(str(root))
    s = run_tagging(ds, opts(model_dir))
    assert s.selected == 6 and s.skipped_captioned == 1 and s.tagged == 5 and not s.failed
    assert caption(root, 1) == "mine, hand tagged"
    for i in (0, 2, 3, 4, 5):
        want = expected_tags(model_dir, root / "10_char" / f"img{i:02d}.png")
        assert want, "the stand-in model should predict something"
        assert caption(root, i) == ", ".join(want)
        assert ds.images[i].tags == want  # the dataset in memory follows
    assert s.device == "CPU" and s.inferred == 5
    assert s.result is not None and s.result.image_ids == {0, 2, 3, 4, 5}
    entries, pos = ds.history()
    assert len(entries) == 1 and pos == 1 and entries[0].startswith("auto-tag 5 image(s)")


def test_outputs_differ_between_images(tmp_path, model_dir):
    root = make_tag_dataset(tmp_path / "ds")
    run_tagging(Dataset.open(str(root)), opts(model_dir, select=SelectOptions(general_threshold=0.5)))
    assert len({caption(root, i) for i in range(6)}) > 2


def test_fixed_batch_model_gives_the_same_captions(tmp_path, model_dir, fixed_model_dir):
    a = make_tag_dataset(tmp_path / "a", n=5)
    b = make_tag_dataset(tmp_path / "b", n=5)
    sa = run_tagging(Dataset.open(str(a)), opts(model_dir, batch=3))  # 5 images: last batch padded
    sb = run_tagging(Dataset.open(str(b)), opts(fixed_model_dir))
    assert sa.tagged == sb.tagged == 5
    assert [caption(a, i) for i in range(5)] == [caption(b, i) for i in range(5)]


def test_append_and_overwrite(tmp_path, model_dir):
    root = make_tag_dataset(tmp_path / "ds", n=2, captioned={0: "zzz, 1girl", 1: "keep me"})
    ds = Dataset.open(str(root))
    pred0 = expected_tags(model_dir, root / "10_char" / "img00.png")
    s = run_tagging(ds, opts(model_dir, mode="append"))
    assert s.tagged == 2
    assert caption(root, 0) == ", ".join(["zzz", "1girl"] + [t for t in pred0 if t != "1girl"])
    assert caption(root, 1).startswith("keep me, ")
    s = run_tagging(ds, opts(model_dir, mode="append"))
    assert s.tagged == 0 and s.unchanged == 2 and s.from_cache == 2 and s.inferred == 0
    s = run_tagging(ds, opts(model_dir, mode="overwrite"))
    assert caption(root, 0) == ", ".join(pred0)
    assert len(ds.history()[0]) == 2


def test_always_first_and_text_options(tmp_path, model_dir):
    root = make_tag_dataset(tmp_path / "ds", n=3, captioned={2: "a, mychar, b"})
    sel = SelectOptions(always_first=["mychar"], general_threshold=0.0, rating=True, undesired=["1girl"],
                        replace=[("solo", "alone")], escape_brackets=True, underscores_to_spaces=False)
    run_tagging(Dataset.open(str(root)), opts(model_dir, select=sel, mode="append"))
    for i in range(3):
        tags = caption(root, i).split(", ")
        assert tags[0] == "mychar" and tags.count("mychar") == 1
        assert "1girl" not in tags and "solo" not in tags and "alone" in tags
        assert "long_hair" in tags and "ke-ta_\\(artist\\)" in tags
        assert tags[1] in ("general", "sensitive", "questionable", "explicit") or i == 2
    assert caption(root, 2).startswith("mychar, a, b, ")


def test_where_selection_and_ids(tmp_path, model_dir):
    root = make_tag_dataset(tmp_path / "ds")
    ds = Dataset.open(str(root))
    s = run_tagging(ds, opts(model_dir), ids=[0, 2])
    assert s.selected == 2 and s.tagged == 2
    assert caption(root, 1) is None and caption(root, 0) and caption(root, 2)


def test_bad_images_are_listed_and_the_rest_tagged(tmp_path, model_dir):
    root = make_tag_dataset(tmp_path / "ds", n=3)
    d = root / "10_char"
    (d / "empty.png").write_bytes(b"")
    (d / "garbage.jpg").write_bytes(b"\xff\xd8\xff" + b"junk" * 50)
    good = (d / "img00.png").read_bytes()
    (d / "trunc.png").write_bytes(good[: len(good) // 2])
    Image.new("1", (20000, 20000)).save(d / "bomb.png")
    ds = Dataset.open(str(root))
    s = run_tagging(ds, opts(model_dir, batch=2))
    assert s.tagged == 3
    failed = {p.path.rsplit("/", 1)[-1]: p.message for p in s.failed}
    assert set(failed) == {"empty.png", "garbage.jpg", "trunc.png", "bomb.png"}
    assert "too large" in failed["bomb.png"] and "empty" in failed["empty.png"]
    assert not (d / "empty.txt").exists()


def test_shared_caption_is_tagged_once(tmp_path, model_dir):
    root = make_tag_dataset(tmp_path / "ds", n=1)
    save_image(root / "10_char" / "img00.jpg", (1, 2, 3), fmt="JPEG")
    s = run_tagging(Dataset.open(str(root)), opts(model_dir))
    assert s.tagged == 1 and [p.kind for p in s.failed] == ["shared-caption"]


def test_undo_reverts_the_whole_run(tmp_path, model_dir):
    root = make_tag_dataset(tmp_path / "ds", captioned={0: "old, tags"})
    ds = Dataset.open(str(root))
    run_tagging(ds, opts(model_dir, mode="overwrite"))
    assert caption(root, 0) != "old, tags"
    r = ds.undo()
    assert r is not None and len(r.written) == 6
    assert caption(root, 0) == "old, tags"
    assert all(caption(root, i) is None for i in range(1, 6))
    ds.redo()
    assert all(caption(root, i) for i in range(6))


def test_cancel_writes_what_was_done_and_a_rerun_continues(tmp_path, model_dir):
    root = make_tag_dataset(tmp_path / "ds")
    ref = make_tag_dataset(tmp_path / "ref")
    run_tagging(Dataset.open(str(ref)), opts(model_dir))
    ds = Dataset.open(str(root))
    cancel = threading.Event()
    seen = []

    def progress(p):
        seen.append(p)
        if p.phase == "tagging" and p.done >= 2:
            cancel.set()

    s = run_tagging(ds, opts(model_dir, batch=2, workers=1), progress=progress, cancel=cancel,
                    progress_interval=0)
    assert s.cancelled and 2 <= s.tagged < 6
    assert "stopped after" in ds.history()[0][0]
    done = s.tagged
    s2 = run_tagging(ds, opts(model_dir, batch=2))
    assert not s2.cancelled and s2.skipped_captioned == done and s2.tagged == 6 - done
    assert [caption(root, i) for i in range(6)] == [caption(ref, i) for i in range(6)]
    assert len(ds.history()[0]) == 2
    assert seen[-1].phase == "done"


def test_keyboard_interrupt_is_a_cancel(tmp_path, model_dir):
    root = make_tag_dataset(tmp_path / "ds")
    ds = Dataset.open(str(root))

    def progress(p):
        if p.phase == "tagging" and p.done >= 2:
            raise KeyboardInterrupt

    s = run_tagging(ds, opts(model_dir, batch=2, workers=1, mode="overwrite"), progress=progress,
                    progress_interval=0)
    assert s.cancelled and s.tagged >= 2
    # overwrite resumes from kept probabilities: nothing is run twice, nothing rewritten
    s2 = run_tagging(ds, opts(model_dir, mode="overwrite"))
    assert s2.from_cache == s.inferred and s2.inferred == 6 - s.inferred
    assert s2.unchanged == s.tagged and s2.tagged == 6 - s.tagged


def test_rethreshold_from_kept_probabilities_without_the_model(tmp_path, model_dir):
    root = make_tag_dataset(tmp_path / "ds")
    ds = Dataset.open(str(root))
    run_tagging(ds, opts(model_dir, select=SelectOptions(general_threshold=0.2)))
    before = [caption(root, i).split(", ") for i in range(6)]
    s = run_tagging(ds, opts(model_dir, mode="overwrite", select=SelectOptions(general_threshold=0.9)))
    assert s.inferred == 0 and s.from_cache == 6 and s.device == ""
    after = [caption(root, i).split(", ") if caption(root, i) else [] for i in range(6)]
    assert all(set(a) <= set(b) for a, b in zip(after, before)) and sum(map(len, after)) < sum(map(len, before))


def test_changed_image_is_run_again(tmp_path, model_dir):
    root = make_tag_dataset(tmp_path / "ds", n=2)
    ds = Dataset.open(str(root))
    run_tagging(ds, opts(model_dir))
    save_image(root / "10_char" / "img00.png", (5, 250, 5), size=(60, 20))
    s = run_tagging(ds, opts(model_dir, mode="overwrite"))
    assert s.inferred == 1 and s.from_cache == 1


def test_no_keep_probs_and_no_cache(tmp_path, model_dir):
    root = make_tag_dataset(tmp_path / "ds", n=2)
    ds = Dataset.open(str(root))
    run_tagging(ds, opts(model_dir, keep_probs=False, use_cache=False))
    assert not (root / ".loratui" / "tagger" / "probs.sqlite").exists()
    run_tagging(ds, opts(model_dir, mode="overwrite"))
    s = run_tagging(ds, opts(model_dir, mode="overwrite", use_cache=False))
    assert s.inferred == 2 and s.from_cache == 0


def test_confidences_for_the_caption_editor(tmp_path, model_dir):
    root = make_tag_dataset(tmp_path / "ds", n=2)
    ds = Dataset.open(str(root))
    assert confidences(ds, 0) == {}
    run_tagging(ds, opts(model_dir, select=SelectOptions(escape_brackets=True, general_threshold=0.0)))
    conf = confidences(ds, 0)
    for tag in ds.images[0].tags:
        from loratui.dataset import normalize_tag

        assert 0.0 < conf[normalize_tag(tag)] <= 1.0


def test_progress_reports_phases(tmp_path, model_dir):
    root = make_tag_dataset(tmp_path / "ds")
    seen = []
    run_tagging(Dataset.open(str(root)), opts(model_dir), progress=seen.append)
    phases = [p.phase for p in seen]
    assert phases[0] == "loading" and "tagging" in phases and phases[-2:] == ["writing", "done"]
    assert seen[-1].done == seen[-1].total == 6


def test_model_errors_write_nothing(tmp_path, model_dir):
    root = make_tag_dataset(tmp_path / "ds", n=2)
    ds = Dataset.open(str(root))
    with pytest.raises(ModelError, match="missing"):
        run_tagging(ds, opts(str(tmp_path)))
    with pytest.raises(ModelError, match="require-gpu"):
        run_tagging(ds, opts(model_dir, require_gpu=True))
    assert caption(root, 0) is None and ds.history()[0] == []


def test_hand_edit_during_the_run_wins_in_skip_mode(tmp_path, model_dir):
    root = make_tag_dataset(tmp_path / "ds", n=4)
    ds = Dataset.open(str(root))

    def progress(p):
        if p.phase == "tagging" and not ds.images[3].tags:
            ds.set_tags(3, ["by", "hand"])

    s = run_tagging(ds, opts(model_dir, batch=1, workers=1), progress=progress, progress_interval=0)
    assert caption(root, 3) == "by, hand" and s.tagged == 3


def test_presets():
    o = apply_preset("strict")
    assert (o.select.general_threshold, o.select.character_threshold) == (0.5, 0.9)
    base = TaggingOptions(mode="append", select=SelectOptions(always_first=["trig"]))
    o = apply_preset("mcut", base)
    assert o.mode == "append" and o.select.general_mcut and o.select.always_first == ["trig"]
    assert base.select.general_mcut is False
    with pytest.raises(ValueError):
        apply_preset("nope")


def test_invalid_options():
    with pytest.raises(ValueError):
        TaggingOptions(mode="merge").validate()


def test_probability_cache_roundtrip(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    c = ProbCache(str(tmp_path))
    p = np.array([0.5, 0.005, 0.99, 0.0], np.float32)
    c.put_many("m", [("a.png", p)])
    np.testing.assert_array_equal(c.get("m", "a.png", 4), np.array([0.5, 0.0, 0.99, 0.0], np.float32))
    assert c.get("other", "a.png", 4) is None
    (tmp_path / "a.png").write_bytes(b"xy")
    assert c.get("m", "a.png", 4) is None
    c.close()


def test_copying_a_dataset_keeps_it_usable(tmp_path, model_dir):
    root = make_tag_dataset(tmp_path / "ds", n=2)
    run_tagging(Dataset.open(str(root)), opts(model_dir))
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    s = run_tagging(Dataset.open(str(copy)), opts(model_dir, mode="overwrite"))
    assert s.tagged == 0 and s.unchanged == 2


def test_damaged_cache_does_not_stop_tagging(tmp_path, model_dir):
    root = make_tag_dataset(tmp_path / "ds", n=2)
    d = root / ".loratui" / "tagger"
    d.mkdir(parents=True)
    (d / "probs.sqlite").write_bytes(b"this is not a database" * 100)
    ds = Dataset.open(str(root))
    s = run_tagging(ds, opts(model_dir))
    assert s.tagged == 2 and s.inferred == 2
    assert confidences(ds, 0) == {}
