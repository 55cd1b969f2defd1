"""What a LoRA file is: format, modules, ranks/alphas, base model, training settings, tags, hashes.

Reads only the header, the scalar ``alpha`` tensors by offset, and (for hashes) streams the data.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field

from .hashes import is_lycoris_hash, sd_scripts_hashes
from .header import Header, LoraFileError, read_header, read_scalar

KOHYA_PREFIXES = ("lora_unet_", "lora_te1_", "lora_te2_", "lora_te_")
PEFT_MARKERS = (".lora_A.", ".lora_B.", ".lora.down.", ".lora.up.", ".lora_A_", ".lora_B_",
                ".lora_linear_layer.down.", ".lora_linear_layer.up.", "_lora.down.", "_lora.up.")
# diffusers before peft (``save_lora_weights`` / attention processors): ``...q_proj.lora_linear_layer.down``
# and ``...processor.to_q_lora.down``; read as the ``.lora.down``/``.lora.up`` spelling
_OLD_DIFFUSERS = ((".lora_linear_layer.down.", ".lora.down."), (".lora_linear_layer.up.", ".lora.up."),
                  ("_lora.down.", ".lora.down."), ("_lora.up.", ".lora.up."))
DATE_KEYS = ("ss_training_started_at", "ss_training_finished_at")

# ss_* keys shown as "training settings", in this order, with a label
SETTINGS = [
    ("ss_output_name", "output name"), ("ss_sd_model_name", "base model"), ("ss_network_module", "network module"),
    ("ss_network_dim", "network dim"), ("ss_network_alpha", "network alpha"), ("ss_network_args", "network args"),
    ("ss_learning_rate", "learning rate"), ("ss_unet_lr", "UNet LR"), ("ss_text_encoder_lr", "text-encoder LR"),
    ("ss_optimizer", "optimizer"), ("ss_lr_scheduler", "scheduler"), ("ss_lr_warmup_steps", "warm-up steps"),
    ("ss_num_epochs", "epochs"), ("ss_epoch", "epoch saved"), ("ss_steps", "steps"),
    ("ss_max_train_steps", "max steps"), ("ss_num_train_images", "images x repeats"),
    ("ss_batch_size_per_device", "batch size"), ("ss_total_batch_size", "total batch"),
    ("ss_gradient_accumulation_steps", "grad accumulation"), ("ss_resolution", "resolution"),
    ("ss_enable_bucket", "bucketing"), ("ss_noise_offset", "noise offset"), ("ss_min_snr_gamma", "min-SNR gamma"),
    ("ss_clip_skip", "clip skip"), ("ss_mixed_precision", "mixed precision"), ("ss_keep_tokens", "keep tokens"),
    ("ss_shuffle_caption", "shuffle captions"), ("ss_caption_dropout_rate", "caption dropout"),
    ("ss_seed", "seed"), ("ss_training_started_at", "started"), ("ss_training_finished_at", "finished"),
    ("ss_training_comment", "comment"),
]


@dataclass
class LoraInfo:
    path: str
    file_size: int
    format: str
    """kohya LoRA | LoCon | LoHa | LoKr | diffusers-peft | unknown"""
    base_model: str
    """sd_v1 | sd_v2 | sd_v2_v | sdxl_base_v1-0 | unknown (from metadata, else guessed from shapes)"""
    base_model_source: str
    unet_modules: int
    te_modules: int
    ranks: dict[int, int]
    """rank -> module count (linear and 1x1 layers)"""
    conv_ranks: dict[int, int]
    """rank -> module count (3x3 convolutions)"""
    alphas: dict[float, int]
    conv_alphas: dict[float, int]
    dtypes: dict[str, int]
    tensors: int
    metadata: dict[str, str]
    settings: list[tuple[str, str, str]]
    """(key, label, value) from ss_*"""
    top_tags: list[tuple[str, int]]
    dataset_dirs: dict[str, dict]
    stored_hash: str | None
    computed_hash: str | None
    stored_legacy_hash: str | None
    computed_legacy_hash: str | None
    problems: list[str] = field(default_factory=list)
    te1_modules: int = 0
    """SDXL: modules of the first text encoder (CLIP-L, ``lora_te1_``)"""
    te2_modules: int = 0
    """SDXL: modules of the second text encoder (OpenCLIP bigG, ``lora_te2_``)"""
    unet_naming: str = ""
    """kohya UNet key naming: "sgm" (``input_blocks``/``middle_block``/``output_blocks``, what sd-scripts
    writes for SDXL), "diffusers" (``down_blocks``/``mid_block``/``up_blocks``, SD 1.x/2.x), or "" """

    @property
    def is_network(self) -> bool:
        """An adapter network (LoRA, LoCon, LoHa, LoKr, diffusers): the only files whose settings make
        sense as a new training config (not a checkpoint, an embedding or an unknown file)."""
        return self.format != "unknown" and (self.unet_modules + self.te_modules) > 0

    @property
    def hash_kind(self) -> str:
        """sd-scripts | lycoris (``0x`` + sha256 over tensors in training order) | none"""
        if not self.stored_hash:
            return "none"
        return "lycoris" if is_lycoris_hash(self.stored_hash) else "sd-scripts"
    full_rank: int = 0
    """LoKr modules whose Kronecker factors are both stored whole (no rank; ``full_matrix``)."""
    conv_full_rank: int = 0
    dora_modules: int = 0
    """Modules with a ``dora_scale`` (weight-decomposed, DoRA) or peft's ``lora_magnitude_vector``."""

    @property
    def hash_ok(self) -> bool | None:
        """Stored ``sshs_model_hash`` = recomputed (sd-scripts' definition); None: nothing to compare,
        or LyCORIS' variant, which cannot be recomputed from the file (its tensor order is lost)."""
        if not self.stored_hash or not self.computed_hash or self.hash_kind != "sd-scripts":
            return None
        return self.stored_hash.strip().lower() == self.computed_hash

    @property
    def legacy_hash_ok(self) -> bool | None:
        if not self.stored_legacy_hash or not self.computed_legacy_hash:
            return None
        return self.stored_legacy_hash.strip().lower() == self.computed_legacy_hash

    def to_dict(self) -> dict:
        return {
            "path": self.path, "file_size": self.file_size, "format": self.format, "base_model": self.base_model,
            "base_model_source": self.base_model_source, "unet_modules": self.unet_modules,
            "te_modules": self.te_modules, "te1_modules": self.te1_modules, "te2_modules": self.te2_modules,
            "unet_naming": self.unet_naming, "tensors": self.tensors,
            "ranks": {str(k): v for k, v in sorted(self.ranks.items())},
            "conv_ranks": {str(k): v for k, v in sorted(self.conv_ranks.items())},
            "alphas": {_fmt(k): v for k, v in sorted(self.alphas.items())},
            "conv_alphas": {_fmt(k): v for k, v in sorted(self.conv_alphas.items())},
            "full_rank": {"linear": self.full_rank, "conv": self.conv_full_rank}, "dora_modules": self.dora_modules,
            "dtypes": self.dtypes, "settings": {k: v for k, _, v in self.settings},
            "top_tags": [{"tag": t, "count": c} for t, c in self.top_tags], "dataset_dirs": self.dataset_dirs,
            "hashes": {"kind": self.hash_kind,
                       "sshs_model_hash": {"stored": self.stored_hash, "computed": self.computed_hash,
                                           "match": self.hash_ok},
                       "sshs_legacy_hash": {"stored": self.stored_legacy_hash,
                                            "computed": self.computed_legacy_hash, "match": self.legacy_hash_ok}},
            "metadata": self.metadata, "problems": self.problems,
        }

    def _modules_line(self) -> str:
        unet = f"UNet {self.unet_modules}"
        if self.unet_naming == "sgm":
            unet += " (SGM names, as sd-scripts writes SDXL)"
        if self.te1_modules or self.te2_modules:
            return f"{unet}, text encoders {self.te1_modules} + {self.te2_modules} (te1 CLIP-L + te2 OpenCLIP bigG)"
        return f"{unet}, text encoder {self.te_modules}"

    def lines(self, tags: int = 15) -> list[str]:
        out = [f"file        {self.path} ({self.file_size / 1e6:.1f} MB, {self.tensors} tensors, "
               + ", ".join(f"{k} x{v}" for k, v in sorted(self.dtypes.items())) + ")",
               f"format      {self.format}",
               f"base model  {self.base_model} ({self.base_model_source})",
               f"modules     {self._modules_line()}",
               f"rank        {_rank_line(self.ranks, self.full_rank)}"
               + (f"; conv {_rank_line(self.conv_ranks, self.conv_full_rank)}"
                  if self.conv_ranks or self.conv_full_rank else ""),
               f"alpha       {_counts(self.alphas, _fmt) or 'none stored (= rank)'}"
               + (f"; conv {_counts(self.conv_alphas, _fmt)}" if self.conv_alphas else "")]
        if self.settings:
            out.append("training settings (ss_*)")
            w = max(len(lbl) for _, lbl, _ in self.settings)
            for _, lbl, v in self.settings:
                out.append(f"  {lbl:<{w}}  {v}")
        if self.dataset_dirs:
            out.append("dataset folders")
            for d, info in self.dataset_dirs.items():
                out.append(f"  {d}: {info.get('img_count', '?')} images x {info.get('n_repeats', '?')} repeats")
        if self.top_tags:
            out.append("top tags    " + ", ".join(f"{t} ({c})" for t, c in self.top_tags[:tags]))
        h = "hash        "
        if self.hash_kind == "lycoris":
            h += (f"stored {(self.stored_hash or '')[:14]} (LyCORIS' hash: sha256 over the tensors in training order, "
                  "which the file does not record; not checked)")
        elif self.stored_hash:
            h += f"stored {self.stored_hash[:12]}"
            if self.computed_hash:
                h += " = computed" if self.hash_ok else f" != computed {self.computed_hash[:12]} (file changed after saving)"
            if self.legacy_hash_ok is False and self.hash_ok:
                h += f"; legacy {self.stored_legacy_hash} != {self.computed_legacy_hash} (ss_* metadata edited)"
        elif self.computed_hash:
            h += f"computed {self.computed_hash[:12]} (none stored)"
        else:
            h += "not computed"
        out.append(h)
        for p in self.problems:
            out.append(f"problem     {p}")
        return out


