"""The real worker (``python -m loratui.train RUN_DIR``) in a subprocess, on the tiny model."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from loratui.train.events import read_events

from .conftest import TWO_SUBSETS, make_dataset, write_run_config

pytestmark = pytest.mark.slow


def run_worker(run_dir: str, timeout: float = 300, **env) -> subprocess.CompletedProcess:
    e = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **env)
    return subprocess.run([sys.executable, "-m", "loratui.train", run_dir], capture_output=True, text=True,
                          timeout=timeout, env=e)


def types(events: list[dict]) -> list[str]:
    return [e["type"] for e in events]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> str:
    root = make_dataset(str(tmp_path_factory.mktemp("ds") / "data"), TWO_SUBSETS)
    with open(os.path.join(root, "1_bg", "broken.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    return root


@pytest.fixture(scope="module")
def full_run(tiny_model, data_root, tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("runA"))
    write_run_config(run_dir, tiny_model, data_root)
    proc = run_worker(run_dir)
    return run_dir, proc


def test_end_to_end_files_keys_metadata_and_events(full_run, data_root):
    import torch
    from safetensors.torch import load_file

    from loratui.lora.kohya_save import read_metadata

    run_dir, proc = full_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    ev = read_events(os.path.join(run_dir, "events.jsonl"))
    t = types(ev)
    assert t[0] == "start" and t[-1] == "finished"
    assert t.index("dataset") < t.index("model_loaded") < t.index("network") < t.index("step")
    warnings = [e for e in ev if e["type"] == "warning"]
    assert any(e.get("path", "").endswith("broken.png") for e in warnings)
    ds = next(e for e in ev if e["type"] == "dataset")
    assert ds["images"] == 6 and ds["skipped"] == 1 and ds["num_train_images"] == 10
    steps = [e for e in ev if e["type"] == "step"]
    assert [s["step"] for s in steps] == list(range(1, ds["total_steps"] + 1))
    assert ds["total_steps"] == 2 * ds["steps_per_epoch"]
    for s in steps:
        assert set(s) >= {"loss", "loss_avg", "lr", "epoch", "it_s", "samples_s", "eta_s", "total_steps"}
        assert set(s["lr"]) == {"unet", "te"}
    assert steps[0]["lr"] == {"unet": 0.0, "te": 0.0}  # one warm-up step
    assert steps[1]["lr"]["unet"] == pytest.approx(1e-3) and steps[1]["lr"]["te"] == pytest.approx(5e-4)
    assert [e["epoch"] for e in ev if e["type"] == "epoch_end"] == [1, 2]

    out = os.path.join(run_dir, "output")
    assert sorted(os.listdir(out)) == ["tiny-000001.safetensors", "tiny.safetensors"]
    saved = [e for e in ev if e["type"] == "saved"]
    assert [(os.path.basename(e["path"]), e["final"]) for e in saved] == [
        ("tiny-000001.safetensors", False), ("tiny.safetensors", True)]
    sd = load_file(os.path.join(out, "tiny.safetensors"))
    unet_keys = {k.split(".")[0] for k in sd if k.startswith("lora_unet_")}
    te_keys = {k.split(".")[0] for k in sd if k.startswith("lora_te_")}
    assert len(unet_keys) == 48 and len(te_keys) == 12 and len(sd) == 3 * 60
    assert all(v.dtype == torch.float16 for v in sd.values())  # save_precision fp16, alpha included
    assert float(sd["lora_te_text_model_encoder_layers_1_mlp_fc2.alpha"]) == 2.0
    assert sd["lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight"].shape == (4, 32)
    assert sd["lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight"].abs().sum() > 0

    md = read_metadata(os.path.join(out, "tiny.safetensors"))
    assert md["ss_network_module"] == "networks.lora" and md["ss_network_dim"] == "4"
    assert md["ss_network_alpha"] == "2.0" and md["ss_network_args"] == "None"
    assert md["ss_num_train_images"] == "10" and md["ss_epoch"] == "2" and md["ss_num_epochs"] == "2"
    assert md["ss_steps"] == str(ds["total_steps"]) and md["ss_max_train_steps"] == str(ds["total_steps"])
    assert md["ss_unet_lr"] == "0.001" and md["ss_text_encoder_lr"] == "0.0005"
    assert md["ss_lr_scheduler"] == "cosine" and md["ss_lr_warmup_steps"] == "1" and md["ss_seed"] == "7"
    assert md["ss_base_model_version"] == "sd_v1" and md["ss_sd_model_name"] == os.path.basename(
        json.loads(json.dumps(ev[0]["spec"]))["base_model"])
    assert json.loads(md["ss_dataset_dirs"]) == {"2_mychar": {"n_repeats": 2, "img_count": 4},
                                                 "1_bg": {"n_repeats": 1, "img_count": 2}}
    assert json.loads(md["ss_tag_frequency"])["1_bg"] == {"scenery": 2, "sky": 1, "tree": 1}
    assert md["modelspec.trigger_phrase"] == "mychar" and md["modelspec.description"] == "tiny test LoRA"
    assert md["modelspec.architecture"] == "stable-diffusion-v1/lora" and md["modelspec.sai_model_spec"] == "1.0.0"
    import hashlib
    import struct

    buf = open(os.path.join(out, "tiny.safetensors"), "rb").read()
    (n,) = struct.unpack("<Q", buf[:8])
    assert md["sshs_model_hash"] == hashlib.sha256(buf[8 + n:]).hexdigest()
    assert md["sshs_legacy_hash"] == hashlib.sha256(buf[0x100000:0x110000]).hexdigest()[:8]
    md1 = read_metadata(os.path.join(out, "tiny-000001.safetensors"))
    assert md1["ss_epoch"] == "1" and md1["ss_steps"] == str(ds["steps_per_epoch"])
    assert not os.path.exists(os.path.join(run_dir, "worker.pid"))


def test_stop_file_then_resume_matches_the_uninterrupted_run(full_run, tiny_model, data_root, tmp_path):
    import torch
    from safetensors.torch import load_file

    run_a, proc_a = full_run
    assert proc_a.returncode == 0
    run_b = str(tmp_path / "runB")
    write_run_config(run_b, tiny_model, data_root)
    open(os.path.join(run_b, "stop"), "w").close()  # stop requested before the first step ends
    p1 = run_worker(run_b)
    assert p1.returncode == 3, p1.stderr[-3000:]
    ev1 = read_events(os.path.join(run_b, "events.jsonl"))
    stopped = ev1[-1]
    assert stopped["type"] == "stopped" and stopped["reason"] == "stop_file" and stopped["step"] == 1
    assert os.path.isfile(stopped["checkpoint"])
    assert not os.path.exists(os.path.join(run_b, "output", "tiny.safetensors"))

    os.unlink(os.path.join(run_b, "stop"))
    p2 = run_worker(run_b)
    assert p2.returncode == 0, p2.stderr[-3000:]
    ev = read_events(os.path.join(run_b, "events.jsonl"))
    second = ev[len(ev1):]
    assert second[0]["type"] == "start" and second[0]["resume"] is True
    resumed = next(e for e in second if e["type"] == "resumed")
    assert (resumed["step"], resumed["epoch"], resumed["batch"]) == (1, 1, 1)  # mid-epoch, not its start
    steps = [e["step"] for e in ev if e["type"] == "step"]
    ev_a = read_events(os.path.join(run_a, "events.jsonl"))
    steps_a = [e for e in ev_a if e["type"] == "step"]
    assert steps == [e["step"] for e in steps_a]  # every step exactly once
    losses_b = [e["loss"] for e in ev if e["type"] == "step"]
    assert losses_b == [e["loss"] for e in steps_a]  # seeded per batch: the same trajectory, bit for bit
    a = load_file(os.path.join(run_a, "output", "tiny.safetensors"))
    b = load_file(os.path.join(run_b, "output", "tiny.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_sigterm_saves_a_checkpoint_and_stops(tiny_model, data_root, tmp_path):
    run = str(tmp_path / "runC")
    write_run_config(run, tiny_model, data_root)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    proc = subprocess.Popen([sys.executable, "-m", "loratui.train", run], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    log = os.path.join(run, "events.jsonl")
    deadline = time.time() + 240
    try:
        while time.time() < deadline and "step" not in types(read_events(log)) and proc.poll() is None:
            time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == 3
    last = read_events(log)[-1]
    assert last["type"] == "stopped" and last["reason"] == "SIGTERM" and os.path.isfile(last["checkpoint"])


def test_wrong_model_path_is_one_error_event_naming_it(data_root, tmp_path):
    run = str(tmp_path / "runD")
    missing = str(tmp_path / "nope" / "model.safetensors")
    write_run_config(run, missing, data_root)
    p = run_worker(run)
    assert p.returncode == 1
    ev = read_events(os.path.join(run, "events.jsonl"))
    assert types(ev)[-1] == "error" and "model_loaded" not in types(ev)
    assert ev[-1]["path"] == missing and missing in ev[-1]["message"]


def test_empty_dataset_errors_before_any_model_loads(tiny_model, tmp_path):
    root = make_dataset(str(tmp_path / "empty"), {"2_mychar": [], "1_bg": []})
    for d in ("2_mychar", "1_bg"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    run = str(tmp_path / "runE")
    write_run_config(run, tiny_model, root)
    p = run_worker(run)
    assert p.returncode == 1
    ev = read_events(os.path.join(run, "events.jsonl"))
    assert types(ev) == ["start", "error"] and "no usable training images" in ev[-1]["message"]


def test_truncated_model_file_is_refused_with_its_name(data_root, tmp_path, tiny_model):
    bad = str(tmp_path / "cut.safetensors")
    src = os.path.join(tiny_model, "unet", "diffusion_pytorch_model.safetensors")
    with open(src, "rb") as f:
        data = f.read()
    with open(bad, "wb") as f:
        f.write(data[: len(data) // 3])
    run = str(tmp_path / "runF")
    write_run_config(run, bad, data_root)
    p = run_worker(run)
    assert p.returncode == 1
    err = read_events(os.path.join(run, "events.jsonl"))[-1]
    assert err["type"] == "error" and err["path"] == bad and "truncated" in err["message"]
    shutil.rmtree(run)


def test_starting_a_finished_run_again_only_reports_it(full_run):
    run_dir, proc = full_run
    assert proc.returncode == 0
    before = read_events(os.path.join(run_dir, "events.jsonl"))
    p = run_worker(run_dir)
    assert p.returncode == 0
    after = read_events(os.path.join(run_dir, "events.jsonl"))[len(before):]
    assert types(after) == ["start", "warning", "finished"] and after[-1]["already"] is True
    assert after[-1]["path"].endswith("tiny.safetensors")


def test_the_inspector_reads_the_trained_file_as_kohya(full_run):
    from loratui.lora.inspect import inspect_lora

    run_dir, proc = full_run
    assert proc.returncode == 0
    info = inspect_lora(os.path.join(run_dir, "output", "tiny.safetensors"))
    assert info.format == "kohya LoRA" and info.base_model == "sd_v1"
    assert (info.unet_modules, info.te_modules) == (48, 12)
    assert info.ranks == {4: 60} and info.alphas == {2.0: 60}
    assert info.hash_ok and info.stored_legacy_hash == info.computed_legacy_hash
    assert info.problems == []
