"""ss_num_epochs is the epochs actually trained; modelspec's version is the spec's (torch-free)."""

from __future__ import annotations

from loratui.train.data import build_train_data
from loratui.train.metadata import MODELSPEC_VERSION, training_metadata

from .conftest import tiny_spec


def _md(data, spec):
    return training_metadata(spec, data, session_id="1", started_at=0.0, model_hash=None, legacy_model_hash=None,
                             v_parameterization=False, total_steps=data.total_steps())


def test_ss_num_epochs_is_what_max_steps_trains(dataset_dir, tmp_path):
    spec = tiny_spec("model", dataset_dir, str(tmp_path / "out"), epochs=100, batch_size=1)
    data = build_train_data(spec)
    per_epoch = data.steps_per_epoch()
    spec.max_train_steps = per_epoch * 3 + 1  # ends early, in the fourth epoch
    data = build_train_data(spec)
    md = _md(data, spec)
    assert md["ss_num_epochs"] == "4" and md["ss_max_train_steps"] == str(per_epoch * 3 + 1)
    spec.max_train_steps = 0
    assert _md(build_train_data(spec), spec)["ss_num_epochs"] == "100"


def test_modelspec_version_is_the_specs():
    assert MODELSPEC_VERSION == "1.0.0"