def _date(v: str) -> str:
    """A Unix time (sd-scripts writes ``ss_training_*_at`` as seconds) as a UTC date; other text as is."""
    import datetime

    try:
        t = float(v)
        return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (ValueError, OverflowError, OSError):
        return v


def _rank_line(ranks: dict, full: int) -> str:
    """``8``, ``4 (x10), 8 (x2)``, ``full`` or ``8 (x10), full (x4)``."""
    if not full:
        return _counts(ranks)
    if not ranks:
        return "full (no rank: whole Kronecker factors)"
    return _counts(ranks) + ("" if len(ranks) > 1 else f" (x{sum(ranks.values())})") + f", full (x{full})"


def _fmt(x: float) -> str:
    return f"{x:g}"


def _counts(c: dict, fmt=str) -> str:
    if not c:
        return ""
    if len(c) == 1:
        return fmt(next(iter(c)))
    return ", ".join(f"{fmt(k)} (x{v})" for k, v in sorted(c.items()))


def _unet_naming(modules) -> str:
    sgm = diffusers = 0
    for mod in modules:
        if mod.startswith(("lora_unet_input_blocks_", "lora_unet_middle_block_", "lora_unet_output_blocks_")):
            sgm += 1
        elif mod.startswith(("lora_unet_down_blocks_", "lora_unet_mid_block_", "lora_unet_up_blocks_")):
            diffusers += 1
    if sgm and diffusers:
        return "mixed"
    return "sgm" if sgm else "diffusers" if diffusers else ""


