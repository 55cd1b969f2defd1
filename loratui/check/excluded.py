"""Taking images out of a dataset without deleting them: ``DIR/.loratui/excluded/`` mirrors the
dataset's folders, and ``excluded.jsonl`` records every move so it can be undone.

A caption goes with its image, unless another image still uses it (same stem, two extensions):
then it is copied. ``restore_excluded`` moves everything back (or only the last exclusion).
"""

from __future__ import annotations

import json
import os
import shutil
import time

from loratui.fileio import read_bytes_untrusted, write_atomic

EXCLUDED_DIR = os.path.join(".loratui", "excluded")
LOG_FILE = "excluded.jsonl"
MAX_LOG_BYTES = 256 << 20


class ExcludeError(Exception):
    pass


def _excluded_base(root: str) -> str:
    """``root/.loratui/excluded``, refused when a planted symlink would send the moves elsewhere."""
    from loratui.dataset.safe_paths import UnsafePath, owned_path  # lazy: importing loratui.check stays light

    try:
        owned_path(root, f".loratui/excluded/{LOG_FILE}")
        return str(owned_path(root, ".loratui/excluded"))
    except UnsafePath as e:
        raise ExcludeError(f"{e}; nothing was moved") from None


def _check_move(root: str, move: object, where: str) -> list[str]:
    """One recorded move, validated: [kind, image path in the dataset, path under excluded/]."""
    if not (isinstance(move, list) and len(move) == 3 and move[0] in ("move", "copy")):
        raise ExcludeError(f"{where}: not a recorded move; not replayed (fix or remove the file)")
    from loratui.dataset.safe_paths import UnsafePath, owned_path, resolve_inside

    kind, src, dst = move
    try:
        src = str(resolve_inside(root, src, source=where))
        dst_rel = str(dst) if isinstance(dst, str) else dst
        dst = str(owned_path(root, dst_rel, source=where))
    except UnsafePath as e:
        raise ExcludeError(f"{e}; not replayed (fix or remove the file)") from None
    rel_src = os.path.relpath(src, root)
    rel_dst = os.path.relpath(dst, root)
    if rel_src.split(os.sep, 1)[0] == ".loratui" or \
            not rel_dst.startswith(EXCLUDED_DIR + os.sep) or rel_dst == os.path.join(EXCLUDED_DIR, LOG_FILE):
        raise ExcludeError(f"{where}: a move between {rel_src!r} and {rel_dst!r} is not one loratui records; "
                           "not replayed (fix or remove the file)")
    return [kind, rel_src.replace(os.sep, "/"), rel_dst.replace(os.sep, "/")]


def _free(path: str) -> str:
    if not os.path.lexists(path):
        return path
    stem, ext = os.path.splitext(path)
    n = 2
    while os.path.lexists(f"{stem} ({n}){ext}"):
        n += 1
    return f"{stem} ({n}){ext}"


def _mask_rel(ds, image_rel: str) -> str | None:
    """The image's loss mask (``NAME.mask.png``, read by the trainer) when there is one, relative."""
    return ds.masks.get(image_rel)


def plan_exclude(ds, ids, keep: int | None = None) -> list[str]:
    """What ``exclude_images(ds, ids)`` would do, one line per file, touching nothing: each image,
    its caption and mask moved (or a shared caption copied) under ``.loratui/excluded/``, the copy
    kept, and what would be refused (a folder loratui cannot write)."""
    root = ds.root
    _excluded_base(root)  # a planted link under .loratui refuses the whole move (ExcludeError)
    lines: list[str] = []
    if keep is not None:
        lines.append(f"keep     {ds.images[keep].path}")
    leaving = set(ids)
    target = EXCLUDED_DIR.replace(os.sep, "/")
    for i in sorted(leaving):
        e = ds.images[i]
        if not os.access(os.path.dirname(ds.abspath(e.path)) or root, os.W_OK):
            lines.append(f"refused  {e.path}: its folder is not writable")
            continue
        lines.append(f"move     {e.path} -> {target}/{e.path}")
        if os.path.isfile(ds.abspath(e.caption_path)):
            shared = set(ds.caption_ids(e.caption_path)) - leaving
            verb = "copy   " if shared else "move   "
            lines.append(f"  {verb}{e.caption_path} -> {target}/{e.caption_path}"
                         + (" (another image still uses it)" if shared else ""))
        mask = _mask_rel(ds, e.path)
        if mask:
            lines.append(f"  move   {mask} -> {target}/{mask}")
    return lines


