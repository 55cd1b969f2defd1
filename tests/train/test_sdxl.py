"""SDXL end to end on a tiny SDXL-architecture model: loading (folder, single file), conditioning,
training (epsilon, v-pred + zero-terminal SNR, cached text-encoder outputs), output keys and
metadata, diffusers compatibility, resume."""

from __future__ import annotations

import os

import pytest

from loratui.train.events import EventLog, read_events
from loratui.train.spec import SubsetSpec
from loratui.train.trainer import Stopper, train

from .conftest import make_dataset, tiny_spec

pytestmark = pytest.mark.slow

SGM_UNET = ("lora_unet_input_blocks_", "lora_unet_middle_block_", "lora_unet_output_blocks_")


def _run(spec, run_dir, stop_at=None):
    os.makedirs(run_dir, exist_ok=True)
    log = os.path.join(run_dir, "events.jsonl")
    stopper = Stopper(run_dir)
    stopper.stop_at = stop_at
    result = train(spec, run_dir, EventLog(log), stopper)
    return result, read_events(log)


@pytest.fixture(scope="module")
def xl_data(tmp_path_factory):
    return make_dataset(str(tmp_path_factory.mktemp("xld") / "d"), {
        "1_x": [((32, 48), "x, red"), ((48, 32), "x, blue"), ((32, 32), "x, green")]})


def _xl_spec(model, root, out, **kw):
    base = {"family": "sdxl", "subsets": [SubsetSpec(path=os.path.join(root, "1_x"), repeats=1)], "epochs": 1,
                "batch_size": 1, "resolution": (32, 32), "min_bucket_reso": 32, "max_bucket_reso": 64, "train_text_encoder": False}
    base.update(kw)
    return tiny_spec(model, root, out, **base)


def test_size_ids_follow_sd_scripts_crop_rule():
    from loratui.train.conditioning import crop_ltrb, size_ids

    # a wide image in a square bucket: sd-scripts reports it as fitted with bars above and below
    assert crop_ltrb((1024, 1024), (2000, 1000)) == (0, 256.0, 1024, 768.0)
    assert size_ids((2000, 1000), (1024, 1024), False) == (1000, 2000, 256, 0, 1024, 1024)
    # a tall image in a wider bucket: offset to the left; flipped, measured from the right edge
    left, top, right, _bottom = crop_ltrb((1024, 1024), (500, 1000))
    assert (left, top, right) == (256.0, 0, 768.0)
    assert size_ids((500, 1000), (1024, 1024), True) == (1000, 500, 0, 1024 - 768, 1024, 1024)
    assert size_ids((832, 1216), (832, 1216), False) == (1216, 832, 0, 0, 1216, 832)


def test_conditioning_matches_the_sdxl_pipeline(tiny_sdxl):
    """Penultimate states of both encoders, concatenated, and TE2's pooled output: what diffusers'
    SDXL pipeline feeds its UNet (which is also sd-scripts' conditioning)."""
    import torch
    from diffusers import StableDiffusionXLPipeline

    from loratui.train.conditioning import TextEncoder

    pipe = StableDiffusionXLPipeline.from_pretrained(tiny_sdxl, local_files_only=True)
    enc = TextEncoder([pipe.tokenizer, pipe.tokenizer_2], [pipe.text_encoder, pipe.text_encoder_2],
                      [pipe.text_encoder, pipe.text_encoder_2], clip_skip=2, device="cpu")
    caps = ["x, red ball", "the cat"]
    with torch.no_grad():
        ours = enc(caps)
        embeds, _, pooled, _ = pipe.encode_prompt(caps, do_classifier_free_guidance=False)
    assert ours.hidden.shape == (2, 77, 80) and ours.pooled.shape == (2, 48)
    torch.testing.assert_close(ours.hidden, embeds)
    torch.testing.assert_close(ours.pooled, pooled)


