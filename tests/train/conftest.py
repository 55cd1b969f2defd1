"""Fixtures for the training engine: a tiny random-weight model (built once per session) and
small generated datasets. No network: HF_HUB_OFFLINE is forced for this process and children."""

from __future__ import annotations

import os
import random

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    from loratui.train.tiny_model import build_tiny_model

    return build_tiny_model(str(tmp_path_factory.mktemp("models") / "tiny-sd"), seed=0)


def draw_image(path: str, size: tuple[int, int], seed: int) -> None:
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    im = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    d = ImageDraw.Draw(im)
    for _ in range(4):
        x0, y0 = rng.randrange(size[0] // 2), rng.randrange(size[1] // 2)
        d.ellipse((x0, y0, x0 + size[0] // 3, y0 + size[1] // 3), fill=tuple(rng.randrange(256) for _ in range(3)))
    im.save(path)


def make_dataset(root: str, subsets: dict[str, list[tuple[tuple[int, int], str | None]]]) -> str:
    """``subsets``: folder name -> [(image size, caption text or None)]."""
    seed = 0
    for folder, images in subsets.items():
        d = os.path.join(root, folder)
        os.makedirs(d, exist_ok=True)
        for k, (size, caption) in enumerate(images):
            draw_image(os.path.join(d, f"img{k:02d}.png"), size, seed)
            seed += 1
            if caption is not None:
                with open(os.path.join(d, f"img{k:02d}.txt"), "w") as f:
                    f.write(caption + "\n")
    return root


TWO_SUBSETS = {
    "2_mychar": [((64, 64), "mychar, 1girl, smile"), ((64, 96), "mychar, 1girl, standing, hat"),
                 ((96, 48), "mychar, outdoors, sky"), ((64, 64), None)],
    "1_bg": [((96, 48), "scenery, sky"), ((64, 96), "scenery, tree")],
}


@pytest.fixture
def dataset_dir(tmp_path) -> str:
    return make_dataset(str(tmp_path / "data"), TWO_SUBSETS)


def tiny_spec(model: str, data_root: str, out: str, **kw):
    """A TrainSpec for the tiny model: 32-64 px buckets, 2 epochs, fp32 CPU."""
    from loratui.train.spec import SubsetSpec, TrainSpec

    subsets = kw.pop("subsets", None)
    if subsets is None:
        subsets = [SubsetSpec(path=os.path.join(data_root, "2_mychar"), repeats=2, class_tokens="mychar",
                              keep_tokens=1, shuffle_caption=True),
                   SubsetSpec(path=os.path.join(data_root, "1_bg"), repeats=1, flip_aug=True)]
    base = dict(base_model=model, output_dir=out, output_name="tiny", subsets=subsets, resolution=(48, 48),
                min_bucket_reso=32, max_bucket_reso=64, bucket_reso_steps=16, network_dim=4, network_alpha=2.0,
                unet_lr=1e-3, text_encoder_lr=5e-4, epochs=2, batch_size=2, device="cpu", mixed_precision="no",
                save_precision="fp32", seed=7, trigger_words=["mychar"], description="tiny test LoRA")
    base.update(kw)
    return TrainSpec(**base)


def write_run_config(run_dir: str, model: str, data_root: str, **overrides) -> str:
    """A loratui config.toml in ``run_dir`` for the tiny model (through loratui.config)."""
    from loratui.config.model import SubsetConfig, TrainConfig

    cfg = TrainConfig()
    cfg.model.base = model
    cfg.dataset.root = data_root
    cfg.dataset.subsets = [SubsetConfig("2_mychar", 2, "mychar"), SubsetConfig("1_bg", 1, "")]
    cfg.dataset.resolution = [48, 48]
    cfg.dataset.min_bucket_reso = 32
    cfg.dataset.max_bucket_reso = 64
    cfg.dataset.bucket_reso_steps = 16
    cfg.dataset.keep_tokens = 1
    cfg.network.dim = 4
    cfg.network.alpha = 2.0
    cfg.network.conv_dim = 2
    cfg.network.conv_alpha = 1.0
    cfg.optim.unet_lr = 1e-3
    cfg.optim.text_encoder_lr = 5e-4
    cfg.optim.batch_size = 2
    cfg.optim.mixed_precision = "no"
    cfg.optim.seed = 7
    cfg.optim.scheduler = "cosine"
    cfg.optim.warmup_steps = 1
    cfg.schedule.epochs = 2
    cfg.schedule.sample_every_n_epochs = 0
    cfg.hardware.device = "cpu"
    cfg.output.dir = "output"
    cfg.output.name = "tiny"
    cfg.output.save_precision = "fp16"
    cfg.output.trigger_words = ["mychar"]
    cfg.output.description = "tiny test LoRA"
    for dotted, value in overrides.items():
        section, key = dotted.split("__")
        setattr(getattr(cfg, section), key, value)
    os.makedirs(run_dir, exist_ok=True)
    path = os.path.join(run_dir, "config.toml")
    cfg.save(path)
    return path


@pytest.fixture(scope="session")
def tiny_sdxl(tmp_path_factory) -> str:
    """A tiny random-weight SDXL-architecture diffusers folder (two text encoders, text-time UNet)."""
    from loratui.train.tiny_model import build_tiny_sdxl_model

    return build_tiny_sdxl_model(str(tmp_path_factory.mktemp("models") / "tiny-sdxl"), seed=0)
