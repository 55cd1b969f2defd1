"""The training loop in-process on the tiny model: learning, accumulation + resume, caches, refusals."""

from __future__ import annotations

import os

import pytest

from loratui.train.events import EventLog, read_events
from loratui.train.spec import SubsetSpec
from loratui.train.trainer import Stopper, train

from .conftest import make_dataset, tiny_spec

pytestmark = pytest.mark.slow


def _run(spec, run_dir, stop_at=None, resume=True):
    os.makedirs(run_dir, exist_ok=True)
    log = os.path.join(run_dir, "events.jsonl")
    stopper = Stopper(run_dir)
    stopper.stop_at = stop_at
    result = train(spec, run_dir, EventLog(log), stopper, resume=resume)
    return result, read_events(log)


def test_loss_goes_down_on_a_tiny_overfit_task(tiny_model, tmp_path):
    """Real learning: after training, the LoRA predicts the noise on its one image better than the base."""
    import torch
    from diffusers import StableDiffusionPipeline

    from loratui.train.data import build_train_data, load_pixels

    root = make_dataset(str(tmp_path / "d"), {"10_x": [((64, 64), "x, red ball")]})
    spec = tiny_spec(tiny_model, root, str(tmp_path / "out"), resolution=(64, 64),
                     subsets=[SubsetSpec(path=os.path.join(root, "10_x"), repeats=10)], epochs=3, batch_size=1,
                     unet_lr=5e-3, train_text_encoder=False, network_dim=8, network_alpha=8.0, max_grad_norm=0.0)
    result, _ = _run(spec, str(tmp_path / "run"))
    assert result.status == "finished" and result.step == 30

    pipe = StableDiffusionPipeline.from_pretrained(tiny_model, local_files_only=True, safety_checker=None)
    item = build_train_data(spec).items[0]
    with torch.no_grad():
        lat = pipe.vae.encode(torch.from_numpy(load_pixels(item))[None]).latent_dist.mean * 0.18215
        g = torch.Generator().manual_seed(123)
        lat = lat.repeat(16, 1, 1, 1)
        noise = torch.randn(lat.shape, generator=g)
        t = torch.randint(0, 1000, (16,), generator=g)
        noisy = pipe.scheduler.add_noise(lat, noise, t)
        ids = pipe.tokenizer(["x, red ball"] * 16, padding="max_length", max_length=77, return_tensors="pt").input_ids
        h = pipe.text_encoder(ids)[0]

        def loss():
            return torch.nn.functional.mse_loss(pipe.unet(noisy, t, h).sample, noise).item()

        before = loss()
        pipe.load_lora_weights(result.path)
        after = loss()
    assert after < before * 0.9, (before, after)


@pytest.fixture(scope="module")
def accum_setup(tiny_model, tmp_path_factory):
    root = make_dataset(str(tmp_path_factory.mktemp("acc") / "d"), {
        "3_a": [((64, 64), "a, one"), ((64, 32), "a, two"), ((48, 48), "a, three")],
        "1_b": [((32, 64), "b, four"), ((64, 64), None)]})
    base = str(tmp_path_factory.mktemp("accout"))
    cache = os.path.join(base, "latent-cache")

    def spec(out):
        return tiny_spec(tiny_model, root, os.path.join(base, out), batch_size=1, grad_accumulation=3, epochs=2,
                         subsets=[SubsetSpec(path=os.path.join(root, "3_a"), repeats=3, keep_tokens=1,
                                             shuffle_caption=True, caption_tag_dropout_rate=0.2),
                                  SubsetSpec(path=os.path.join(root, "1_b"), repeats=1, class_tokens="b",
                                             flip_aug=True, caption_dropout_rate=0.3)],
                         min_snr_gamma=5.0, noise_offset=0.1, clip_skip=2, v_parameterization=True,
                         lr_scheduler="cosine_with_restarts", lr_scheduler_num_cycles=2, lr_warmup_ratio=0.2,
                         cache_latents_to_disk=True, latent_cache_dir=cache, save_precision="bf16")
    return base, spec