def _split_kohya(name: str) -> tuple[str, str]:
    """``lora_unet_x.lora_down.weight`` -> (``lora_unet_x``, ``lora_down.weight``)."""
    mod, _, param = name.partition(".")
    return mod, param


_PEFT_RE = re.compile(r"^(.*?)\.(lora_A|lora_B|lora\.down|lora\.up|lora_magnitude_vector|alpha)(\..*)?$")


def _module_of_peft(name: str) -> tuple[str, str] | None:
    m = _PEFT_RE.match(name)
    if not m:
        return None
    return m.group(1), m.group(2) + (m.group(3) or "")


def _is_te(mod: str) -> bool:
    return mod.startswith(("lora_te", "text_encoder", "te.", "te_")) or ".text_model." in f".{mod}."


def inspect_lora(path: str, compute_hashes: bool = True, top_tags: int = 30) -> LoraInfo:
    """Inspect ``path``. Raises ``LoraFileError`` for unreadable or malformed files."""
    h = read_header(path)
    names = list(h.tensors)
    problems: list[str] = []
    kohya = [n for n in names if n.startswith(KOHYA_PREFIXES)]
    peft = [n for n in names if any(m in n for m in PEFT_MARKERS)]
    modules: dict[str, dict[str, object]] = {}
    if kohya and len(kohya) >= len(peft):
        style = "kohya"
        for n in names:
            if not n.startswith(KOHYA_PREFIXES):
                problems.append(f"unexpected tensor {n!r} (not lora_unet_/lora_te_)")
                continue
            mod, param = _split_kohya(n)
            modules.setdefault(mod, {})[param] = h.tensors[n]
    elif peft:
        style = "peft"
        old = 0
        for n in names:
            spelled = n
            for a, b in _OLD_DIFFUSERS:
                if a in spelled:
                    spelled = spelled.replace(a, b)
                    old += 1
                    break
            mp = _module_of_peft(spelled)
            if mp is None:
                problems.append(f"unexpected tensor {n!r}")
                continue
            modules.setdefault(mp[0], {})[mp[1]] = h.tensors[n]
    else:
        style = "unknown"
        if not names:
            problems.append("no tensors")
        else:
            problems.append("no LoRA tensors found (expected lora_unet_/lora_te_ or peft lora_A/lora_B names)")
    kinds: Counter = Counter()
    ranks: Counter = Counter()
    conv_ranks: Counter = Counter()
    alphas: Counter = Counter()
    conv_alphas: Counter = Counter()
    unet = te = 0
    full: Counter = Counter()
    dora = 0
    for mod, params in modules.items():
        if _is_te(mod):
            te += 1
        else:
            unet += 1
        rank, conv = _rank(params, style)
        kind = _kind(params)
        kinds[kind] += 1
        if kind in ("loha", "lokr") and not conv and _conv_by_name(mod):
            conv = True  # LyCORIS stores a conv's factors flattened to 2-D: the layer name tells
        if "dora_scale" in params or "lora_magnitude_vector" in params:
            dora += 1
        if kind == "lokr" and rank is None:
            full[conv] += 1
        if kind == "lora" and rank is None:
            problems.append(f"module {mod}: incomplete (has {', '.join(sorted(params))})")
            continue
        if kind == "lora" and not _consistent(params, style):
            problems.append(f"module {mod}: up/down ranks disagree")
        alpha = read_scalar(h, f"{mod}.alpha") if "alpha" in params else None
        if rank is not None:
            (conv_ranks if conv else ranks)[rank] += 1
        if alpha is not None:
            (conv_alphas if conv else alphas)[round(alpha, 6)] += 1
    if style == "peft":
        fmt = "diffusers (pre-peft)" if old and old * 2 >= len(peft) else "diffusers-peft"
    elif kinds.get("loha"):
        fmt = "LoHa"
    elif kinds.get("lokr"):
        fmt = "LoKr"
    elif style == "kohya":
        fmt = "LoCon" if conv_ranks else "kohya LoRA"
    else:
        fmt = "unknown"
    te1 = sum(1 for m in modules if m.startswith(("lora_te1_", "text_encoder.")))
    te2 = sum(1 for m in modules if m.startswith(("lora_te2_", "text_encoder_2.")))
    if not te2:
        te1 = 0  # one text encoder: no split to show
    naming = _unet_naming(modules) if style == "kohya" else ""
    if naming == "mixed":
        problems.append("UNet keys mix SGM (input_blocks) and diffusers (down_blocks) names: "
                        "most loaders will miss some modules")
    if dora and fmt != "unknown":
        fmt += " + DoRA"
    base, source = _base_model(h)
    info = LoraInfo(
        path=h.path, file_size=h.file_size, format=fmt, base_model=base, base_model_source=source,
        unet_modules=unet, te_modules=te, ranks=dict(ranks), conv_ranks=dict(conv_ranks), alphas=dict(alphas),
        conv_alphas=dict(conv_alphas), dtypes=dict(Counter(t.dtype for t in h.tensors.values() if not
                                                          t.name.endswith(".alpha"))),
        tensors=len(names), metadata=h.metadata,
        settings=[(k, lbl, _date(h.metadata[k]) if k in DATE_KEYS else h.metadata[k]) for k, lbl in SETTINGS
                  if h.metadata.get(k) not in (None, "", "None")],
        top_tags=_top_tags(h.metadata, top_tags, problems), dataset_dirs=_dataset_dirs(h.metadata, problems),
        stored_hash=h.metadata.get("sshs_model_hash"), computed_hash=None,
        stored_legacy_hash=h.metadata.get("sshs_legacy_hash"), computed_legacy_hash=None, problems=problems,
        te1_modules=te1, te2_modules=te2, unet_naming=naming,
        full_rank=full[False], conv_full_rank=full[True], dora_modules=dora)
    if compute_hashes:
        info.computed_hash, info.computed_legacy_hash = file_hashes(h)
    return info