def test_builtin_sdxl_config_is_the_sdxl_architecture(tmp_path):
    """The config folder loratui writes for single files: SDXL's parameter counts and module sets
    equal to sd-scripts' (722 UNet, 72 + 192 text-encoder LoRA modules), built on the meta device."""
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    from loratui.lora.kohya_keys import te_targets, unet_targets
    from loratui.lora.sgm_keys import SgmLayout
    from loratui.train.network import Network
    from loratui.train.sdxl import ensure_sdxl_config

    d = ensure_sdxl_config(str(tmp_path))
    tok2 = CLIPTokenizer.from_pretrained(d, subfolder="tokenizer_2", local_files_only=True)
    tok = CLIPTokenizer.from_pretrained(d, subfolder="tokenizer", local_files_only=True)
    assert tok2.pad_token == "!" and tok2.pad_token_id == 0 and tok.pad_token_id == 49407
    assert tok2("a photo of a cat").input_ids == tok("a photo of a cat").input_ids == [
        49406, 320, 1125, 539, 320, 2368, 49407]
    with init_empty_weights():
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(d, subfolder="unet"))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(d, subfolder="vae"))
        te1 = CLIPTextModel(CLIPTextConfig.from_pretrained(d, subfolder="text_encoder"))
        te2 = CLIPTextModelWithProjection(CLIPTextConfig.from_pretrained(d, subfolder="text_encoder_2"))
    counts = [sum(p.numel() for p in m.parameters()) for m in (unet, vae, te1, te2)]
    assert counts == [2_567_463_684, 83_653_863, 123_060_480, 694_659_840]

    net = Network(sgm=SgmLayout.from_config(unet.config))
    ut = unet_targets(unet)
    assert len(ut) == 722 and len(te_targets(te1)) == 72 and len(te_targets(te2)) == 192
    # sd-scripts' SDXL UNet LoRA names, built from the SGM layout itself
    expected = set()
    blocks = [(f"input_blocks_{i}_1", 2) for i in (4, 5)] + [(f"input_blocks_{i}_1", 10) for i in (7, 8)] + \
             [("middle_block_1", 10)] + [(f"output_blocks_{i}_1", 10) for i in (0, 1, 2)] + \
             [(f"output_blocks_{i}_1", 2) for i in (3, 4, 5)]
    for block, depth in blocks:
        expected |= {f"lora_unet_{block}_proj_in", f"lora_unet_{block}_proj_out"}
        for t in range(depth):
            for leaf in ("attn1_to_q", "attn1_to_k", "attn1_to_v", "attn1_to_out_0", "attn2_to_q", "attn2_to_k",
                         "attn2_to_v", "attn2_to_out_0", "ff_net_0_proj", "ff_net_2"):
                expected.add(f"lora_unet_{block}_transformer_blocks_{t}_{leaf}")
    assert {net.unet_key(n) for n in ut} == expected
    assert net.te_key("text_model.encoder.layers.31.mlp.fc2", 2) == "lora_te2_text_model_encoder_layers_31_mlp_fc2"
    assert {net.te_key(n, 1) for n in te_targets(te1)} == {
        f"lora_te1_text_model_encoder_layers_{i}_{leaf}" for i in range(12)
        for leaf in ("self_attn_q_proj", "self_attn_k_proj", "self_attn_v_proj", "self_attn_out_proj",
                     "mlp_fc1", "mlp_fc2")}
    # LoCon adds the resnets, down- and upsamplers, still in SGM naming
    conv = {net.unet_key(n) for n in unet_targets(unet, conv=True)} - expected
    assert {"lora_unet_input_blocks_1_0_in_layers_2", "lora_unet_input_blocks_3_0_op",
            "lora_unet_output_blocks_2_2_conv", "lora_unet_output_blocks_5_2_conv", "lora_unet_middle_block_0_emb_layers_1",
            "lora_unet_output_blocks_0_0_skip_connection"} <= conv


@pytest.mark.parametrize("network", ["lora", "locon"])
def test_saved_sdxl_lora_loads_in_diffusers_with_identical_outputs(tiny_sdxl, tmp_path, network):
    """UNet and both text encoders of the training-time model, reproduced by
    StableDiffusionXLPipeline.load_lora_weights from the saved kohya file."""
    import torch
    from diffusers import StableDiffusionXLPipeline
    from safetensors.torch import load_file

    from loratui.lora.kohya_save import save_kohya
    from loratui.train.conditioning import TextEncoder, size_ids
    from loratui.train.models import load_models
    from loratui.train.network import build_network, kohya_tensors

    spec = _xl_spec(tiny_sdxl, "", str(tmp_path), train_text_encoder=True, network_type=network, conv_dim=3,
                    conv_alpha=1.5)
    m = load_models(spec)
    net = build_network(m.unet, m.text_encoder, spec, text_encoder_2=m.text_encoder_2)
    torch.manual_seed(1)
    with torch.no_grad():
        for p in net.unet_params(m.unet) + net.te_params(m.text_encoder) + net.te2_params(m.text_encoder_2):
            p.add_(torch.randn_like(p) * 0.1)
    path = str(tmp_path / "x.safetensors")
    save_kohya(path, kohya_tensors(net, m.unet, m.text_encoder, text_encoder_2=m.text_encoder_2), {})
    sd = load_file(path)
    assert all(k.startswith(SGM_UNET + ("lora_te1_text_model_encoder_layers_", "lora_te2_text_model_encoder_layers_"))
               for k in sd)
    assert any(k.startswith("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.") for k in sd)
    assert len([k for k in sd if k.startswith("lora_te2_") and k.endswith(".alpha")]) == 12

    caps = ["x, red ball"]
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([500])
    tid = torch.tensor([size_ids((48, 32), (32, 32), False)], dtype=torch.float32)

    def run(tok1, tok2, te1, te2, unet):
        enc = TextEncoder([tok1, tok2], [te1, te2], [te1, te2], 1, "cpu")
        with torch.no_grad():
            c = enc(caps)
            out = unet(x, t, c.hidden, added_cond_kwargs={"text_embeds": c.pooled, "time_ids": tid}).sample
        return c, out

    c_train, out_train = run(m.tokenizer, m.tokenizer_2, m.text_encoder, m.text_encoder_2, m.unet)
    pipe = StableDiffusionXLPipeline.from_pretrained(tiny_sdxl, local_files_only=True)
    _, out_base = run(pipe.tokenizer, pipe.tokenizer_2, pipe.text_encoder, pipe.text_encoder_2, pipe.unet)
    pipe.load_lora_weights(path)
    c_loaded, out_loaded = run(pipe.tokenizer, pipe.tokenizer_2, pipe.text_encoder, pipe.text_encoder_2, pipe.unet)

    def rel(a, b):
        return float((a - b).norm() / b.norm())

    assert rel(c_loaded.hidden, c_train.hidden) < 1e-3 and rel(c_loaded.pooled, c_train.pooled) < 1e-3
    assert rel(out_loaded, out_train) < 1e-3
    assert rel(out_base, out_train) > 1e-2  # the adapter really changes the model