def test_accumulation_resume_mid_epoch_is_exact(accum_setup):
    import torch
    from safetensors.torch import load_file

    base, spec = accum_setup
    ra, ev_a = _run(spec("a"), os.path.join(base, "run_a"))
    assert ra.status == "finished"
    ds = next(e for e in ev_a if e["type"] == "dataset")
    assert ds["batches_per_epoch"] == 11 and ds["steps_per_epoch"] == 4  # 3+3+3+2 batches per update
    cache_ev = [e for e in ev_a if e["type"] == "caching"]
    assert cache_ev[-1]["done"] == 5 + 2  # flipped copies of the flip_aug subset are cached too

    run_b = os.path.join(base, "run_b")
    rb1, ev_b1 = _run(spec("b"), run_b, stop_at=2)
    assert rb1.status == "stopped" and ev_b1[-1]["step"] == 2
    assert [e for e in ev_b1 if e["type"] == "caching"][0]["from_disk"] == 7  # second run: all from disk
    rb2, ev_b = _run(spec("b"), run_b)
    resumed = next(e for e in ev_b[len(ev_b1):] if e["type"] == "resumed")
    assert (resumed["step"], resumed["batch"]) == (2, 6)
    assert rb2.status == "finished" and rb2.step == ra.step == 8
    la = [e["loss"] for e in ev_a if e["type"] == "step"]
    lb = [e["loss"] for e in ev_b if e["type"] == "step"]
    assert la == lb
    a, b = load_file(ra.path), load_file(rb2.path)
    assert all(v.dtype == torch.bfloat16 for v in a.values())
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_locon_without_latent_cache(tiny_model, dataset_dir, tmp_path):
    import json

    from safetensors.torch import load_file

    from loratui.lora.kohya_save import read_metadata

    spec = tiny_spec(tiny_model, dataset_dir, str(tmp_path / "o"), cache_latents=False, max_train_steps=2,
                     gradient_checkpointing=True, network_type="locon", conv_dim=2, conv_alpha=1.0)
    result, ev = _run(spec, str(tmp_path / "run"))
    assert result.status == "finished" and result.step == 2
    assert "caching" not in [e["type"] for e in ev]
    net = next(e for e in ev if e["type"] == "network")
    assert net["network"] == "locon" and net["unet_modules"] == 48 + 31
    sd = load_file(result.path)
    assert sd["lora_unet_down_blocks_0_resnets_0_conv2.lora_down.weight"].shape == (2, 32, 3, 3)
    assert float(sd["lora_unet_down_blocks_0_resnets_0_conv2.alpha"]) == 1.0
    md = read_metadata(result.path)
    assert json.loads(md["ss_network_args"]) == {"conv_dim": "2", "conv_alpha": "1"}  # as the kohya export writes it
    assert md["ss_cache_latents"] == "False" and md["ss_gradient_checkpointing"] == "True"


class Sneaky:  # a pickled object that weights_only loading must refuse
    def __reduce__(self):
        return (print, ("this would have run",))


def test_ckpt_needing_pickle_is_refused(tiny_model, tmp_path):
    import torch

    from loratui.train.models import ModelError, load_models

    path = str(tmp_path / "model.ckpt")
    torch.save({"state_dict": {"w": torch.zeros(1)}, "extra": Sneaky()}, path)
    spec = tiny_spec(path, "", str(tmp_path), model_config=tiny_model)
    with pytest.raises(ModelError, match="refused") as ei:
        load_models(spec)
    assert ei.value.path == path and ".safetensors" in str(ei.value)


