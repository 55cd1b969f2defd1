#!/usr/bin/env bash
# Gather, on this (networked) machine, the wheels a bare lent GPU machine lacks, into .whl/ (git-ignored;
# it travels with the device call: carry [".whl"]). bench/gpu_check.sh installs them there, offline.
# The lent machine: Python 3.12, x86_64 Linux, torch/transformers/peft/accelerate/safetensors/onnxruntime/
# nvidia-ml-py installed. Versions are those of the venv the tests run on (bench/gpu_wheels.py plan).
# Usage: bench/gather_gpu_wheels.sh        (re-running downloads only what changed; ~25 MiB, ~30 s)
#        PYVER=3.11 DEST=/tmp/w bench/gather_gpu_wheels.sh   (another interpreter, e.g. to rehearse here)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PYVER=${PYVER:-3.12}
ABI=cp${PYVER/./}
DEST=${DEST:-.whl}
mkdir -p "$DEST"
mapfile -t PKGS < <("$PY" bench/gpu_wheels.py plan)
for spec in "${PKGS[@]}"; do
    # the local pip config adds file:// indexes that do not exist for every name: hide that noise
    "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$PYVER" --implementation cp \
        --abi "$ABI" --abi abi3 --abi none \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        --platform any -d "$DEST" "$spec" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
done
# keep only this plan's versions (after a venv upgrade the older wheels would be installed too)
"$PY" - "$DEST" "${PKGS[@]}" <<'PYEOF'
import os, sys
sys.path.insert(0, "bench")
from gpu_wheels import norm
dest, specs = sys.argv[1], sys.argv[2:]
want = {tuple(s.split("==")) for s in specs}
for f in sorted(os.listdir(dest)):
    name, ver = f.split("-")[:2]
    if f.endswith(".whl") and (norm(name), ver) not in want:
        os.unlink(os.path.join(dest, f))
        print("removed stale", f)
PYEOF
total=$(du -sb "$DEST" | cut -f1)
echo "$(ls "$DEST"/*.whl | wc -l) wheels in $DEST: $((total / 1048576)) MiB (a device call carries at most 64 MiB with the tree)"
[ "$total" -lt $((60 * 1048576)) ] || { echo "over 60 MiB: trim what the device already has (PRESENT in bench/gpu_wheels.py)" >&2; exit 1; }
