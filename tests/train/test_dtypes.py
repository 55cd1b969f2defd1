"""Base folders in fp16 or fp32 train under every precision: each component is cast to the run's
dtype whatever the files hold (an fp16 folder once loaded its text encoder in fp16 and its UNet in
fp32, and a `mixed_precision = "no"` run died with `Half != float`)."""

from __future__ import annotations

import math
import os
import shutil

import pytest

from loratui.train.events import EventLog, read_events
from loratui.train.spec import SubsetSpec
from loratui.train.trainer import Stopper, train

from .conftest import make_dataset, tiny_spec

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def folders(tiny_model, tmp_path_factory):
    """The tiny model as saved (fp32) and the same weights stored in fp16."""
    import torch
    from safetensors.torch import load_file, save_file

    half = str(tmp_path_factory.mktemp("fp16") / "tiny-fp16")
    shutil.copytree(tiny_model, half)
    for sub in ("unet", "vae", "text_encoder"):
        d = os.path.join(half, sub)
        for name in os.listdir(d):
            if name.endswith(".safetensors"):
                sd = load_file(os.path.join(d, name))
                save_file({k: v.to(torch.float16) if v.is_floating_point() else v for k, v in sd.items()},
                          os.path.join(d, name))
    root = make_dataset(str(tmp_path_factory.mktemp("dt") / "d"), {"1_x": [((32, 32), "x, red")]})
    return {"fp32": tiny_model, "fp16": half}, root


@pytest.fixture
def fresh_accelerate():
    """accelerate keeps one process-wide state: a run with another precision needs it reset (a real
    run is its own process)."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


@pytest.mark.parametrize("precision", ["no", "fp16", "bf16"])
@pytest.mark.parametrize("stored", ["fp16", "fp32"])
def test_every_folder_dtype_trains_under_every_precision(folders, tmp_path, stored, precision, fresh_accelerate):
    import torch

    from loratui.train.models import load_models

    paths, root = folders
    spec = tiny_spec(paths[stored], root, str(tmp_path / "o"), subsets=[SubsetSpec(path=os.path.join(root, "1_x"))],
                     resolution=(32, 32), min_bucket_reso=32, max_bucket_reso=32, epochs=1, batch_size=1,
                     mixed_precision=precision, gradient_checkpointing=precision == "bf16")
    # on a CPU, fp16 mixed precision runs in fp32 (accelerate allows only bf16 autocast there)
    want = torch.bfloat16 if precision == "bf16" else torch.float32
    m = load_models(spec, dtype=want)
    for model in (m.unet, m.text_encoder):
        assert {p.dtype for p in model.parameters()} == {want}
    assert {p.dtype for p in m.vae.parameters()} == {torch.float32}

    log = str(tmp_path / "ev.jsonl")
    result = train(spec, str(tmp_path / "run"), EventLog(log), Stopper(None))
    assert result.status == "finished" and result.step == 1
    ev = read_events(log)
    assert next(e for e in ev if e["type"] == "model_loaded")["dtype"] == str(want)
    assert all(math.isfinite(e["loss"]) for e in ev if e["type"] == "step")


def test_single_file_vae_keeps_fp32_weights_under_bf16(tiny_model, tmp_path):
    """A single file loads in its own dtype and is then cast: the VAE (kept fp32) never passes
    through bf16 on the way."""
    import torch

    from loratui.train.ldm_export import export_single_file
    from loratui.train.models import load_models

    single = export_single_file(tiny_model, str(tmp_path / "m.safetensors"))
    m = load_models(tiny_spec(single, "", str(tmp_path), model_config=tiny_model), dtype=torch.bfloat16)
    ref = load_models(tiny_spec(tiny_model, "", str(tmp_path)))
    assert {p.dtype for p in m.unet.parameters()} == {torch.bfloat16}
    for k, v in ref.vae.state_dict().items():
        assert torch.equal(m.vae.state_dict()[k], v), k
