"""Findings about the model family and how it is trained: prediction type, zero-terminal SNR,
cached text-encoder outputs, SDXL's two text encoders. Pure Python (no file is opened here)."""

from __future__ import annotations

from .model import TrainConfig
from .validate import ERROR, WARNING, Finding

# caption options that change a caption between steps: cached text-encoder outputs cannot follow them
# (sd-scripts' `is_text_encoder_output_cacheable`)
_CAPTION_CHANGERS = ("shuffle_caption", "caption_dropout_rate", "caption_tag_dropout_rate")


def family_findings(cfg: TrainConfig) -> list[Finding]:
    out: list[Finding] = []
    m, d, n, o = cfg.model, cfg.dataset, cfg.network, cfg.optim
    if m.family == "sd2-v" and m.prediction_type == "epsilon":
        out.append(Finding(ERROR, "model.prediction_type", "contradicts model.family sd2-v (a v-prediction family)",
                           m.prediction_type, "auto or v_prediction",
                           "set prediction_type = \"v_prediction\", or family = \"sd2\" for an epsilon SD 2.x model"))
    if m.zero_terminal_snr and m.prediction_type == "epsilon":
        # sd-scripts warns the same: at the zero-SNR step an epsilon model sees pure noise and no signal
        out.append(Finding(WARNING, "model.zero_terminal_snr", "zero-terminal SNR without v-prediction", True, "",
                           "it is meant for v-prediction models (NoobAI-XL v-pred); set prediction_type = "
                           "\"v_prediction\" or turn zero_terminal_snr off"))
    if m.family == "sdxl" and m.clip_skip > 1:
        out.append(Finding(WARNING, "model.clip_skip", "ignored for SDXL", m.clip_skip, "1",
                           "SDXL always conditions on the penultimate layer of both encoders (as sd-scripts); "
                           "set clip_skip = 1"))
    if o.text_encoder2_lr is not None and m.family != "sdxl":
        out.append(Finding(WARNING, "optim.text_encoder2_lr", f"ignored: {m.family} has one text encoder",
                           o.text_encoder2_lr, "", "leave it empty"))
    if d.cache_text_encoder_outputs:
        if n.train_text_encoder:
            out.append(Finding(ERROR, "dataset.cache_text_encoder_outputs",
                               "cached outputs cannot train the text encoders", True, "",
                               "set network.train_text_encoder = false (UNet only), or turn the cache off"))
        # the option each subset trains with (its own, else the dataset's), reported where it is set
        bad: dict[str, object] = {}
        for name in _CAPTION_CHANGERS:
            owners = [(f"dataset.subsets[{i}].{name}", getattr(s, name)) for i, s in enumerate(d.subsets)]
            if not d.subsets or any(v is None for _, v in owners):
                owners.append((f"dataset.{name}", getattr(d, name)))
            for path, v in owners:
                if v is not None and v and path not in bad:
                    bad[path] = v
        for path, v in bad.items():
            name = path.rsplit(".", 1)[1]
            out.append(Finding(ERROR, path, "changes captions between steps, so text-encoder outputs cannot be "
                               "cached", v, "false / 0", f"turn {name} off, or dataset.cache_text_encoder_outputs off"))
    return out


def describe_model(cfg: TrainConfig) -> str:
    """One line for `config check`: family, prediction type, what is trained, what is cached."""
    m, n, o = cfg.model, cfg.network, cfg.optim
    pred = m.prediction_type
    if pred == "auto":
        pred = "v_prediction (family)" if m.family == "sd2-v" else "auto (from the model, else epsilon)"
    parts = [m.family, pred + (", zero-terminal SNR" if m.zero_terminal_snr else "")]
    if n.train_unet and not n.train_text_encoder:
        parts.append("UNet only")
    elif n.train_text_encoder:
        te = f"text encoder lr {o.text_encoder_lr:g}"
        if m.family == "sdxl":
            te = f"text encoders lr {o.text_encoder_lr:g} / {o.text_encoder_lr if o.text_encoder2_lr is None else o.text_encoder2_lr:g}"
        parts.append(("UNet + " if n.train_unet else "") + te)
    if cfg.dataset.cache_text_encoder_outputs:
        parts.append("text-encoder outputs cached")
    return ", ".join(parts)


def base_model_findings(cfg: TrainConfig) -> list[Finding]:
    """What the base model's files say against what the config says: an SDXL model set up as SD 1.x
    (the engine refuses it at launch), and the classic silent failure, a v-prediction model trained
    as epsilon (or the reverse), or NoobAI's zero-terminal-SNR marker with the rescale off."""
    from .base_model import detect_base_model

    m = cfg.model
    if not m.base:
        return []
    info = detect_base_model(cfg.abspath(m.base))
    out: list[Finding] = []
    if info.family is not None and (info.family == "sdxl") != (m.family == "sdxl"):
        want = "sdxl" if info.family == "sdxl" else info.family
        out.append(Finding(ERROR, "model.family", f"the base model is {info.family} ({info.why})", m.family,
                           "", f"set model.family = \"{want}\""))
    if info.v_prediction and m.prediction_type == "epsilon":
        out.append(Finding(WARNING, "model.prediction_type", f"the base model is a v-prediction model ({info.why})",
                           m.prediction_type, "", "set prediction_type = \"v_prediction\" (or auto): a v-pred "
                           "model trained as epsilon learns noise"))
    if info.v_prediction is False and m.prediction_type == "v_prediction":
        out.append(Finding(WARNING, "model.prediction_type", f"the base model says epsilon ({info.why})",
                           m.prediction_type, "", "set prediction_type = \"epsilon\" (or auto) unless you know "
                           "this model predicts v"))
    if info.zero_terminal_snr and not m.zero_terminal_snr:
        out.append(Finding(WARNING, "model.zero_terminal_snr", f"the base model was trained with zero-terminal SNR "
                           f"({info.why})", False, "", "set zero_terminal_snr = true, as NoobAI-XL v-pred's "
                           "authors recommend"))
    return out