def exclude_images(ds, ids, reason: str = "") -> tuple[list[str], list[str]]:
    """Move images ``ids`` of ``ds`` (and their captions) to ``.loratui/excluded/``.

    Returns (moved image paths, problems as "path: why"). Does not rescan: call
    ``ds.refresh()`` afterwards (image ids change)."""
    root = ds.root
    base = _excluded_base(root)
    ids = sorted(set(ids))
    leaving = set(ids)
    moves: list[list[str]] = []
    moved: list[str] = []
    problems: list[str] = []
    for i in ids:
        e = ds.images[i]
        try:
            dst = _free(os.path.join(base, e.path))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.rename(ds.abspath(e.path), dst)
        except OSError as err:
            problems.append(f"{e.path}: not moved ({err.strerror or err})")
            continue
        moves.append(["move", e.path, os.path.relpath(dst, root).replace(os.sep, "/")])
        moved.append(e.path)
        cap = ds.abspath(e.caption_path)
        if not os.path.isfile(cap):
            continue
        users = set(ds.caption_ids(e.caption_path))
        stays = users - leaving
        try:
            cdst = _free(os.path.join(base, e.caption_path))
            if stays:
                shutil.copy2(cap, cdst)
                moves.append(["copy", e.caption_path, os.path.relpath(cdst, root).replace(os.sep, "/")])
            elif not any(m[1] == e.caption_path for m in moves):
                os.rename(cap, cdst)
                moves.append(["move", e.caption_path, os.path.relpath(cdst, root).replace(os.sep, "/")])
        except OSError as err:
            problems.append(f"{e.caption_path}: caption not moved ({err.strerror or err})")
        mask = _mask_rel(ds, e.path)
        if mask:  # the trainer reads NAME.mask.png beside the image: it leaves and comes back with it
            try:
                mdst = _free(os.path.join(base, mask))
                os.rename(ds.abspath(mask), mdst)
                moves.append(["move", mask, os.path.relpath(mdst, root).replace(os.sep, "/")])
            except OSError as err:
                problems.append(f"{mask}: mask not moved ({err.strerror or err})")
    if moves:
        os.makedirs(base, exist_ok=True)
        # ASCII-escaped JSON: file names that are not valid UTF-8 are kept exactly
        with open(os.path.join(base, LOG_FILE), "a", encoding="utf-8") as f:
            f.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "reason": reason, "moves": moves})
                    + "\n")
    return moved, problems


def excluded_entries(root: str) -> list[dict]:
    """The recorded exclusions, oldest first."""
    root = os.path.abspath(root)
    path = os.path.join(root, EXCLUDED_DIR, LOG_FILE)
    _excluded_base(root)
    out = []
    try:
        data = read_bytes_untrusted(path, MAX_LOG_BYTES)
    except FileNotFoundError:
        return []
    except OSError as e:
        raise ExcludeError(f"{path}: unreadable ({e.strerror or e})") from None
    except ValueError as e:
        raise ExcludeError(f"{path}: refused ({e})") from None
    for n, line in enumerate(data.decode("utf-8", "surrogateescape").splitlines(), 1):
        if not line.strip():
            continue
        try:
            ent = json.loads(line)
        except (ValueError, RecursionError):
            raise ExcludeError(f"{path}:{n}: not a JSON line; fix or remove it") from None
        if not isinstance(ent, dict) or not isinstance(ent.get("moves"), list):
            raise ExcludeError(f"{path}:{n}: not an exclusion record; fix or remove it")
        ent["moves"] = [_check_move(root, m, f"{path}:{n}") for m in ent["moves"]]
        out.append(ent)
    return out


def restore_excluded(root: str, last_only: bool = False) -> tuple[list[str], list[str]]:
    """Move excluded files back where they were. Returns (restored paths, problems).

    A file is left in ``excluded/`` (and the entry kept) when its old place is taken again."""
    root = os.path.abspath(root)
    entries = excluded_entries(root)
    todo = entries[-1:] if last_only else entries
    keep = entries[:-1] if last_only else []
    restored: list[str] = []
    problems: list[str] = []
    for ent in reversed(todo):
        left = []
        for kind, src, dst in ent.get("moves", []):
            s, d = os.path.join(root, src), os.path.join(root, dst)
            if not os.path.lexists(d):
                continue  # restored by hand already
            if kind == "copy":
                try:
                    os.unlink(d)
                except OSError:
                    left.append([kind, src, dst])
                continue
            if os.path.lexists(s):
                problems.append(f"{src}: not restored (a file is there again); it stays in {dst}")
                left.append([kind, src, dst])
                continue
            try:
                os.makedirs(os.path.dirname(s), exist_ok=True)
                os.rename(d, s)
                restored.append(src)
            except OSError as err:
                problems.append(f"{src}: not restored ({err.strerror or err})")
                left.append([kind, src, dst])
        if left:
            keep.append({**ent, "moves": left})
    path = os.path.join(root, EXCLUDED_DIR, LOG_FILE)
    if entries:
        write_atomic(path, "".join(json.dumps(ent) + "\n" for ent in keep))
    return restored, problems
