"""Identical files (same content hash) and near-duplicates (dHash within a Hamming distance).

Near-duplicate search avoids comparing every pair: a 64-bit hash is cut into 8 bands of 8 bits,
and two hashes within distance 7 or less must agree exactly on at least one band (pigeonhole), so
only images sharing a band value are compared, vectorised with numpy.
"""

from __future__ import annotations

from collections.abc import Iterable

NEAR_THRESHOLD = 6
MIN_TEXTURE_BITS = 8
"""A dHash with fewer set (or unset) bits than this comes from a nearly flat image: every such
image hashes close to 0, so two different flat pictures (a clear sky, a night sky) would look
alike. They are left out of the near-duplicate search; byte-identical copies are still found."""
"""Max differing bits of 64 for "near-duplicate". Resized and re-encoded copies land at 0-4;
unrelated photos around 32. Must stay <= 7 (the band search relies on it)."""


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        p = self.parent.setdefault(x, x)
        while p != x:
            self.parent[x] = self.parent.setdefault(p, p)
            x, p = p, self.parent[p]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = {}
        for x in self.parent:
            out.setdefault(self.find(x), []).append(x)
        return [sorted(g) for g in out.values() if len(g) > 1]


def exact_groups(contents: dict[int, str]) -> list[list[int]]:
    """Ids grouped by identical content digest (groups of 2 or more), sorted."""
    by: dict[str, list[int]] = {}
    for i, digest in contents.items():
        if digest:
            by.setdefault(digest, []).append(i)
    return sorted((sorted(g) for g in by.values() if len(g) > 1), key=lambda g: g[0])


def near_pairs(ids: list[int], hashes: list[int], threshold: int = NEAR_THRESHOLD) -> Iterable[tuple[int, int, int]]:
    """(id_a, id_b, distance) for every pair within ``threshold`` bits (each pair at least once)."""
    import numpy as np

    if not 0 <= threshold <= 7:
        raise ValueError("near-duplicate threshold must be 0..7 bits")
    n = len(ids)
    if n < 2:
        return
    h = np.asarray(hashes, dtype=np.uint64)
    id_arr = np.asarray(ids, dtype=np.int64)
    seen: set[tuple[int, int]] = set()
    for band in range(8):
        key = (h >> np.uint64(8 * band)) & np.uint64(0xFF)
        order = np.argsort(key, kind="stable")
        sk = key[order]
        cuts = np.flatnonzero(sk[1:] != sk[:-1]) + 1
        starts = np.concatenate(([0], cuts))
        ends = np.concatenate((cuts, [n]))
        for s, e in zip(starts.tolist(), ends.tolist()):
            if e - s < 2:
                continue
            members = order[s:e]
            g = h[members]
            for r0 in range(0, len(members), 1024):  # bounded memory for a huge band group
                rows = g[r0:r0 + 1024]
                d = np.bitwise_count(rows[:, None] ^ g[None, :])
                ri, cj = np.nonzero(d <= threshold)
                keep = cj > ri + r0
                for a, b in zip(ri[keep].tolist(), cj[keep].tolist()):
                    ia, ib = int(id_arr[members[a + r0]]), int(id_arr[members[b]])
                    pair = (ia, ib) if ia < ib else (ib, ia)
                    if pair not in seen:
                        seen.add(pair)
                        yield pair[0], pair[1], int(d[a, b])


def near_groups(hashes: dict[int, int], threshold: int = NEAR_THRESHOLD,
                same: list[list[int]] | None = None) -> list[tuple[list[int], int]]:
    """Near-duplicate groups as (ids, largest distance seen in the group).

    ``same``: exact-duplicate groups; they are collapsed to one member first, so a near group is
    reported only when it holds images that are not byte-identical.
    """
    rep_of: dict[int, int] = {}
    for g in same or []:
        for i in g[1:]:
            rep_of[i] = g[0]
    reps = [i for i in hashes if i not in rep_of and _textured(hashes[i])]
    uf = _UnionFind()
    worst: dict[tuple[int, int], int] = {}
    for a, b, d in near_pairs(reps, [hashes[i] for i in reps], threshold):
        uf.union(a, b)
        worst[(a, b)] = d
    out = []
    members_of: dict[int, list[int]] = {}
    for i, r in rep_of.items():
        members_of.setdefault(r, []).append(i)
    dmax: dict[int, int] = {}
    for (a, _b), d in worst.items():
        r = uf.find(a)
        dmax[r] = max(dmax.get(r, 0), d)
    for g in uf.groups():
        full = sorted(g + [m for r in g for m in members_of.get(r, [])])
        out.append((full, dmax.get(uf.find(g[0]), 0)))
    out.sort(key=lambda t: t[0][0])
    return out


def _textured(h: int) -> bool:
    bits = bin(h).count("1")
    return MIN_TEXTURE_BITS <= bits <= 64 - MIN_TEXTURE_BITS


def keeper(ds, ids: list[int], facts) -> int:
    """The image of a group to keep: most pixels, then largest file, then most tags, then first."""
    return min(ids, key=lambda i: (-(facts[i].width * facts[i].height), -facts[i].bytes, -len(ds.images[i].tags), i))


def duplicate_findings(ds, facts, threshold: int = NEAR_THRESHOLD) -> tuple[list, dict]:
    """One finding per group, with the group's files listed and an ``exclude`` fix keeping one."""
    from .findings import WARNING, Finding, Fix

    contents = {i: f.content for i, f in facts.items() if f.ok and f.content}
    exact = exact_groups(contents)
    hashes = {i: f.dhash for i, f in facts.items() if f.ok and f.dhash is not None}
    near = near_groups(hashes, threshold, exact)
    out = []
    for kind, groups in (("exact", [(g, 0) for g in exact]), ("near", near)):
        for g, dist in groups:
            keep = keeper(ds, g, facts)
            drop = [i for i in g if i != keep]
            paths = [ds.images[i].path for i in g]
            detail = []
            for i in g:
                f = facts[i]
                detail.append(f"{'keep ' if i == keep else 'extra'} {ds.images[i].path}  {f.width}x{f.height}  "
                              f"{f.bytes:,} bytes")
            if kind == "exact":
                msg = f"{len(g)} identical files: " + ", ".join(f"`{p}`" for p in paths[:4]) + \
                      (f" and {len(g) - 4} more" if len(g) > 4 else "")
                hint = "duplicates weigh one image several times and overfit it"
            else:
                msg = f"{len(g)} near-duplicate images: " + ", ".join(f"`{p}`" for p in paths[:4]) + \
                      (f" and {len(g) - 4} more" if len(g) > 4 else "")
                hint = f"the same picture resized or re-encoded (dHash distance {dist} of 64 bits); keep the best one"
            fix = Fix("exclude", f"move {len(drop)} to .loratui/excluded/ (keep `{ds.images[keep].path}`)",
                      image_ids=drop)
            out.append(Finding(WARNING, f"{kind}-duplicates", "duplicates", msg, hint, paths, list(g), detail, fix))
    stats = {"exact_groups": len(exact), "near_groups": len(near),
             "duplicate_images": sum(len(g) - 1 for g in exact) + sum(len(g) - 1 for g, _ in near)}
    return out, stats
