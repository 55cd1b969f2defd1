"""The built-in demo workspace: a small kohya-layout dataset drawn with Pillow.

Layout: ``WORKSPACE/dataset/`` (what the TUI opens), ``WORKSPACE/models/`` (a tiny random-weight
model) and ``WORKSPACE/output/`` (trained LoRAs, samples), so that models and outputs never show
up as images of the dataset. Two subsets, `10_demo_char` (a "character": a figure with fixed traits in varied framings) and
`4_demo_bg` (backgrounds), ~24 images of different sizes and aspect ratios, with booru-style
captions, so every screen has something real to show without any download.
"""

from __future__ import annotations

import os
import random

DEMO_TRIGGER = "demo_char"
TRAIN_CONFIG = "loratui-train.toml"
"""A dataset's own training config: the TUI's config screen opens it when present."""
DEMO_MODEL_DIR = "models/tiny-sd-random"
"""Relative to the workspace (the dataset folder's parent)."""

_CHAR_SHOTS = [
    # (framing tag, size, extra tags)
    ("portrait", (512, 512), ["smile", "looking at viewer"]),
    ("close-up", (512, 512), ["closed eyes", "simple background"]),
    ("upper body", (512, 640), ["school uniform", "white background"]),
    ("upper body", (640, 512), ["hat", "outdoors", "sky"]),
    ("cowboy shot", (512, 768), ["standing", "skirt"]),
    ("full body", (512, 896), ["standing", "boots", "skirt"]),
    ("full body", (768, 512), ["sitting", "bench", "outdoors"]),
    ("portrait", (448, 576), ["blush", "open mouth"]),
    ("upper body", (576, 576), ["holding cup", "indoors"]),
    ("cowboy shot", (512, 704), ["hands on hips", "smile"]),
    ("close-up", (384, 384), ["looking at viewer", "simple background"]),
    ("full body", (640, 960), ["jumping", "outdoors", "sky"]),
    ("portrait", (512, 512), ["hat", "smile"]),
    ("upper body", (704, 512), ["waving", "smile", "outdoors"]),
]
_BG_SHOTS = [
    ("sky", (768, 512), ["scenery", "no humans", "sky", "cloud", "day"]),
    ("sunset", (896, 512), ["scenery", "no humans", "sunset", "orange sky"]),
    ("night", (768, 512), ["scenery", "no humans", "night", "starry sky"]),
    ("forest", (640, 512), ["scenery", "no humans", "forest", "tree", "day"]),
    ("sea", (1024, 576), ["scenery", "no humans", "ocean", "horizon", "day"]),
    ("city", (512, 768), ["scenery", "no humans", "city", "building", "night"]),
    ("field", (768, 432), ["scenery", "no humans", "grass", "field", "day"]),
    ("room", (640, 640), ["scenery", "no humans", "indoors", "window"]),
    ("snow", (768, 512), ["scenery", "no humans", "snow", "winter"]),
    ("desert", (832, 480), ["scenery", "no humans", "desert", "sand", "day"]),
]
_SKY = {"sky": (135, 190, 240), "sunset": (240, 140, 70), "night": (20, 24, 60), "forest": (150, 200, 150),
        "sea": (120, 180, 230), "city": (30, 30, 50), "field": (170, 210, 250), "room": (220, 210, 190),
        "snow": (210, 220, 235), "desert": (245, 215, 150)}
_GROUND = {"sky": None, "sunset": (60, 40, 60), "night": (10, 10, 20), "forest": (40, 100, 40),
           "sea": (30, 80, 160), "city": (60, 60, 70), "field": (90, 170, 60), "room": (150, 110, 80),
           "snow": (245, 245, 250), "desert": (220, 180, 110)}


def default_demo_path() -> str:
    import platformdirs

    return os.path.join(platformdirs.user_data_dir("loratui", appauthor=False), "demo")


def create_demo(path: str | None = None, force: bool = False) -> str:
    """Create the demo workspace at ``path`` (default: the user data dir) unless it exists.

    Returns the dataset folder (``path/dataset``). Existing files are never overwritten: a demo
    the user has edited stays as they left it.
    """
    from PIL import Image, ImageDraw

    root = os.path.join(os.path.abspath(path or default_demo_path()), "dataset")
    marker = os.path.join(root, ".loratui", "demo")
    if os.path.exists(marker) and not force:
        return root
    rng = random.Random(1234)
    char_dir = os.path.join(root, f"10_{DEMO_TRIGGER}")
    bg_dir = os.path.join(root, "4_demo_bg")
    os.makedirs(char_dir, exist_ok=True)
    os.makedirs(bg_dir, exist_ok=True)

    for n, (framing, size, extra) in enumerate(_CHAR_SHOTS, 1):
        stem = f"char_{n:02d}"
        img = Image.new("RGB", size, _pastel(rng))
        _draw_character(ImageDraw.Draw(img), size, framing, rng)
        tags = [DEMO_TRIGGER, "1girl", "solo", "red hair", "blue eyes", framing, *extra]
        ext = ".png" if n % 3 else ".jpg"
        _write(os.path.join(char_dir, stem + ext), img)
        _write_text(os.path.join(char_dir, stem + ".txt"), ", ".join(tags))
    for n, (kind, size, tags) in enumerate(_BG_SHOTS, 1):
        stem = f"bg_{n:02d}_{kind}"
        img = Image.new("RGB", size, _SKY[kind])
        _draw_background(ImageDraw.Draw(img), size, kind, rng)
        ext = ".webp" if n % 4 == 0 else ".png"
        _write(os.path.join(bg_dir, stem + ext), img)
        _write_text(os.path.join(bg_dir, stem + ".txt"), ", ".join(tags))
    os.makedirs(os.path.dirname(marker), exist_ok=True)
    with open(marker, "w", encoding="utf-8") as f:
        f.write("created by `loratui demo`\n")
    return root


