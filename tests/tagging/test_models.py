from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from loratui.tagging import KNOWN_MODELS, ModelError, ModelFiles, download_model, local_state, resolve_model
from loratui.tagging.session import Tagger
from loratui.tagging.standin import build_standin, write_labels


def test_registry_has_the_v2_and_v3_families():
    repos = {m.repo_id for m in KNOWN_MODELS.values()}
    for r in ["wd-v1-4-vit-tagger-v2", "wd-v1-4-convnext-tagger-v2", "wd-v1-4-swinv2-tagger-v2",
              "wd-v1-4-moat-tagger-v2", "wd-vit-tagger-v3", "wd-convnext-tagger-v3", "wd-swinv2-tagger-v3",
              "wd-eva02-large-tagger-v3"]:
        assert f"SmilingWolf/{r}" in repos


def test_model_dir(model_dir, tmp_path):
    assert resolve_model(model_dir=model_dir).dir == model_dir
    os.makedirs(tmp_path / "half")
    shutil.copy(os.path.join(model_dir, "model.onnx"), tmp_path / "half")
    with pytest.raises(ModelError, match="missing selected_tags.csv"):
        resolve_model(model_dir=str(tmp_path / "half"))
    with pytest.raises(ModelError, match="no such folder"):
        resolve_model(model_dir=str(tmp_path / "nope"))


def test_missing_known_model_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("LORATUI_MODELS_DIR", str(tmp_path / "models"))
    with pytest.raises(ModelError) as e:
        resolve_model("vit-v3")
    msg = str(e.value)
    assert "loratui models get vit-v3" in msg and "model.onnx" in msg and "selected_tags.csv" in msg
    assert str(tmp_path / "models" / "vit-v3") in msg
    with pytest.raises(ModelError, match="unknown model"):
        resolve_model("vit-v9")


def test_downloaded_model_is_found(monkeypatch, tmp_path, model_dir):
    monkeypatch.setenv("LORATUI_MODELS_DIR", str(tmp_path / "models"))
    assert local_state("vit-v3") == ("missing", None)
    shutil.copytree(model_dir, tmp_path / "models" / "vit-v3")
    state, where = local_state("vit-v3")
    assert state == "downloaded" and resolve_model("vit-v3").dir == where


def test_offline_download_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("LORATUI_MODELS_DIR", str(tmp_path / "models"))
    with pytest.raises(ModelError) as e:
        download_model("convnext-v2")
    assert "huggingface.co/SmilingWolf/wd-v1-4-convnext-tagger-v2" in str(e.value)
    assert "model.onnx" in str(e.value)


def test_load_free_and_fixed_batch(model_dir, fixed_model_dir):
    free = Tagger.load(ModelFiles("f", model_dir), batch=3)
    fixed = Tagger.load(ModelFiles("x", fixed_model_dir), batch=8)
    assert (free.size, free.batch_size, free.fixed_batch) == (32, 3, False)
    assert (fixed.size, fixed.batch_size, fixed.fixed_batch) == (32, 1, True)
    assert free.provider == "CPUExecutionProvider" and free.device == "CPU"
    x = np.random.default_rng(1).uniform(0, 255, (5, 32, 32, 3)).astype(np.float32)
    a, b = free.run(x), fixed.run(x)
    assert a.shape == b.shape == (5, len(free.labels))
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not np.allclose(a[0], a[1])  # the output depends on the image


def test_validation_tag_count(tmp_path, model_dir):
    d = tmp_path / "m"
    shutil.copytree(model_dir, d)
    write_labels(str(d / "selected_tags.csv"), general=["a", "b"], character=[])
    with pytest.raises(ModelError, match="different models"):
        Tagger.load(ModelFiles("m", str(d)))


def test_validation_categories(tmp_path, model_dir):
    d = tmp_path / "m"
    shutil.copytree(model_dir, d)
    (d / "selected_tags.csv").write_text("tag_id,name,category,count\n1,general,9,1\n", encoding="utf-8")
    with pytest.raises(ModelError, match="no general tags"):
        Tagger.load(ModelFiles("m", str(d)))
    (d / "selected_tags.csv").write_text("id,label\n1,x\n", encoding="utf-8")
    with pytest.raises(ModelError, match="not a WD14 tag list"):
        Tagger.load(ModelFiles("m", str(d)))


def test_validation_input_layout(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    d = tmp_path / "nchw"
    d.mkdir()
    n = len(write_labels(str(d / "selected_tags.csv")))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 3, 32, 32])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", n])
    w = numpy_helper.from_array(np.ones((3, n), np.float32), "w")
    g = helper.make_graph([helper.make_node("ReduceMean", ["x"], ["m"], axes=[2, 3], keepdims=0),
                           helper.make_node("MatMul", ["m", "w"], ["y"])], "g", [x], [y], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(d / "model.onnx"))
    with pytest.raises(ModelError, match="NHWC"):
        Tagger.load(ModelFiles("m", str(d)))


def test_corrupt_model_file(tmp_path, model_dir):
    d = tmp_path / "m"
    shutil.copytree(model_dir, d)
    (d / "model.onnx").write_bytes(b"not onnx")
    with pytest.raises(ModelError, match="cannot load"):
        Tagger.load(ModelFiles("m", str(d)))


def test_require_gpu_on_a_cpu_machine(model_dir):
    with pytest.raises(ModelError, match="require-gpu"):
        Tagger.load(ModelFiles("m", model_dir), require_gpu=True, providers=["CPUExecutionProvider"])


def test_standin_sizes(tmp_path):
    d = build_standin(str(tmp_path / "big"), size=64, width=8, depth=1)
    t = Tagger.load(ModelFiles("b", d))
    assert t.size == 64 and t.run(np.zeros((2, 64, 64, 3), np.float32)).shape == (2, len(t.labels))


def test_a_model_in_the_hugging_face_cache_is_found(monkeypatch, tmp_path, model_dir):
    """The user's HF cache (``models--ORG--NAME/snapshots/REV``) serves a known model without a
    download; an empty cache answers "missing" (without importing the download machinery)."""
    from huggingface_hub import constants

    monkeypatch.setenv("LORATUI_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    assert local_state("vit-v3") == ("missing", None)
    repo = tmp_path / "hub" / ("models--" + KNOWN_MODELS["vit-v3"].repo_id.replace("/", "--"))
    snap = repo / "snapshots" / "0123abc"
    os.makedirs(snap)
    os.makedirs(repo / "refs")
    (repo / "refs" / "main").write_text("0123abc")
    for f in ("model.onnx", "selected_tags.csv"):
        shutil.copy(os.path.join(model_dir, f), snap / f)
    assert local_state("vit-v3") == ("hf-cache", str(snap))
    assert resolve_model("vit-v3").dir == str(snap)
