"""Tag knowledge the caption and variety checks share: spellings that mean the same tag, tags that
contradict each other, framing tags, and which constant tags describe a character's fixed traits.
Matching is on ``key(tag)``: lower case, ``_`` and ``-`` read as spaces."""

from __future__ import annotations

import re

_SPACES = re.compile(r"[\s_\-]+")


def key(tag: str) -> str:
    """``Blonde_Hair`` -> ``blonde hair``; ``close-up`` -> ``close up``."""
    return _SPACES.sub(" ", tag.lower()).strip()


def singular(k: str) -> str:
    """Singular of the last word of a key (``flowers`` -> ``flower``, ``berries`` -> ``berry``)."""
    head, _, last = k.rpartition(" ")
    if len(last) > 4 and last.endswith("ies"):
        last = last[:-3] + "y"
    elif len(last) > 4 and last.endswith(("ches", "shes", "xes", "sses")):
        last = last[:-2]
    elif len(last) > 3 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        last = last[:-1]
    return f"{head} {last}" if head else last


# Pairs of tag sets that cannot both describe one image. Danbooru co-tags some "conflicts" on
# purpose (``long hair`` + ``very long hair``, ``2girls`` + ``multiple girls``): those are not here.
_SHORT = {"short hair", "very short hair"}
_LONG = {"long hair", "very long hair", "absurdly long hair"}
_MANY = {"multiple girls", "multiple boys", "2girls", "3girls", "4girls", "5girls", "6+girls",
         "2boys", "3boys", "4boys", "5boys", "6+boys", "group"}
_PEOPLE = {"1girl", "1boy", "1other", "solo", "solo focus"} | _MANY
CONFLICTS: list[tuple[set[str], set[str]]] = [
    (_SHORT, _LONG),
    ({"medium hair"}, {"very short hair", "very long hair", "absurdly long hair"}),
    ({"open mouth"}, {"closed mouth"}),
    ({"closed eyes", "eyes closed"}, {"open eyes"}),
    ({"indoors"}, {"outdoors"}),
    ({"day"}, {"night"}),
    ({"solo"}, _MANY),
    ({"no humans"}, _PEOPLE),
    ({"standing"}, {"sitting", "lying"}),
    ({"full body"}, {"close up", "portrait", "upper body", "cowboy shot"}),
    ({"upper body"}, {"cowboy shot", "lower body"}),
]

SINGLE_PERSON = {"1girl", "1boy", "1other", "solo"}

FRAMING: dict[str, set[str]] = {
    "face": {"close up", "portrait", "face"},
    "upper body": {"upper body"},
    "cowboy shot": {"cowboy shot"},
    "full body": {"full body", "wide shot", "very wide shot"},
}
"""Framing classes read from tags, closest first."""

NEVER_PRUNE = (SINGLE_PERSON | _PEOPLE | {k for ks in FRAMING.values() for k in ks}
               | {"general", "sensitive", "questionable", "explicit", "safe", "looking at viewer"})
"""Constant tags that are not the character's traits (who and how many, framing, ratings)."""

_TRAIT = re.compile(
    r"(hair|eyes|pupils|sclera|skin|ears|tail|tails|horns|horn|wings|halo|freckles|mole\b.*|scar\b.*|fang|fangs|"
    r"breasts|ahoge|bangs|sidelocks|braid|braids|ponytail|twintails|hair ornament|hairband|hairclip|"
    r"heterochromia|eyelashes|eyebrows|tattoo|beard|mustache|facial mark|markings)$")


def is_trait(k: str) -> bool:
    """True for tags describing a fixed look (hair, eyes, skin, ears, horns, marks...)."""
    return bool(_TRAIT.search(k))
