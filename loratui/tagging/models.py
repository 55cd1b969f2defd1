"""Known WD14 tagger models, where their files live, and fetching them from the Hugging Face hub.

A model is a folder holding ``model.onnx`` and ``selected_tags.csv``. Known models are downloaded
into ``<user cache>/loratui/models/<name>/``; any other folder with those two files works too.
Nothing here imports onnxruntime.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

MODEL_FILE = "model.onnx"
LABELS_FILE = "selected_tags.csv"
REQUIRED_FILES = (MODEL_FILE, LABELS_FILE)


@dataclass(frozen=True)
class KnownModel:
    name: str
    repo_id: str
    family: str
    note: str = ""


KNOWN_MODELS: dict[str, KnownModel] = {m.name: m for m in [
    KnownModel("vit-v3", "SmilingWolf/wd-vit-tagger-v3", "v3", "fast, good general choice"),
    KnownModel("convnext-v3", "SmilingWolf/wd-convnext-tagger-v3", "v3"),
    KnownModel("swinv2-v3", "SmilingWolf/wd-swinv2-tagger-v3", "v3", "default: best quality/speed of v3"),
    KnownModel("eva02-large-v3", "SmilingWolf/wd-eva02-large-tagger-v3", "v3", "most accurate, slowest (large)"),
    KnownModel("vit-v2", "SmilingWolf/wd-v1-4-vit-tagger-v2", "v2"),
    KnownModel("convnext-v2", "SmilingWolf/wd-v1-4-convnext-tagger-v2", "v2", "kohya's default"),
    KnownModel("swinv2-v2", "SmilingWolf/wd-v1-4-swinv2-tagger-v2", "v2"),
    KnownModel("moat-v2", "SmilingWolf/wd-v1-4-moat-tagger-v2", "v2"),
]}
DEFAULT_MODEL = "swinv2-v3"


class ModelError(Exception):
    """The model cannot be found, fetched or used; the message says what to do."""


@dataclass(frozen=True)
class ModelFiles:
    """A usable model folder."""

    name: str
    """Registry name, or the folder's name for a custom model."""
    dir: str

    @property
    def model_path(self) -> str:
        return os.path.join(self.dir, MODEL_FILE)

    @property
    def labels_path(self) -> str:
        return os.path.join(self.dir, LABELS_FILE)

    def key(self) -> str:
        """Identifies these exact weights and tag list (the probability cache's key)."""
        h = hashlib.sha1()
        with open(self.labels_path, "rb") as f:
            h.update(f.read())
        h.update(str(os.path.getsize(self.model_path)).encode())
        return f"{self.name}:{h.hexdigest()[:16]}"


def models_dir() -> str:
    """Where known models are downloaded (``$LORATUI_MODELS_DIR`` overrides)."""
    env = os.environ.get("LORATUI_MODELS_DIR")
    if env:
        return env
    import platformdirs

    return os.path.join(platformdirs.user_cache_dir("loratui"), "models")


def missing_files(folder: str) -> list[str]:
    return [f for f in REQUIRED_FILES if not os.path.isfile(os.path.join(folder, f))]


def local_state(name: str) -> tuple[str, str | None]:
    """("downloaded", folder) | ("hf-cache", folder) | ("missing", None) for a known model."""
    m = KNOWN_MODELS[name]
    d = os.path.join(models_dir(), name)
    if not missing_files(d):
        return "downloaded", d
    hf = _from_hf_cache(m.repo_id)
    if hf:
        return "hf-cache", hf
    return "missing", None


def _from_hf_cache(repo_id: str) -> str | None:
    """The snapshot folder holding both files in the user's Hugging Face cache, if any (offline)."""
    try:
        from huggingface_hub import constants
    except ImportError:
        return None
    if not os.path.isdir(os.path.join(constants.HF_HUB_CACHE, "models--" + repo_id.replace("/", "--"))):
        # the usual answer, found without importing the download machinery (a sixth of a second)
        return None
    from huggingface_hub import try_to_load_from_cache

    found = []
    for f in REQUIRED_FILES:
        try:
            p = try_to_load_from_cache(repo_id, f)
        except Exception:  # any cache layout problem means "not there"
            return None
        if not isinstance(p, str):
            return None
        found.append(os.path.dirname(p))
    return found[0] if len(set(found)) == 1 else None


def resolve_model(name: str | None = None, model_dir: str | None = None) -> ModelFiles:
    """Find a model's files locally (never downloads). Raises ModelError saying what to do."""
    if model_dir:
        d = os.path.abspath(os.path.expanduser(model_dir))
        if not os.path.isdir(d):
            raise ModelError(f"{model_dir}: no such folder (a model folder holds {' and '.join(REQUIRED_FILES)})")
        missing = missing_files(d)
        if missing:
            raise ModelError(f"{model_dir}: missing {', '.join(missing)} (a WD14 model folder holds "
                             f"{' and '.join(REQUIRED_FILES)}, as published in SmilingWolf's hub repos)")
        return ModelFiles(os.path.basename(d.rstrip(os.sep)) or d, d)
    name = name or DEFAULT_MODEL
    if name not in KNOWN_MODELS:
        if os.path.isdir(os.path.expanduser(name)):
            return resolve_model(model_dir=name)
        raise ModelError(f"unknown model {name!r}; known: {', '.join(KNOWN_MODELS)} "
                         "(or give a folder with --model-dir)")
    state, d = local_state(name)
    if d is None:
        m = KNOWN_MODELS[name]
        raise ModelError(
            f"model {name} is not downloaded. Run `loratui models get {name}`, or download "
            f"{' and '.join(REQUIRED_FILES)} from https://huggingface.co/{m.repo_id} into "
            f"{os.path.join(models_dir(), name)}/ (or any folder, then use --model-dir)")
    return ModelFiles(name, d)


def download_model(name: str) -> ModelFiles:
    """Fetch a known model's two files into ``models_dir()/name`` (huggingface_hub shows progress)."""
    if name not in KNOWN_MODELS:
        raise ModelError(f"unknown model {name!r}; known: {', '.join(KNOWN_MODELS)}")
    m = KNOWN_MODELS[name]
    dest = os.path.join(models_dir(), name)
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled
    except ImportError:
        raise ModelError("huggingface_hub is not installed; download the files by hand "
                         f"from https://huggingface.co/{m.repo_id}") from None
    os.makedirs(dest, exist_ok=True)
    try:
        for f in REQUIRED_FILES:
            hf_hub_download(m.repo_id, f, local_dir=dest)
    except (OfflineModeIsEnabled, LocalEntryNotFoundError, HfHubHTTPError, OSError) as e:
        raise ModelError(
            f"could not download {name} ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}). "
            f"Offline? Copy {' and '.join(REQUIRED_FILES)} from https://huggingface.co/{m.repo_id} "
            f"into {dest}/ (HF_HUB_OFFLINE=1 disables downloads)") from None
    return ModelFiles(name, dest)
