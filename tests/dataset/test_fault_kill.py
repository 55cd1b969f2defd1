"""SIGKILL a bulk rename at random moments: no caption is ever half-written, lost or left mixed."""

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from loratui.dataset import Dataset

N_FILES = 2000
TRIALS = 12

RENAME = """
import sys
from loratui.dataset import Dataset, RenameTag
ds = Dataset.open(sys.argv[1])
print("ready", flush=True)
ds.run(RenameTag("blonde hair", "yellow hair"))
print("done", flush=True)
"""


def build(root):
    old, new = {}, {}
    sub = root / "10_char"
    sub.mkdir(parents=True)
    for i in range(N_FILES):
        (sub / f"{i:05d}.png").write_bytes(b"")
        tags = f"char, {'1girl' if i % 2 else '1boy'}, blonde hair, tag{i}"
        (sub / f"{i:05d}.txt").write_text(tags)
        old[f"{i:05d}.txt"] = tags.encode()
        new[f"{i:05d}.txt"] = tags.replace("blonde hair", "yellow hair").encode()
    return sub, old, new


def contents(sub):
    return {p.name: p.read_bytes() for p in sub.iterdir() if p.suffix == ".txt"}


@pytest.mark.slow
def test_random_sigkill_during_bulk_rename(tmp_path):
    rng = random.Random(20261126)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # measure one uninterrupted run to spread the kill moments over its whole length
    sub, old, new = build(tmp_path / "timing")
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", RENAME, str(tmp_path / "timing")], check=True, env=env,
                   capture_output=True)
    full = time.monotonic() - t0
    assert contents(sub) == new

    outcomes = {"old": 0, "new": 0, "mixed": 0}
    for trial in range(TRIALS):
        root = tmp_path / f"t{trial}"
        sub, old, new = build(root)
        proc = subprocess.Popen([sys.executable, "-c", RENAME, str(root)], stdout=subprocess.PIPE, env=env)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0, full * 0.8))
        proc.send_signal(signal.SIGKILL)
        proc.wait()

        # right after the kill: every file is wholly old or wholly new, none missing or truncated
        now = contents(sub)
        assert set(now) == set(old), f"trial {trial}: caption files missing or extra"
        for name, data in now.items():
            assert data in (old[name], new[name]), f"trial {trial}: {name} is neither old nor new: {data!r}"
        if len({data == new[name] for name, data in now.items()}) == 2:
            outcomes["mixed"] += 1

        # opening the dataset restores one consistent state: all old (rolled back) or all new
        ds = Dataset.open(root)
        after = contents(sub)
        assert after in (old, new), f"trial {trial}: mixed state after recovery"
        assert not [p for p in sub.iterdir() if ".loratui-tmp-" in p.name], "temporary files left behind"
        state = "new" if after == new else "old"
        outcomes[state] += 1
        assert ds.index.count("yellow hair" if state == "new" else "blonde hair") == N_FILES
        if state == "new":
            ds.undo()  # a completed rename is undoable as usual
            assert contents(sub) == old
    # the kill moments spread over the run: it was caught at least once mid-way or before commit
    print(outcomes)
    assert outcomes["mixed"] >= 1, outcomes