def test_sample_prompt_syntax():
    from loratui.train.samples import parse_prompt, parse_prompts

    sp = parse_prompt("mychar, 1girl, smile --n lowres, bad anatomy --w 512 --h 768 --d 42 --s 28 --l 7.5")
    assert (sp.prompt, sp.negative, sp.width, sp.height, sp.seed, sp.steps, sp.cfg) == (
        "mychar, 1girl, smile", "lowres, bad anatomy", 512, 768, 42, 28, 7.5)
    assert parse_prompt("# comment") is None and parse_prompt("   ") is None
    plain = parse_prompt("a--b c")
    assert plain.prompt == "a--b c" and plain.width is None and plain.steps == 20
    assert [p.prompt for p in parse_prompts(["one\n# no\ntwo --s 3", ""])] == ["one", "two"]
    with pytest.raises(ValueError, match="--w"):
        parse_prompt("x --w big")


def test_samples_every_epoch_at_each_strength(tiny_model, dataset_dir, tmp_path):
    from PIL import Image

    spec = tiny_spec(tiny_model, dataset_dir, str(tmp_path / "o"), max_train_steps=2, epochs=1,
                     sample_every_n_epochs=1, sample_strengths=[0.5, 1.0],
                     sample_prompts=["mychar, smile --n lowres --w 32 --h 48 --d 5 --s 2 --l 4"])
    result, ev = _run(spec, str(tmp_path / "run"))
    samples = [e for e in ev if e["type"] == "sample"]
    assert [e["strength"] for e in samples] == [0.5, 1.0]
    for e in samples:
        im = Image.open(e["path"])
        assert im.size == (32, 48)
        assert "Negative prompt: lowres" in im.info["parameters"] and "Seed: 5" in im.info["parameters"]
    assert Image.open(samples[0]["path"]).tobytes() != Image.open(samples[1]["path"]).tobytes()


def test_samples_every_n_steps_are_named_by_step(tiny_model, dataset_dir, tmp_path):
    spec = tiny_spec(tiny_model, dataset_dir, str(tmp_path / "o"), max_train_steps=4, epochs=1,
                     sample_every_n_epochs=0, sample_every_n_steps=2, sample_strengths=[1.0],
                     sample_prompts=["mychar --w 32 --h 32 --d 1 --s 2"])
    result, ev = _run(spec, str(tmp_path / "run"))
    samples = [e for e in ev if e["type"] == "sample"]
    # step 2 only: the run ends at step 4, where no mid-run sample is taken
    assert [(e["step"], os.path.basename(e["path"])) for e in samples] == [(2, "tiny_step0000002_00_s1.png")]


def test_single_file_model_trains_and_records_its_hashes(tiny_model, dataset_dir, tmp_path):
    """A tiny SD1.x single-file (LDM layout) checkpoint, loaded offline with the local config folder."""
    import hashlib

    from loratui.lora.kohya_save import read_metadata
    from loratui.train.ldm_export import export_single_file

    single = export_single_file(tiny_model, str(tmp_path / "tiny-sd.safetensors"))
    import torch

    spec = tiny_spec(single, dataset_dir, str(tmp_path / "o"), model_config=tiny_model, epochs=2, cpu_threads=1)
    result, ev = _run(spec, str(tmp_path / "run"))
    assert result.status == "finished"
    loaded = next(e for e in ev if e["type"] == "model_loaded")
    assert loaded["kind"] == "single_file"
    # the hardware.cpu_threads setting reached torch
    assert loaded["cpu_threads"] == 1 and loaded["cpu_threads_from"] == "hardware.cpu_threads"
    assert torch.get_num_threads() == 1
    md = read_metadata(result.path)
    data = open(single, "rb").read()
    assert md["ss_new_sd_model_hash"] == hashlib.sha256(data).hexdigest()
    assert md["ss_sd_model_hash"] == hashlib.sha256(data[0x100000:0x110000]).hexdigest()[:8]
    assert md["ss_sd_model_name"] == "tiny-sd.safetensors" and md["ss_epoch"] == "2"
    assert os.path.isfile(os.path.join(spec.output_dir, "tiny-000001.safetensors"))