_CONV3_NAMES = re.compile(r"_(conv1|conv2|conv|conv_in|conv_out|in_layers_2|out_layers_3|op)$")
"""kohya key endings of SD's 3x3 convolutions (diffusers names, and SGM names for SDXL)."""


def _conv_by_name(mod: str) -> bool:
    return mod.startswith("lora_unet_") and bool(_CONV3_NAMES.search(mod))


def _kind(params: dict) -> str:
    keys = set(params)
    if any(k.startswith("hada_") for k in keys):
        return "loha"
    if any(k.startswith("lokr_") for k in keys):
        return "lokr"
    return "lora"


def _shape(params: dict, *names: str):
    """The first of ``names`` present with at least one dimension (a 0-dim factor is malformed)."""
    for n in names:
        t = params.get(n)
        if t is not None and len(t.shape) >= 1:
            return t.shape
    return None


def _rank(params: dict, style: str) -> tuple[int | None, bool]:
    """(rank, is_3x3_conv) of one module."""
    down = _shape(params, "lora_down.weight", "lora_A.weight", "lora.down.weight")
    if down is not None and len(down) >= 1:
        return down[0], len(down) == 4 and tuple(down[2:]) != (1, 1)
    w1b = _shape(params, "hada_w1_b.weight", "hada_w1_b")
    if w1b is not None:
        t1 = _shape(params, "hada_t1.weight", "hada_t1")
        w2b = _shape(params, "hada_w2_b.weight", "hada_w2_b")
        conv = t1 is not None or (w2b is not None and len(w2b) == 4 and tuple(w2b[2:]) != (1, 1))
        return w1b[0], conv or (len(w1b) == 4 and tuple(w1b[2:]) != (1, 1))
    for a in ("lokr_w2_b", "lokr_w1_b"):
        s = _shape(params, a + ".weight", a)
        if s is not None:
            conv = _shape(params, "lokr_t2.weight", "lokr_t2") is not None or (len(s) == 4 and tuple(s[2:]) != (1, 1))
            return s[0], conv
    w2 = _shape(params, "lokr_w2.weight", "lokr_w2")
    if w2 is not None:
        return None, len(w2) == 4 and tuple(w2[2:]) != (1, 1)  # full-rank Kronecker factor
    return None, False


