"""Captions: the trigger word and keep_tokens, caption length in CLIP tokens, rare and
near-identical tags, and tags that contradict each other in one caption.

Tag questions are answered from the dataset's ``TagIndex`` (tag -> images) rather than by reading
every caption again, so they cost little on a large dataset."""

from __future__ import annotations

from .findings import ERROR, NOTE, WARNING, Finding, Fix, files_phrase, plural
from .options import CheckOptions
from .tag_rules import CONFLICTS, key, singular

TOKEN_LIMITS = (75, 150, 225)


def _keys(ds) -> dict[str, list[str]]:
    """key -> the raw tags spelling it, from the index."""
    out: dict[str, list[str]] = {}
    for t in ds.index.tags():
        out.setdefault(key(t), []).append(t)
    return out


def _ids_with(ds, keys: dict[str, list[str]], wanted) -> set[int]:
    ids: set[int] = set()
    for k in wanted:
        for t in keys.get(k, ()):
            ids |= ds.index.images(t)
    return ids


def subset_triggers(ds, opts: CheckOptions, keys: dict[str, list[str]]) -> dict[int, tuple[str, str]]:
    """subset index -> (trigger word, where it came from) for the subsets that have one.

    Triggers are per subset: a subset's class token (``10_mychar`` -> ``mychar``) is its own trigger
    when its captions use it, so a character subset and a background subset (``4_bg``, captions
    without ``mychar``) are each judged by their own word. A configured trigger applies to the
    subsets whose captions mostly carry it, to the subset named after it, and to every subset when
    no caption carries it at all (then it was forgotten, not meant for another concept)."""
    out: dict[int, tuple[str, str]] = {}
    configured = [t.strip() for t in opts.trigger_words if t.strip()]
    used_anywhere = {w for w in configured if keys.get(key(w))}
    pending = []
    for s in ds.subsets:
        if s.path in opts.reg_subsets:
            continue
        captioned = [i for i in s.image_ids if ds.images[i].state == "ok"]
        if not captioned:
            continue
        members = set(captioned)

        def share(word: str, members: set[int] = members) -> float:
            return len(_ids_with(ds, keys, [key(word)]) & members) / len(members)

        where = "the dataset folder" if s.path == "." else f"`{s.path}`"
        own = [c for c in dict.fromkeys([s.class_tokens, s.class_tokens.split(" ")[0]]) if c]
        mine = next((c for c in own if share(c) >= 0.5), None)
        if configured:
            best = max(configured, key=share)
            named = next((w for w in configured if any(key(w) == key(c) for c in own)), None)
            if share(best) >= 0.5:
                out[s.index] = (best, "config")
            elif named is not None:
                out[s.index] = (named, "config")
            elif not used_anywhere:  # in no caption at all: forgotten, so missing everywhere
                out[s.index] = (best, "config")
            elif mine is not None:  # another concept, with its class token as its trigger
                out[s.index] = (mine, f"inferred from {where}")
            continue
        if mine is not None:
            out[s.index] = (mine, f"inferred from {where}")
            continue
        pending.append((s, share))
    # a subset whose folder name is not a tag (`4_outfits`) shares the trigger found in another
    for s, share in pending:
        for word, source in list(out.values()):
            if share(word) >= 0.5:
                out[s.index] = (word, source)
                break
    return out


