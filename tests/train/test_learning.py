"""Is it learning: validation loss (deterministic across stop/resume), per-image loss, EMA."""

from __future__ import annotations

import os

import pytest

from loratui.train.events import EventLog, read_events
from loratui.train.spec import SubsetSpec
from loratui.train.trainer import Stopper, train

from .conftest import tiny_spec

pytestmark = pytest.mark.slow


def _run(spec, run_dir, stop_at=None):
    os.makedirs(run_dir, exist_ok=True)
    log = os.path.join(run_dir, "events.jsonl")
    stopper = Stopper(run_dir)
    stopper.stop_at = stop_at
    result = train(spec, run_dir, EventLog(log), stopper)
    return result, read_events(log)


def test_validation_loss_is_held_out_and_the_same_across_stop_resume(tiny_model, dataset_dir, tmp_path):
    from safetensors import safe_open

    spec = tiny_spec(tiny_model, dataset_dir, str(tmp_path / "outA"), validation_split=0.4, validate_every_n_steps=2,
                     network_dropout=0.5, epochs=1)
    _, ev_a = _run(spec, str(tmp_path / "a"))
    held = next(e for e in ev_a if e["type"] == "validation_set")["images"]
    assert len(held) == 2  # 40% of the 5 non-empty training images... of the 6 listed, rounded
    ds = next(e for e in ev_a if e["type"] == "dataset")
    assert ds["images"] == 6 - len(held)  # held-out images never train
    trained = {p["path"] for e in ev_a if e["type"] == "image_losses" for p in e["images"]}
    assert trained and not trained & set(held)
    val_a = {e["step"]: e["loss"] for e in ev_a if e["type"] == "validation"}
    total = next(e for e in ev_a if e["type"] == "dataset")["total_steps"]
    assert sorted(val_a) == sorted(set(list(range(2, total + 1, 2)) + [total]))
    assert all(v > 0 for v in val_a.values())
    with safe_open(ev_a[-1]["path"], "pt") as f:
        md = f.metadata()
    assert float(md["loratui_validation_loss"]) == pytest.approx(val_a[total], abs=1e-6)
    # the same run stopped after step 1 and resumed: the same points, bit for bit
    spec_b = tiny_spec(tiny_model, dataset_dir, str(tmp_path / "outB"), validation_split=0.4,
                       validate_every_n_steps=2, network_dropout=0.5, epochs=1)
    r1, _ = _run(spec_b, str(tmp_path / "b"), stop_at=1)
    assert r1.status == "stopped"
    r2, ev_b = _run(spec_b, str(tmp_path / "b"))
    assert r2.status == "finished"
    val_b = {e["step"]: e["loss"] for e in ev_b if e["type"] == "validation"}
    assert val_b == val_a


def test_per_image_loss_names_the_noise_image(tiny_model, tmp_path):
    import numpy as np
    from PIL import Image

    d = tmp_path / "d" / "4_x"
    d.mkdir(parents=True)
    for k, color in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)]):
        Image.new("RGB", (48, 48), color).save(d / f"flat{k}.png")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(d / "noise.png")
    spec = tiny_spec(tiny_model, str(tmp_path / "d"), str(tmp_path / "out"),
                     subsets=[SubsetSpec(path=str(d), repeats=4, class_tokens="x")], epochs=2, batch_size=2,
                     train_text_encoder=False)
    _, ev = _run(spec, str(tmp_path / "run"))
    table = [e for e in ev if e["type"] == "image_losses"][-1]["images"]
    assert [os.path.basename(r["path"]) for r in table][0] == "noise.png"
    assert len(table) == 4 and all(r["n"] >= 1 for r in table)


def test_ema_equals_a_hand_computed_average(tiny_model, dataset_dir, tmp_path, monkeypatch):
    import torch
    from safetensors.torch import load_file

    from loratui.train import ema as ema_mod

    seen = {}
    orig_init, orig_update = ema_mod.LoraEMA.__init__, ema_mod.LoraEMA.update

    def init(self, params, decay):
        orig_init(self, params, decay)
        seen["ema"] = self
        seen["w"] = [[p.detach().float().clone() for p in self.params]]

    def update(self):
        seen["w"].append([p.detach().float().clone() for p in self.params])  # the raw weights after the step
        orig_update(self)

    monkeypatch.setattr(ema_mod.LoraEMA, "__init__", init)
    monkeypatch.setattr(ema_mod.LoraEMA, "update", update)
    spec = tiny_spec(tiny_model, dataset_dir, str(tmp_path / "out"), ema=True, ema_decay=0.7, save_raw_with_ema=True,
                     epochs=1, unet_lr=1e-2)
    result, ev = _run(spec, str(tmp_path / "run"))
    hand = seen["w"][0]
    for w in seen["w"][1:]:
        hand = [0.7 * h + 0.3 * x for h, x in zip(hand, w)]
    assert len(seen["w"]) - 1 == result.step > 1
    for h, s in zip(hand, seen["ema"].shadow):
        torch.testing.assert_close(s, h, rtol=1e-5, atol=1e-7)
    out, raw = load_file(result.path), load_file(result.path.replace(".safetensors", "-raw.safetensors"))
    assert out.keys() == raw.keys()
    assert any(not torch.equal(out[k], raw[k]) for k in out if "lora_up" in k)
    assert [e["path"] for e in ev if e["type"] == "saved"][-2:] == [
        result.path.replace(".safetensors", "-raw.safetensors"), result.path]


def test_alpha_mask_trains_and_mask_files_are_not_images(tiny_model, tmp_path):
    from PIL import Image

    d = tmp_path / "d" / "1_x"
    d.mkdir(parents=True)
    im = Image.new("RGBA", (48, 48), (200, 30, 30, 255))
    im.paste((0, 0, 0, 0), (0, 0, 24, 48))
    im.save(d / "alpha.png")
    Image.new("RGB", (48, 48), (30, 200, 30)).save(d / "plain.png")
    Image.new("L", (48, 48), 255).save(d / "plain.mask.png")
    spec = tiny_spec(tiny_model, str(tmp_path / "d"), str(tmp_path / "out"), alpha_mask=True, epochs=1,
                     subsets=[SubsetSpec(path=str(d), repeats=1, class_tokens="x")], train_text_encoder=False)
    result, ev = _run(spec, str(tmp_path / "run"))
    assert result.status == "finished"
    assert next(e for e in ev if e["type"] == "dataset")["images"] == 2
