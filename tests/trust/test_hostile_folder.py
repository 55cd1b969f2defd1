"""A dataset folder from a stranger, with crafted `.loratui/` contents: whatever `stats`, `tags`,
`undo`, `check`, `tag` and the TUI do with it, nothing outside the dataset is created, changed or
deleted, and no command ends in a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from loratui.cli.main import main

NAME = "00000000000000000001-1"


def tree(base: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(base):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            rel = str(p.relative_to(base))
            if rel == "ds" or rel.startswith("ds" + os.sep):
                continue
            st = p.lstat()
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_file():
                out[rel] = (p.read_bytes() if st.st_size < 1 << 20 else st.st_size, st.st_mtime_ns)
            else:
                out[rel] = "dir"
    return out


def make_ds(base: Path) -> Path:
    ds = base / "ds"
    for i, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)]):
        d = ds / "10_mychar"
        d.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (48, 40), colour).save(d / f"img{i}.png")
        (d / f"img{i}.txt").write_text(f"mychar, tag{i}")
    Image.new("RGB", (48, 40), (200, 30, 30)).save(ds / "10_mychar" / "dup.png")  # an exact duplicate
    (base / "sibling.txt").write_text("victim")
    (base / "keep").mkdir()
    (base / "keep" / "x.txt").write_text("keep me")
    (base / "keep" / "img.png").write_bytes((ds / "10_mychar" / "img0.png").read_bytes())
    return ds


def _journal(ds: Path, files, pending="apply", history=(), position=0):
    j = ds / ".loratui/journal"
    (j / "ops").mkdir(parents=True, exist_ok=True)
    (j / "ops" / f"{NAME}.json").write_text(json.dumps({"name": NAME, "time": 1, "description": "x", "files": files}))
    (j / "state.json").write_text(json.dumps({"version": 1, "history": list(history), "position": position,
                                              "pending": {"name": NAME, "direction": pending} if pending else None}))


def _link(ds: Path, rel: str, target: Path):
    p = ds / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.symlink_to(target)


def _write(ds: Path, rel: str, data: bytes):
    p = ds / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)


def _huge(ds: Path, rel: str):
    p = ds / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "wb") as f:
        f.truncate(4 << 30)


DEEP = b"[" * 100_000 + b"]" * 100_000

HOSTILE = {
    "journal-dotdot-delete": lambda ds, base: _journal(ds, [["../sibling.txt", None, "victim", "utf-8"]]),
    "journal-absolute-overwrite": lambda ds, base: _journal(ds, [[str(base / "sibling.txt"), "evil", "victim", "utf-8"]]),
    "journal-create-outside": lambda ds, base: _journal(ds, [["../new.txt", "evil", None, "utf-8"]]),
    "journal-history-absolute": lambda ds, base: _journal(
        ds, [[str(base / "sibling.txt"), "evil", "victim", "utf-8"]], pending=None, history=[NAME], position=1),
    "journal-wrong-types": lambda ds, base: _journal(ds, [[1, 2, 3, 4]]),
    "journal-truncated": lambda ds, base: _write(ds, ".loratui/journal/state.json", b'{"version": 1, "hist'),
    "journal-deep": lambda ds, base: _write(ds, ".loratui/journal/state.json", DEEP),
    "journal-huge": lambda ds, base: _huge(ds, ".loratui/journal/state.json"),
    "state-dir-symlink-out": lambda ds, base: _link(ds, ".loratui", base / "keep"),
    "journal-dir-symlink-out": lambda ds, base: _link(ds, ".loratui/journal", base / "keep"),
    "ops-symlink-out": lambda ds, base: (_journal(ds, [], pending=None), (ds / ".loratui/journal/ops" / f"{NAME}.json").unlink(),
                                         (ds / ".loratui/journal/ops").rmdir(), _link(ds, ".loratui/journal/ops", base / "keep")),
    "cache-symlink-out": lambda ds, base: _link(ds, ".loratui/cache", base / "keep"),
    "cache-file-symlink-out": lambda ds, base: _link(ds, ".loratui/cache/image_facts.json", base / "sibling.txt"),
    "cache-deep": lambda ds, base: _write(ds, ".loratui/cache/image_facts.json", DEEP),
    "cache-wrong-types": lambda ds, base: _write(ds, ".loratui/cache/image_facts.json", b'{"version": 1, "images": [1]}'),
    "cache-huge": lambda ds, base: _huge(ds, ".loratui/cache/image_facts.json"),
    "excluded-symlink-out": lambda ds, base: _link(ds, ".loratui/excluded", base / "keep"),
    "excluded-log-moves-outside": lambda ds, base: _write(ds, ".loratui/excluded/excluded.jsonl", json.dumps(
        {"moves": [["move", "../../sibling.txt", "../keep/x.txt"], ["move", "stolen.txt", str(base / "keep/x.txt")],
                   ["copy", "a.txt", "../sibling.txt"]]}).encode() + b"\n"),
    "excluded-log-truncated": lambda ds, base: _write(ds, ".loratui/excluded/excluded.jsonl", b'{"moves": [["mo'),
    "tagger-symlink-out": lambda ds, base: _link(ds, ".loratui/tagger", base / "keep"),
    "tagger-db-symlink-out": lambda ds, base: _link(ds, ".loratui/tagger/probs.sqlite", base / "sibling.txt"),
    "tagger-models-wrong-type": lambda ds, base: _write(ds, ".loratui/tagger/models.json", b"[1, 2]"),
    "tagger-db-garbage": lambda ds, base: _write(ds, ".loratui/tagger/probs.sqlite", b"not sqlite" * 100),
}

COMMANDS = [
    ["stats"], ["tags"], ["tags", "--add", "new"], ["tags", "--rename", "tag0=renamed"], ["undo"], ["undo", "--list"],
    ["redo"], ["check"], ["check", "--exclude-duplicates"], ["check", "--restore-excluded"],
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> str:
    from loratui.tagging.standin import build_standin

    return build_standin(str(tmp_path_factory.mktemp("wd14")), size=32)


@pytest.mark.parametrize("hostile", list(HOSTILE))
def test_commands_never_touch_outside_nor_trace_back(tmp_path, hostile, model_dir, capsys):
    base = tmp_path
    ds = make_ds(base)
    HOSTILE[hostile](ds, base)
    before = tree(base)
    for cmd in [*COMMANDS, ["tag", "--model-dir", model_dir, "-q"]]:
        rc = main([cmd[0], str(ds), *cmd[1:]])  # an uncaught exception here fails the test
        err = capsys.readouterr().err
        assert "Traceback" not in err, (cmd, err)
        assert rc in (0, 1, 2, 3), (cmd, rc)
        assert tree(base) == before, f"{cmd} changed something outside the dataset"


@pytest.mark.parametrize("hostile", ["journal-dotdot-delete", "state-dir-symlink-out", "cache-deep",
                                     "excluded-symlink-out", "tagger-db-symlink-out"])
async def test_opening_the_tui_never_touches_outside(tmp_path, hostile):
    from tests.tui.helpers import make_app, wait_edits, wait_loaded

    ds = make_ds(tmp_path)
    HOSTILE[hostile](ds, tmp_path)
    before = tree(tmp_path)
    app = make_app(ds)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("u")  # undo whatever the crafted journal holds
        await wait_edits(app, pilot)
        await pilot.pause()
    assert tree(tmp_path) == before