def _consistent(params: dict, style: str) -> bool:
    down = _shape(params, "lora_down.weight", "lora_A.weight", "lora.down.weight")
    up = _shape(params, "lora_up.weight", "lora_B.weight", "lora.up.weight")
    return down is not None and up is not None and len(up) >= 2 and up[1] == down[0]


def _base_model(h: Header) -> tuple[str, str]:
    m = h.metadata
    v = m.get("ss_base_model_version")
    if v and v != "None":
        return v, "ss_base_model_version"
    arch = m.get("modelspec.architecture", "")
    if arch:
        a = arch.lower()
        if "xl" in a:
            return "sdxl_base_v1-0", "modelspec.architecture"
        if "v2" in a:
            return ("sd_v2_v" if "768-v" in a else "sd_v2"), "modelspec.architecture"
        if "v1" in a:
            return "sd_v1", "modelspec.architecture"
    if m.get("ss_v2") in ("True", "False"):
        if m["ss_v2"] == "True":
            return ("sd_v2_v" if m.get("ss_v_parameterization") == "True" else "sd_v2"), "ss_v2"
        return "sd_v1", "ss_v2"
    # guess from shapes: cross-attention input width is the text encoder's hidden size
    names = h.tensors
    if any(n.startswith(("lora_te1_", "lora_te2_")) or n.startswith("text_encoder_2.") for n in names):
        return "sdxl_base_v1-0", "guessed from the two text encoders"
    if any(n.startswith(("lora_unet_input_blocks_", "lora_unet_output_blocks_")) for n in names):
        return "sdxl_base_v1-0", "guessed from the SGM UNet names (sd-scripts writes them for SDXL)"
    for n, t in names.items():
        if "attn2" in n and "to_k" in n and (n.endswith(("lora_down.weight", "hada_w1_b", "hada_w1_b.weight")) or ".lora_A." in n) and len(t.shape) == 2:
            width = t.shape[1]
            guess = {768: "sd_v1", 1024: "sd_v2", 2048: "sdxl_base_v1-0"}.get(width)
            if guess:
                return guess, f"guessed from cross-attention width {width}"
    return "unknown", "no metadata"


