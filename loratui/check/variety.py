"""Characters: the framing mix (face / upper body / cowboy shot / full body) and trigger absorption
(tags nearly every image carries are the character's fixed traits: pruning them lets the trigger
word learn them, while tags that vary stay)."""

from __future__ import annotations

from .captions import _ids_with
from .findings import NOTE, WARNING, Finding, Fix, plural
from .options import CheckOptions
from .tag_rules import FRAMING, NEVER_PRUNE, SINGLE_PERSON, is_trait, key

DOMINANT = 0.7
"""One framing with this share of the framed images dominates."""
MIN_FRAMED = 5


def character_subsets(ds, opts: CheckOptions, keys) -> list[int]:
    if opts.concept not in (None, "character"):
        return []
    person = _ids_with(ds, keys, SINGLE_PERSON)
    out = []
    for s in ds.subsets:
        if s.path in opts.reg_subsets:
            continue
        cap = [i for i in s.image_ids if ds.images[i].state == "ok"]
        if not cap:
            continue
        if opts.concept == "character" or sum(1 for i in cap if i in person) >= 0.6 * len(cap):
            out.append(s.index)
    return out


def variety_findings(ds, opts: CheckOptions, keys, triggers: dict) -> tuple[list[Finding], dict]:
    out: list[Finding] = []
    stats: dict = {}
    subsets = character_subsets(ds, opts, keys)
    class_ids = {name: _ids_with(ds, keys, tags) for name, tags in FRAMING.items()}
    for si in subsets:
        s = ds.subsets[si]
        cap = [i for i in s.image_ids if ds.images[i].state == "ok"]
        where = "the dataset" if s.path == "." else f"`{s.path}`"
        mix: dict[str, list[int]] = {name: [] for name in FRAMING}
        mix["untagged"] = []
        for i in cap:
            for name in FRAMING:
                if i in class_ids[name]:
                    mix[name].append(i)
                    break
            else:
                mix["untagged"].append(i)
        framed = len(cap) - len(mix["untagged"])
        stats[s.path] = {name: len(ids) for name, ids in mix.items()}
        line = ", ".join(f"{name} {len(ids)}" for name, ids in mix.items())
        warned = len(out)
        if framed >= MIN_FRAMED:
            top = max(FRAMING, key=lambda n: len(mix[n]))
            if len(mix[top]) >= DOMINANT * framed:
                out.append(Finding(WARNING, "framing-dominant", "variety",
                                   f"{len(mix[top])} of {framed} framed images in {where} are {top} shots ({line})",
                                   "mix close-ups, upper body and full body shots so the character works at every "
                                   "distance", image_ids=mix[top]))
            if not mix["face"]:
                out.append(Finding(WARNING, "no-face-shots", "variety",
                                   f"no close-up or portrait in {where} ({line})",
                                   "add face close-ups: small faces in wide shots teach the face poorly",
                                   image_ids=cap))
        if len(out) == warned:
            out.append(Finding(NOTE, "framing-mix", "variety", f"framing in {where}: {line}",
                               "" if framed else "no framing tags (close-up, upper body, cowboy shot, full body)",
                               image_ids=mix["untagged"] if not framed else []))
        # trigger absorption
        if len(cap) < 5:
            continue
        trig = triggers.get(si)
        trig_key = key(trig[0]) if trig else ""
        members = set(cap)
        by_key: dict[str, int] = {}
        for t, c in ds.index.counts(si).items():
            k = key(t)
            by_key[k] = by_key.get(k, 0) + c
        constant: dict[str, set[int]] = {}
        for k, c in by_key.items():
            if c >= opts.absorb_ratio * len(cap) and k != trig_key and k not in NEVER_PRUNE:
                ids = _ids_with(ds, keys, [k]) & members
                if len(ids) >= opts.absorb_ratio * len(cap):
                    constant[k] = ids
        traits = sorted((k for k in constant if is_trait(k)), key=lambda k: -len(constant[k]))
        others = sorted((k for k in constant if not is_trait(k)), key=lambda k: -len(constant[k]))
        if traits:
            raws = [t for k in traits for t in keys[k]]
            pct = ", ".join(f"`{k}` {len(constant[k]) / len(cap):.0%}" for k in traits)
            target = f"the trigger `{trig[0]}`" if trig else "a trigger word"
            out.append(Finding(
                WARNING if trig else NOTE, "absorb-traits", "variety",
                f"{plural(len(traits), 'fixed trait')} in nearly every caption of {where}: {pct}",
                f"prune them so {target} absorbs them (then the LoRA draws them without being asked); "
                "tags that vary (clothes, pose, background) stay",
                image_ids=cap, detail=[f"also constant, kept (not a trait): {', '.join(others)}"] if others else [],
                fix=Fix("remove-tags", f"remove {', '.join(f'`{t}`' for t in raws)} from {where}", cap, raws)))
    return out, {"framing": stats, "character_subsets": [ds.subsets[i].path for i in subsets]}
