"""The NaN guard on the real worker: a non-finite loss stops the run with an error event and a
checkpoint from before it, which resumes."""

from __future__ import annotations

import os

import pytest

from loratui.train.events import read_events

from .conftest import write_run_config
from .test_worker import data_root, run_worker  # noqa: F401 - module fixture

pytestmark = pytest.mark.slow


def test_injected_nan_stops_with_error_and_a_resumable_checkpoint(tiny_model, data_root, tmp_path):  # noqa: F811
    import torch

    run = str(tmp_path / "nan")
    write_run_config(run, tiny_model, data_root)
    p = run_worker(run, LORATUI_NAN_AT_STEP="3")
    assert p.returncode == 1, p.stderr[-3000:]
    evs = read_events(os.path.join(run, "events.jsonl"))
    err = evs[-1]
    assert err["type"] == "error" and err["kind"] == "nan" and err["step"] == 3 and err["what"] == "loss"
    assert "became nan at step 3" in err["message"] and "unet lr" in err["message"]
    assert [e["step"] for e in evs if e["type"] == "step"] == [1, 2]  # the NaN update was never applied
    st = torch.load(err["checkpoint"], map_location="cpu", weights_only=True)
    assert st["step"] == 2
    assert all(torch.isfinite(v).all() for v in st["adapter"].values() if torch.is_tensor(v))
    assert not os.path.exists(os.path.join(run, "output", "tiny.safetensors"))
    # the checkpoint is usable: without the fault the run resumes at step 2 and finishes
    p2 = run_worker(run)
    assert p2.returncode == 0, p2.stderr[-3000:]
    evs2 = read_events(os.path.join(run, "events.jsonl"))[len(evs):]
    assert next(e for e in evs2 if e["type"] == "resumed")["step"] == 2
    assert evs2[-1]["type"] == "finished"


def test_huge_learning_rate_is_caught_not_trained_to_the_end(tiny_model, data_root, tmp_path):  # noqa: F811
    run = str(tmp_path / "lr")
    write_run_config(run, tiny_model, data_root, optim__unet_lr=1e12, optim__text_encoder_lr=1e12)
    p = run_worker(run)
    assert p.returncode == 1, p.stderr[-3000:]
    err = read_events(os.path.join(run, "events.jsonl"))[-1]
    assert err["type"] == "error" and err["kind"] == "nan"
    assert not os.path.exists(os.path.join(run, "output", "tiny.safetensors"))
