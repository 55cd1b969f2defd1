"""The tagging dialog's form as plain data: field text in, ``TaggingOptions`` (or per-field errors) out.

No Textual, no numpy: the dialog reads its widgets into a dict of strings and booleans, and these
functions do the parsing, so every rule is unit-testable and matches ``loratui tag``'s flags.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from loratui.tagging.options import PRESETS, SelectOptions, TaggingOptions, apply_preset

SCOPES = ("all", "filter", "selection")
SCOPE_LABELS = {"all": "all images", "filter": "current filter", "selection": "selection"}


def split_tags(text: str) -> list[str]:
    """``"a, b ,, c"`` -> ``["a", "b", "c"]`` (order kept, duplicates dropped)."""
    out: list[str] = []
    for t in text.split(","):
        t = t.strip()
        if t and t not in out:
            out.append(t)
    return out


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """``"a=b, c="`` -> ``[("a", "b"), ("c", "")]``; raises ValueError naming the bad item."""
    pairs = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        if "=" not in item:
            raise ValueError(f"`{item}`: write FROM=TO (an empty TO drops the tag)")
        a, b = item.split("=", 1)
        if not a.strip():
            raise ValueError(f"`{item}`: the tag to replace is empty")
        pairs.append((a.strip(), b.strip()))
    return pairs


def parse_probability(text: str) -> float:
    try:
        v = float(text.strip())
    except ValueError:
        raise ValueError(f"`{text.strip()}` is not a number; use 0 to 1, e.g. 0.35") from None
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{v:g} is out of range; use 0 to 1, e.g. 0.35")
    return v


def build_options(form: Mapping[str, object]) -> tuple[TaggingOptions | None, dict[str, str]]:
    """Options from the form's values, or None and ``{field id: message}`` for each bad field.

    Keys (widget ids): model, model-dir, general, general-mcut, character, character-mcut, rating,
    characters-first, underscores, escape, always-first, undesired, replace, mode, batch,
    require-gpu, use-cache, fast-decode.
    """
    errors: dict[str, str] = {}
    sel = SelectOptions(
        general_mcut=bool(form.get("general-mcut")), character_mcut=bool(form.get("character-mcut")),
        rating=bool(form.get("rating")), characters_first=bool(form.get("characters-first", True)),
        underscores_to_spaces=bool(form.get("underscores", True)), escape_brackets=bool(form.get("escape")),
        always_first=split_tags(str(form.get("always-first", ""))),
        undesired=split_tags(str(form.get("undesired", ""))))
    for key, attr in (("general", "general_threshold"), ("character", "character_threshold")):
        text = str(form.get(key, "")).strip()
        if text:
            try:
                setattr(sel, attr, parse_probability(text))
            except ValueError as e:
                errors[key] = str(e)
        elif not form.get(f"{key}-mcut"):
            errors[key] = "give a threshold (0 to 1) or turn MCut on"
    try:
        sel.replace = parse_pairs(str(form.get("replace", "")))
    except ValueError as e:
        errors["replace"] = str(e)
    batch = None
    batch_text = str(form.get("batch", "")).strip()
    if batch_text:
        try:
            batch = int(batch_text)
            if batch < 1:
                raise ValueError
        except ValueError:
            errors["batch"] = f"`{batch_text}`: a whole number of 1 or more, or empty for automatic"
    model_dir = str(form.get("model-dir", "")).strip() or None
    opts = TaggingOptions(model=str(form.get("model") or "") or None, model_dir=model_dir, select=sel,
                          mode=str(form.get("mode") or "skip"), batch=batch,
                          require_gpu=bool(form.get("require-gpu")), use_cache=bool(form.get("use-cache", True)),
                          fast_decode=bool(form.get("fast-decode")))
    if errors:
        return None, errors
    try:
        opts.validate()
    except ValueError as e:  # everything is checked above; this is the library's last word
        return None, {"mode": str(e)}
    return opts, {}


def preset_values(name: str) -> dict[str, object]:
    """The form values a preset sets (thresholds as text, toggles as booleans)."""
    base = TaggingOptions(select=SelectOptions())
    sel = apply_preset(name, base).select
    return {"general": f"{sel.general_threshold:g}", "character": f"{sel.character_threshold:g}",
            "general-mcut": sel.general_mcut, "character-mcut": sel.character_mcut, "rating": sel.rating,
            "characters-first": sel.characters_first}


def preset_help(name: str) -> str:
    return PRESETS[name].description if name in PRESETS else ""


def trigger_words(ds, ids: Sequence[int] | None) -> list[str]:
    """Class tokens of the subsets holding ``ids`` (all subsets when None): ``10_mychar`` -> ``mychar``."""
    if ids is None:
        subsets = range(len(ds.subsets))
    else:
        subsets = sorted({ds.images[i].subset for i in ids if 0 <= i < len(ds.images)})
    out: list[str] = []
    for k in subsets:
        if 0 <= k < len(ds.subsets):
            tok = ds.subsets[k].class_tokens.strip()
            if tok and tok not in out:
                out.append(tok)
    return out


def untagged_count(ds, ids: Sequence[int]) -> int:
    """Images in ``ids`` without a caption or with an empty one: what skip mode tags."""
    images = ds.images
    return sum(1 for i in ids if images[i].state in ("missing", "empty"))