def test_single_file_without_local_config_is_a_clear_error(tiny_model, tmp_path):
    from loratui.train.ldm_export import export_single_file
    from loratui.train.models import ModelError, load_models

    single = export_single_file(tiny_model, str(tmp_path / "m.safetensors"))
    with pytest.raises(ModelError, match="local diffusers config folder") as ei:
        load_models(tiny_spec(single, "", str(tmp_path), family="sd2"))
    assert ei.value.path == single
    # SD 1.x uses loratui's own config folder: the tiny model is not SD 1.x-shaped, and says so
    with pytest.raises(ModelError, match="does not load as an SD 1.x checkpoint") as ei:
        load_models(tiny_spec(single, "", str(tmp_path)))
    assert ei.value.path == single and "model.config_dir" in str(ei.value)


def test_builtin_sd1_config_matches_the_architecture(tmp_path):
    """The generated SD 1.x folder: CLIP's real token ids and SD 1.5's exact parameter counts."""
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from loratui.train.sd1 import ensure_sd1_config

    d = ensure_sd1_config(str(tmp_path))
    assert ensure_sd1_config(str(tmp_path)) == d  # written once
    tok = CLIPTokenizer.from_pretrained(d, subfolder="tokenizer", local_files_only=True)
    assert len(tok) == 49408
    assert tok("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
    with init_empty_weights():
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(d, subfolder="unet"))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(d, subfolder="vae"))
        te = CLIPTextModel(CLIPTextConfig.from_pretrained(d, subfolder="text_encoder"))
    counts = [sum(p.numel() for p in m.parameters()) for m in (unet, vae, te)]
    assert counts == [859_520_964, 83_653_863, 123_060_480]


def test_vae_override_from_folder_and_missing_vae(tiny_model, tmp_path):
    from loratui.train.models import ModelError, load_models

    m = load_models(tiny_spec(tiny_model, "", str(tmp_path), vae=os.path.join(tiny_model, "vae")))
    assert m.vae.config.latent_channels == 4
    with pytest.raises(ModelError, match="VAE not found"):
        load_models(tiny_spec(tiny_model, "", str(tmp_path), vae=str(tmp_path / "nope.safetensors")))


def test_plain_tensor_ckpt_loads_with_weights_only(tiny_model, tmp_path):
    """A .ckpt holding only tensors passes the weights_only check and loads like the .safetensors."""
    import torch
    from safetensors.torch import load_file

    from loratui.train.ldm_export import export_single_file
    from loratui.train.models import load_models

    st = export_single_file(tiny_model, str(tmp_path / "m.safetensors"))
    ckpt = str(tmp_path / "m.ckpt")
    torch.save({"state_dict": load_file(st)}, ckpt)
    m = load_models(tiny_spec(ckpt, "", str(tmp_path), model_config=tiny_model))
    ref = load_models(tiny_spec(tiny_model, "", str(tmp_path)))
    assert m.kind == "single_file"
    for k, v in ref.unet.state_dict().items():
        assert torch.equal(v, m.unet.state_dict()[k]), k


def test_keep_last_removes_older_epoch_files(tiny_model, dataset_dir, tmp_path):
    out = tmp_path / "o"
    spec = tiny_spec(tiny_model, dataset_dir, str(out), epochs=4, save_every_n_epochs=1, keep_last=2,
                     max_train_steps=0)
    result, ev = _run(spec, str(tmp_path / "run"))
    assert result.status == "finished"
    # epochs 1..3 saved along the way, the final file at the end; only the last 2 epoch files stay
    assert sorted(p.name for p in out.glob("*.safetensors")) == ["tiny-000002.safetensors", "tiny-000003.safetensors",
                                                                "tiny.safetensors"]
    assert [e["epoch"] for e in ev if e["type"] == "pruned"] == [1]
