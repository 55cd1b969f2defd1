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

from loratui.fileio import write_atomic

EXCLUDED_DIR = os.path.join(".loratui", "excluded")
LOG_FILE = "excluded.jsonl"


class ExcludeError(Exception):
    pass


def _free(path: str) -> str:
    if not os.path.lexists(path):
        return path
    stem, ext = os.path.splitext(path)
    n = 2
    while os.path.lexists(f"{stem} ({n}){ext}"):
        n += 1
    return f"{stem} ({n}){ext}"


def exclude_images(ds, ids, reason: str = "") -> tuple[list[str], list[str]]:
    """Move images ``ids`` of ``ds`` (and their captions) to ``.loratui/excluded/``.

    Returns (moved image paths, problems as "path: why"). Does not rescan: call
    ``ds.refresh()`` afterwards (image ids change)."""
    root = ds.root
    base = os.path.join(root, EXCLUDED_DIR)
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
    if moves:
        os.makedirs(base, exist_ok=True)
        with open(os.path.join(base, LOG_FILE), "a", encoding="utf-8") as f:
            f.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "reason": reason, "moves": moves},
                               ensure_ascii=False) + "\n")
    return moved, problems


def excluded_entries(root: str) -> list[dict]:
    """The recorded exclusions, oldest first."""
    path = os.path.join(root, EXCLUDED_DIR, LOG_FILE)
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        raise ExcludeError(f"{path}:{n}: not a JSON line; fix or remove it") from None
    except FileNotFoundError:
        return []
    except OSError as e:
        raise ExcludeError(f"{path}: unreadable ({e.strerror or e})") from None
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
        write_atomic(path, "".join(json.dumps(ent, ensure_ascii=False) + "\n" for ent in keep))
    return restored, problems