def trigger_findings(ds, opts: CheckOptions, keys) -> tuple[list[Finding], dict]:
    out: list[Finding] = []
    triggers = subset_triggers(ds, opts, keys)
    keep = max(1, opts.keep_tokens)
    for si, (word, source) in triggers.items():
        s = ds.subsets[si]
        k = key(word)
        has = _ids_with(ds, keys, [k])
        missing, late = [], []
        for i in s.image_ids:
            e = ds.images[i]
            if e.state != "ok":
                continue
            if i not in has:
                missing.append(i)
            elif not any(key(t) == k for t in e.tags[:keep]):
                late.append(i)
        where = "" if len(triggers) == 1 else f" in `{s.path}`"
        if missing:
            paths = [ds.images[i].caption_path for i in missing]
            everywhere = len(missing) == sum(1 for i in s.image_ids if ds.images[i].state == "ok")
            out.append(Finding(
                ERROR if everywhere and source == "config" else WARNING, "trigger-missing", "captions",
                f"trigger word `{word}` missing from {plural(len(missing), 'caption')}{where}: {files_phrase(paths)}",
                "the trigger must be the first tag of every caption, or it will not learn the concept"
                + ("" if source == "config" else f" (trigger {source}; set it with --trigger or a config)"),
                paths, missing, fix=Fix("add-to-front", f"add `{word}` at the front of {plural(len(missing), 'caption')}",
                                        missing, [word])))
        if late:
            paths = [ds.images[i].caption_path for i in late]
            first = "the first tag" if keep == 1 else f"among the first {keep} tags"
            shuffled = " and gets shuffled away" if opts.shuffle_caption else ""
            out.append(Finding(
                WARNING, "trigger-not-first", "captions",
                f"trigger word `{word}` is not {first} (keep_tokens {opts.keep_tokens}) in "
                f"{plural(len(late), 'caption')}{where}: {files_phrase(paths)}",
                f"outside keep_tokens it is treated like any tag{shuffled}",
                paths, late, fix=Fix("move-to-front", f"move `{word}` to the front of {plural(len(late), 'caption')}",
                                     late, _spellings(ds, late, k))))
    if triggers:
        without = [s for s in ds.subsets if s.index not in triggers and s.path not in opts.reg_subsets
                   and any(ds.images[i].state == "ok" for i in s.image_ids)]
        if without:
            names = ", ".join(f"`{s.path}`" for s in without)
            ids = [i for s in without for i in s.image_ids]
            out.append(Finding(
                NOTE, "subset-without-trigger", "captions",
                f"{plural(len(without), 'subset')} without a trigger word of its own ({names}): their captions carry "
                "neither a configured trigger nor their folder's class token",
                "fine for backgrounds or a style mix that supports the main concept; if they show the concept, "
                "add its trigger to their captions", [s.path for s in without], ids))
    return out, {"triggers": {ds.subsets[si].path: {"word": w, "source": src} for si, (w, src) in triggers.items()}}


def _spellings(ds, ids, k: str) -> list[str]:
    """The raw spellings of key ``k`` used in these captions (``MoveToFront`` matches raw tags)."""
    seen: dict[str, None] = {}
    for i in ids:
        for t in ds.images[i].tags:
            if key(t) == k:
                seen[t] = None
    return list(seen)


def length_findings(ds, counter) -> tuple[list[Finding], dict]:
    over: dict[int, list[tuple[int, int]]] = {lim: [] for lim in TOKEN_LIMITS}
    longest = 0
    for e in ds.images:
        if e.state != "ok":
            continue
        n = counter.count_tags(e.tags)
        longest = max(longest, n)
        for lim in reversed(TOKEN_LIMITS):
            if n > lim:
                over[lim].append((e.id, n))
                break
    how = "" if counter.exact else " (estimated: no CLIP tokenizer found locally)"
    out = []
    texts = {
        75: ("tokens past 75 are cut off by loratui's trainer and by kohya's default; kohya's "
             "max_token_length 150/225 extends it, or prune tags"),
        150: "past 150 tokens only max_token_length 225 keeps them; prune tags",
        225: "past 225 tokens are cut off by every trainer; prune tags",
    }
    for lim in TOKEN_LIMITS:
        items = sorted(over[lim], key=lambda t: -t[1])
        if not items:
            continue
        ids = [i for i, _ in items]
        paths = [ds.images[i].caption_path for i in ids]
        out.append(Finding(WARNING, f"caption-over-{lim}", "captions",
                           f"{plural(len(ids), 'caption')} longer than {lim} CLIP tokens{how} "
                           f"(longest {items[0][1]}): {files_phrase(paths)}", texts[lim], paths, ids,
                           [f"{ds.images[i].caption_path}: {n} tokens" for i, n in items]))
    return out, {"token_counter": "exact" if counter.exact else "estimate", "token_source": counter.source,
                 "longest_caption_tokens": longest}