def ensure_demo_training(root: str, log=print) -> str | None:
    """Give the demo a tiny random-weight model and a ready training config (once).

    The model is built in a subprocess so that this process (the TUI) never imports torch; it
    takes a few seconds, once. Returns the config path, or None if the model could not be built
    (torch or diffusers missing), after saying why through ``log``.
    """
    import subprocess
    import sys

    config_path = os.path.join(root, TRAIN_CONFIG)
    workspace = os.path.dirname(root)
    model = os.path.join(workspace, DEMO_MODEL_DIR)
    if not os.path.isfile(os.path.join(model, "model_index.json")):
        log("building the demo's tiny random-weight model (once, a few seconds)...")
        code = "import sys; from loratui.train.tiny_model import build_tiny_model; build_tiny_model(sys.argv[1])"
        p = subprocess.run([sys.executable, "-c", code, model], capture_output=True, text=True)
        if p.returncode != 0:
            last = (p.stderr.strip().splitlines() or ["unknown error"])[-1]
            log(f"demo training model not built ({last}); the dataset works without it")
            return None
    if not os.path.exists(config_path):
        write_demo_config(root, model, config_path, os.path.join(workspace, "output"))
    return config_path


def write_demo_config(root: str, model: str, path: str, output_dir: str) -> None:
    """A config that trains the demo character on the tiny model in about a minute on a CPU."""
    from loratui.config import new_config

    cfg = new_config(root, "character", base=model, output_dir=output_dir)
    cfg.dataset.resolution = [64, 64]
    cfg.dataset.min_bucket_reso = 32
    cfg.dataset.max_bucket_reso = 128
    cfg.dataset.bucket_reso_steps = 16
    cfg.network.dim = 8
    cfg.network.alpha = 4.0
    cfg.optim.batch_size = 4
    cfg.optim.mixed_precision = "no"
    cfg.schedule.epochs = 2
    cfg.schedule.sample_every_n_epochs = 1
    cfg.schedule.sample_prompts = [f"{DEMO_TRIGGER}, 1girl, smile --w 64 --h 64 --s 4 --d 1"]
    cfg.output.name = "demo_char"
    cfg.output.description = "loratui demo: trained on a tiny RANDOM-WEIGHT model; its outputs are noise"
    cfg.save(path)


def _write(path: str, img) -> None:
    if os.path.exists(path):
        return
    img.save(path, quality=90) if path.endswith((".jpg", ".webp")) else img.save(path)


def _write_text(path: str, text: str) -> None:
    if os.path.exists(path):
        return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _pastel(rng: random.Random) -> tuple[int, int, int]:
    return tuple(rng.randint(180, 245) for _ in range(3))  # type: ignore[return-value]


def _draw_character(d, size, framing: str, rng: random.Random) -> None:
    w, h = size
    scale = {"close-up": 1.6, "portrait": 1.2, "upper body": 0.8, "cowboy shot": 0.6, "full body": 0.42}[framing]
    cx = w // 2 + rng.randint(-w // 10, w // 10)
    r = int(min(w, h) * 0.22 * scale)
    cy = int(h * (0.5 if framing in ("close-up", "portrait") else 0.3))
    body_h = int(r * 5)
    d.rectangle([cx - r, cy + r, cx + r, cy + r + body_h], fill=(60, 70, 140))  # uniform
    d.ellipse([cx - int(r * 1.3), cy - int(r * 1.3), cx + int(r * 1.3), cy + int(r * 1.1)], fill=(200, 40, 40))  # red hair
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(250, 220, 200))  # face
    e = max(2, r // 6)
    for ex in (cx - r // 3, cx + r // 3):
        d.ellipse([ex - e, cy - e, ex + e, cy + e], fill=(40, 90, 220))  # blue eyes
    d.arc([cx - r // 3, cy + r // 4, cx + r // 3, cy + r // 2], 0, 180, fill=(150, 40, 40), width=max(1, r // 15))


def _draw_background(d, size, kind: str, rng: random.Random) -> None:
    w, h = size
    ground = _GROUND[kind]
    horizon = int(h * rng.uniform(0.55, 0.7))
    if ground:
        d.rectangle([0, horizon, w, h], fill=ground)
    if kind in ("night", "city"):
        for _ in range(60):
            x, y = rng.randrange(w), rng.randrange(horizon)
            d.point((x, y), fill=(255, 255, 220))
    if kind in ("sky", "field", "sea", "desert", "forest"):
        for _ in range(4):
            x, y = rng.randrange(w), rng.randrange(max(1, horizon // 2))
            d.ellipse([x, y, x + w // 6, y + h // 14], fill=(250, 250, 250))
    if kind == "forest":
        for _ in range(12):
            x = rng.randrange(w)
            d.polygon([(x, horizon - h // 4), (x - w // 20, horizon), (x + w // 20, horizon)], fill=(20, 80, 30))
    if kind == "city":
        for _ in range(10):
            x = rng.randrange(w)
            bh = rng.randint(h // 6, h // 2)
            d.rectangle([x, horizon - bh, x + w // 12, horizon], fill=(45, 45, 60))
    if kind in ("sunset", "desert"):
        d.ellipse([w // 2 - 40, horizon - 60, w // 2 + 40, horizon + 20], fill=(255, 200, 80))
    if kind == "room":
        d.rectangle([w // 4, h // 6, 3 * w // 4, h // 2], fill=(170, 210, 250), outline=(90, 60, 40), width=8)