def test_sdxl_folder_trains_epsilon_unet_and_both_encoders(tiny_sdxl, xl_data, tmp_path):
    import torch
    from safetensors.torch import load_file

    from loratui.lora.kohya_save import read_metadata

    spec = _xl_spec(tiny_sdxl, xl_data, str(tmp_path / "o"), train_text_encoder=True, text_encoder_lr=5e-4,
                    text_encoder2_lr=2e-4, gradient_checkpointing=True, max_train_steps=2,
                    sample_prompts=["x, red --w 32 --h 32 --s 1 --l 1"], sample_every_n_epochs=1,
                    sample_strengths=[0.5, 1.0])
    result, ev = _run(spec, str(tmp_path / "run"))
    assert result.status == "finished" and result.step == 2
    samples = [e for e in ev if e["type"] == "sample"]  # the SDXL pipeline, at each strength
    assert [e["strength"] for e in samples] == [0.5, 1.0] and all(os.path.isfile(e["path"]) for e in samples)
    loaded = next(e for e in ev if e["type"] == "model_loaded")
    assert loaded["family"] == "sdxl" and loaded["v_parameterization"] is False
    net = next(e for e in ev if e["type"] == "network")
    assert (net["te1_modules"], net["te2_modules"]) == (12, 12)
    step = next(e for e in ev if e["type"] == "step")
    assert set(step["lr"]) == {"unet", "te1", "te2"} and step["lr"]["te2"] < step["lr"]["te1"]
    sd = load_file(result.path)
    assert {k.split("_")[1] for k in sd} == {"unet", "te1", "te2"}
    assert all(k.startswith(SGM_UNET) for k in sd if k.startswith("lora_unet_"))
    assert all(float(v.abs().max()) > 0 for k, v in sd.items() if k.endswith("lora_up.weight")
               and k.startswith("lora_te2_"))  # the second encoder really trained
    assert all(v.dtype == torch.float32 for v in sd.values())
    md = read_metadata(result.path)
    assert md["ss_base_model_version"] == "sdxl_base_v1-0" and md["ss_v2"] == "False"
    assert md["modelspec.architecture"] == "stable-diffusion-xl-v1-base/lora"
    assert md["ss_text_encoder_lr"] == "[0.0005, 0.0002]" and md["ss_resolution"] == "(32, 32)"
    assert md["ss_network_train_unet_only"] == "False"