def duplicate_tag_findings(ds) -> list[Finding]:
    """The same tag twice in one caption (``long hair, long hair``; ``red_hair`` and ``red hair`` count
    as one): it weighs double for that image and wastes tokens."""
    from loratui.dataset import normalize_tag

    class Keys(dict):  # tag -> its loose form, computed once per distinct tag
        def __missing__(self, t: str) -> str:
            k = self[t] = normalize_tag(t)
            return k

    loose = Keys().__getitem__
    hits: list[tuple[int, list[str]]] = []
    for e in ds.images:
        tags = e.tags
        if len(tags) < 2 or len(set(map(loose, tags))) == len(tags):  # the usual caption: no repeat
            continue
        seen: set[str] = set()
        dup: list[str] = []
        for t in tags:
            k = loose(t)
            if k in seen and t not in dup:
                dup.append(t)
            seen.add(k)
        if dup:
            hits.append((e.id, dup))
    if not hits:
        return []
    ids = [i for i, _ in hits]
    paths = [ds.images[i].caption_path for i in ids]
    if len(hits) == 1:
        msg = f"`{paths[0]}` repeats " + ", ".join(f"`{t}`" for t in hits[0][1])
    else:
        msg = f"{plural(len(hits), 'caption')} repeat a tag: {files_phrase(paths)}"
    return [Finding(WARNING, "duplicate-tags", "captions", msg,
                    "a repeated tag weighs double for that image and wastes tokens; keep one",
                    paths, ids, [f"{p}: {', '.join(d)}" for p, (_, d) in zip(paths, hits)],
                    fix=Fix("dedupe-tags", f"remove repeated tags from {plural(len(ids), 'caption')}", ids))]


def _deletes(k: str) -> set[str]:
    return {k[:i] + k[i + 1:] for i in range(len(k))}