def _json_meta(meta: dict, key: str, problems: list[str]):
    raw = meta.get(key)
    if not raw or raw == "None":
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        problems.append(f"{key} is not valid JSON")
        return None


def _top_tags(meta: dict, n: int, problems: list[str]) -> list[tuple[str, int]]:
    freq = _json_meta(meta, "ss_tag_frequency", problems)
    total: Counter = Counter()
    invalid = 0
    if isinstance(freq, dict):
        for tags in freq.values():
            if isinstance(tags, dict):
                for t, c in tags.items():
                    if isinstance(c, float) and not math.isfinite(c):  # 1e999 parses as inf, NaN as nan
                        invalid += 1
                    elif isinstance(c, (int, float)) and not isinstance(c, bool):
                        total[str(t).strip()] += int(c)
        if invalid:
            problems.append(f"ss_tag_frequency holds {invalid:,} invalid count{'s' if invalid != 1 else ''} "
                            "(infinite or NaN); left out")
    elif freq is not None:
        problems.append("ss_tag_frequency is not an object")
    return total.most_common(n)


def _dataset_dirs(meta: dict, problems: list[str]) -> dict[str, dict]:
    d = _json_meta(meta, "ss_dataset_dirs", problems)
    if isinstance(d, dict):
        return {str(k): (v if isinstance(v, dict) else {}) for k, v in d.items()}
    return {}


def file_hashes(h: Header) -> tuple[str | None, str | None]:
    """The "computed" hashes the inspector shows: (sshs_model_hash, sshs_legacy_hash) recomputed from
    the file the way sd-scripts defines them (``loratui.lora.hashes``: the model hash is the sha256
    of the data area; the legacy hash is taken on the ss_*-only serialisation sd-scripts hashed)."""
    return sd_scripts_hashes(h)


__all__ = ["LoraFileError", "LoraInfo", "file_hashes", "inspect_lora"]
