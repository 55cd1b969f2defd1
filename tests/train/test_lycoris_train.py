"""LoHa / LoKr / DoRA through the real training loop: files, metadata, samples, saves, exact resume."""

from __future__ import annotations

import json
import os

import pytest

from .conftest import tiny_spec
from .test_lycoris import TYPES
from .test_training import _run

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("kind", list(TYPES))
def test_each_type_trains_end_to_end(tiny_model, dataset_dir, tmp_path, kind):
    from safetensors.torch import load_file

    from loratui.lora.kohya_save import read_metadata

    extra = {}
    if kind == "loha":  # everything LoRA has: per-epoch saves, keep_last, samples at each strength
        extra = dict(epochs=2, save_every_n_epochs=1, keep_last=1, sample_every_n_epochs=1,
                     sample_strengths=[0.5, 1.0], sample_prompts=["mychar --w 32 --h 32 --d 5 --s 2"])
    spec = tiny_spec(tiny_model, dataset_dir, str(tmp_path / "o"), max_train_steps=0 if extra else 2,
                     **{**TYPES[kind], **extra})
    result, ev = _run(spec, str(tmp_path / "run"))
    assert result.status == "finished"
    net = next(e for e in ev if e["type"] == "network")
    assert net["network"] == spec.network_type and net["te_modules"] == 12
    sd = load_file(result.path)
    md = read_metadata(result.path)
    assert md["ss_network_module"] == "lycoris.kohya"
    args = json.loads(md["ss_network_args"])
    algo = spec.network_type
    assert args["algo"] == algo and args["rank_dropout"] == "0" and args["module_dropout"] == "0"
    assert md["ss_network_dim"] == str(spec.network_dim)
    assert md["ss_network_alpha"] == str(spec.network_alpha)
    if kind == "lokr":
        assert args["factor"] == "4" and args["full_matrix"] == "False"
        assert any(k.endswith(".lokr_w2_a") for k in sd)
    if kind == "lokr-full":
        assert args["full_matrix"] == "True" and not any(k.endswith(".lokr_w2_a") for k in sd)
    if "dora" in kind:
        assert args["dora_wd"] == "True" and any(k.endswith(".dora_scale") for k in sd)
        assert args["preset"] == "attn-mlp" if kind == "lora-dora" else args["preset"] == "full"
    if kind == "loha":
        assert args == {"algo": "loha", "preset": "full", "conv_dim": "2", "conv_alpha": "1", "rank_dropout": "0",
                        "module_dropout": "0"}
        assert any(k.endswith(".hada_w2_b") for k in sd)
        files = sorted(os.listdir(spec.output_dir))
        assert "tiny-000001.safetensors" in files and "tiny.safetensors" in files
        samples = [e for e in ev if e["type"] == "sample"]
        assert [e["strength"] for e in samples] == [0.5, 1.0, 0.5, 1.0]
        from PIL import Image

        a, b = (Image.open(e["path"]).tobytes() for e in samples[-2:])
        assert a != b  # the strength reaches lycoris' modules
    assert md["sshs_model_hash"] and md["ss_steps"] == str(result.step)


def test_lokr_resume_is_exact_with_rank_and_module_dropout(tiny_model, dataset_dir, tmp_path):
    import torch
    from safetensors.torch import load_file

    def spec(out):
        return tiny_spec(tiny_model, dataset_dir, str(tmp_path / out), epochs=1, max_train_steps=4, rank_dropout=0.2,
                         module_dropout=0.1, **TYPES["lokr"])

    ra, ev_a = _run(spec("a"), str(tmp_path / "run_a"))
    rb1, _ = _run(spec("b"), str(tmp_path / "run_b"), stop_at=2)
    assert rb1.status == "stopped"
    rb2, ev_b = _run(spec("b"), str(tmp_path / "run_b"))
    assert rb2.status == "finished" and rb2.step == ra.step == 4
    assert any(e["type"] == "resumed" and e["step"] == 2 for e in ev_b)
    assert [e["loss"] for e in ev_a if e["type"] == "step"] == [e["loss"] for e in ev_b if e["type"] == "step"]
    a, b = load_file(ra.path), load_file(rb2.path)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