def tag_findings(ds, opts: CheckOptions, keys, vocabulary: set[str] | None) -> list[Finding]:
    out: list[Finding] = []
    counts = ds.index.counts()
    captioned = sum(1 for e in ds.images if e.state == "ok")
    # near-identical spellings: blonde_hair / blonde hair / Blonde Hair; flower / flowers
    groups: dict[str, list[str]] = {}
    for k, raws in keys.items():
        groups.setdefault(singular(k), []).extend(raws)
    variants_same: list = []
    variants_plural: list = []
    for raws in groups.values():
        if len(raws) < 2:
            continue
        raws = sorted(raws, key=lambda t: (-counts.get(t, 0), t))
        (variants_same if len({key(t) for t in raws}) == 1 else variants_plural).append(raws)
    for level, code, items, why in ((WARNING, "near-identical-tags", variants_same, "the same tag spelled differently"),
                                    (NOTE, "plural-tags", variants_plural, "singular and plural of one tag")):
        if not items:
            continue
        items.sort(key=lambda raws: -sum(counts.get(t, 0) for t in raws))
        renames = [(t, raws[0]) for raws in items for t in raws[1:]]
        ids = sorted({i for raws in items for t in raws[1:] for i in ds.index.images(t)})
        shown = "; ".join(" / ".join(f"`{t}` ({counts.get(t, 0):,})" for t in raws) for raws in items[:3])
        out.append(Finding(level, code, "captions",
                           f"{plural(len(items), 'tag')} written in several ways ({why}): {shown}"
                           + (f" and {len(items) - 3} more" if len(items) > 3 else ""),
                           "the model sees different tokens for one idea; merge them into the common spelling",
                           image_ids=ids, detail=[" / ".join(f"{t} ({counts.get(t, 0)})" for t in raws) for raws in items],
                           fix=Fix("rename-tags", f"merge {plural(len(renames), 'spelling')} into the common one",
                                   ids, renames=renames)))
    # tags used once: typos of a frequent tag, or just rare
    if captioned >= 10:
        merged = {t for raws in variants_same + variants_plural for t in raws}
        once = sorted(t for t, c in counts.items() if c == 1 and t not in merged)
        frequent: dict[str, str] = {}
        for t, c in sorted(counts.items(), key=lambda kv: kv[1]):
            k = key(t)
            if c >= 3 and len(k) >= 5 and not any(ch.isdigit() for ch in k):
                frequent[k] = t
                for d in _deletes(k):
                    frequent[d] = t  # ascending counts: the most frequent tag wins
        typos: list[tuple[str, str]] = []
        rare: list[str] = []
        for t in once:
            k = key(t)
            match = None
            if len(k) >= 5 and not any(ch.isdigit() for ch in k) and (vocabulary is None or k not in vocabulary):
                for cand in (k, *_deletes(k)):
                    m = frequent.get(cand)
                    if m is not None and key(m) != k and singular(key(m)) != singular(k):
                        match = m
                        break
            (typos.append((t, match)) if match else rare.append(t))
        if typos:
            ids = sorted({i for t, _ in typos for i in ds.index.images(t)})
            out.append(Finding(WARNING, "tag-typos", "captions",
                               f"{plural(len(typos), 'tag')} used once that look like typos: "
                               + ", ".join(f"`{t}` -> `{m}`" for t, m in typos[:4])
                               + (f" and {len(typos) - 4} more" if len(typos) > 4 else ""),
                               "fix the spelling so they count as the common tag", image_ids=ids,
                               detail=[f"{t} -> {m} ({counts.get(m, 0)} images)" for t, m in typos],
                               fix=Fix("rename-tags", f"correct {plural(len(typos), 'typo')}", ids, renames=typos)))
        if rare:
            ids = sorted({i for t in rare for i in ds.index.images(t)})
            out.append(Finding(NOTE, "tags-used-once", "captions",
                               f"{plural(len(rare), 'tag')} used by a single image: "
                               + ", ".join(f"`{t}`" for t in rare[:6])
                               + (f" and {len(rare) - 6} more" if len(rare) > 6 else ""),
                               "a tag seen once teaches little; check it is real (typo?) or remove it",
                               image_ids=ids, detail=rare))
    # contradictions inside one caption
    for a, b in CONFLICTS:
        both = _ids_with(ds, keys, a) & _ids_with(ds, keys, b)
        if not both:
            continue
        ids = sorted(both)
        ta = sorted({key(t) for i in ids for t in ds.images[i].tags if key(t) in a})
        tb = sorted({key(t) for i in ids for t in ds.images[i].tags if key(t) in b})
        paths = [ds.images[i].caption_path for i in ids]
        out.append(Finding(WARNING, "conflicting-tags", "captions",
                           f"{' / '.join(f'`{t}`' for t in ta)} with {' / '.join(f'`{t}`' for t in tb)} in the same "
                           f"caption ({plural(len(ids), 'image')}): {files_phrase(paths)}",
                           "one of them is wrong (a tagger guess?); keep the one the picture shows", paths, ids))
    return out


def load_vocabulary() -> set[str] | None:
    """Tag keys of the locally installed WD14 tagger (None when there is none)."""
    import csv

    try:
        from loratui.tagging.models import resolve_model

        path = resolve_model().labels_path
        with open(path, encoding="utf-8", newline="") as f:
            return {key(r.get("name") or "") for r in csv.DictReader(f)} - {""}
    except Exception:  # optional: no model installed, or an unreadable list
        return None