def test_sdxl_single_file_vpred_ztsnr_with_cached_text(tiny_sdxl, xl_data, tmp_path):
    """A single-file SDXL checkpoint (SGM layout, OpenCLIP naming for TE2) with NoobAI's v_pred and
    ztsnr markers: v-prediction is read from the file; cached text outputs give the uncached run's
    loss trajectory."""
    import torch
    from safetensors.torch import load_file, save_file

    from loratui.lora.kohya_save import read_metadata
    from loratui.train.ldm_export import export_single_file
    from loratui.train.models import ModelError, load_models

    single = export_single_file(tiny_sdxl, str(tmp_path / "tiny-xl.safetensors"))
    sd = load_file(single)
    assert "conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj_weight" in sd
    sd["v_pred"], sd["ztsnr"] = torch.zeros(0), torch.zeros(0)
    save_file(sd, single)
    with pytest.raises(ModelError, match='set model.family = "sdxl"'):
        load_models(tiny_spec(single, "", str(tmp_path), model_config=tiny_sdxl))
    m = load_models(_xl_spec(single, "", str(tmp_path), model_config=tiny_sdxl))
    assert m.kind == "single_file" and m.sdxl and m.v_parameterization and m.checkpoint_ztsnr
    ref = load_models(_xl_spec(tiny_sdxl, "", str(tmp_path)))
    for a, b in ((m.unet, ref.unet), (m.text_encoder_2, ref.text_encoder_2), (m.text_encoder, ref.text_encoder)):
        rs = b.state_dict()
        for k, v in a.state_dict().items():
            torch.testing.assert_close(v, rs[k], msg=k)

    kw = {"model_config": tiny_sdxl, "zero_terminal_snr": True, "min_snr_gamma": 5.0, "max_train_steps": 2}
    r1, ev1 = _run(_xl_spec(single, xl_data, str(tmp_path / "o1"), **kw), str(tmp_path / "r1"))
    r2, ev2 = _run(_xl_spec(single, xl_data, str(tmp_path / "o2"), cache_text_encoder_outputs=True, **kw),
                   str(tmp_path / "r2"))
    assert r1.status == r2.status == "finished"
    assert next(e for e in ev2 if e["type"] == "text_cache")["captions"] == 3
    l1 = [e["loss"] for e in ev1 if e["type"] == "step"]
    l2 = [e["loss"] for e in ev2 if e["type"] == "step"]
    assert len(l1) == 2 and l1 == pytest.approx(l2, rel=1e-4)
    md = read_metadata(r2.path)
    assert md["ss_base_model_version"] == "sdxl_base_v1-0_v" and md["ss_v_parameterization"] == "True"
    assert md["ss_network_train_unet_only"] == "True"
    assert not [e for e in ev2 if e["type"] == "warning" and "ztsnr" in e.get("message", "")]
    a, b = load_file(r1.path), load_file(r2.path)
    for k in a:
        # cached and live text outputs differ in float summation order: after two Adam steps a few
        # of the tiny weights differed by 1.5e-5 in one full-suite run, so the bound is 1e-4
        torch.testing.assert_close(a[k], b[k], rtol=1e-3, atol=1e-4)


def test_sdxl_resume_is_exact(tiny_sdxl, xl_data, tmp_path):
    import torch
    from safetensors.torch import load_file

    def spec(out):
        return _xl_spec(tiny_sdxl, xl_data, str(tmp_path / out), epochs=2, max_train_steps=3,
                        train_text_encoder=True, v_parameterization=True, noise_offset=0.05)

    ra, ev_a = _run(spec("a"), str(tmp_path / "ra"))
    rb1, _ = _run(spec("b"), str(tmp_path / "rb"), stop_at=1)
    assert rb1.status == "stopped"
    rb2, ev_b = _run(spec("b"), str(tmp_path / "rb"))
    assert any(e["type"] == "resumed" for e in ev_b)
    assert rb2.status == ra.status == "finished" and rb2.step == ra.step == 3
    assert [e["loss"] for e in ev_a if e["type"] == "step"] == [e["loss"] for e in ev_b if e["type"] == "step"]
    a, b = load_file(ra.path), load_file(rb2.path)
    assert any(k.startswith("lora_te2_") for k in a)
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_sdxl_lycoris_uses_the_same_sgm_and_te1_te2_names(tiny_sdxl, tmp_path):
    """LoHa on SDXL: lycoris-lora's tensors under sd-scripts' SDXL key names."""
    from loratui.train.models import load_models
    from loratui.train.network import adapter_state, build_network, kohya_tensors, load_adapter_state

    spec = _xl_spec(tiny_sdxl, "", str(tmp_path), network_type="loha", train_text_encoder=True)
    m = load_models(spec)
    net = build_network(m.unet, m.text_encoder, spec, text_encoder_2=m.text_encoder_2)
    assert net.lycoris and net.te2_targets and net.te2_params(m.text_encoder_2)
    sd = kohya_tensors(net, m.unet, m.text_encoder, text_encoder_2=m.text_encoder_2)
    assert {k.split("_")[1] for k in sd} == {"unet", "te1", "te2"}
    # lycoris' "full" preset also adapts the embeddings and the outer convolutions: SGM names too
    outer = ("lora_unet_time_embed_", "lora_unet_label_emb_0_", "lora_unet_out_2")
    assert all(k.startswith(SGM_UNET + outer) for k in sd if k.startswith("lora_unet_"))
    assert "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.hada_w1_a" in sd
    st = adapter_state(net, m.unet, m.text_encoder, m.text_encoder_2)
    assert any(k.startswith("te2:") for k in st)
    load_adapter_state(net, m.unet, m.text_encoder, st, m.text_encoder_2)
