#!/usr/bin/env bash
# GPU check for a lent machine, in one call: install the gathered wheels (offline), print the environment,
# then the worker benchmarks (bench/gpu_train.py): SD1.5-size at 512 px and SDXL-size at 1024 px, random
# weights built from configs (nothing is downloaded), it/s, samples/s, peak VRAM next to loratui's estimate.
#
# Here, before the call:  bash bench/gather_gpu_wheels.sh      (fills the git-ignored .whl/, ~25 MiB)
# There (carry .whl):     bash bench/gpu_check.sh              (about 6-8 minutes on an H100/H200)
# Extra arguments go to both gpu_train.py runs (e.g. --batches 1 to halve it).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
WHL=${WHL:-.whl}
SITE=${GPU_SITE:-/tmp/site}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if ! "$PY" -c "import diffusers" 2>/dev/null; then
    ls "$WHL"/*.whl >/dev/null 2>&1 || { echo "no diffusers here and no wheels in $WHL: run bench/gather_gpu_wheels.sh first and carry $WHL" >&2; exit 2; }
    # only what this machine lacks, or holds older than a gathered package needs: its own torch stack stays
    mapfile -t WHEELS < <("$PY" bench/gpu_wheels.py select "$WHL")
    echo "installing ${#WHEELS[@]} of $(ls "$WHL"/*.whl | wc -l) gathered wheels into $SITE"
    if [ "${#WHEELS[@]}" -gt 0 ] && [ -n "${WHEELS[0]}" ]; then
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "${WHEELS[@]}"
    fi
    export PYTHONPATH="$SITE:$PYTHONPATH"
fi

nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version,clocks.max.sm --format=csv 2>/dev/null || echo "(no nvidia-smi)"
"$PY" - <<'PYEOF'
import sys
import torch, diffusers, peft, accelerate, transformers, safetensors
print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda,
      "available", torch.cuda.is_available())
print("diffusers", diffusers.__version__, "peft", peft.__version__, "transformers", transformers.__version__,
      "accelerate", accelerate.__version__, "safetensors", safetensors.__version__)
from loratui.runs.gpu import gpu_free_bytes  # the launch gate's NVML reading, on real hardware
print("NVML free bytes per GPU:", gpu_free_bytes())
PYEOF
# defaults sized to fit one 10-minute device call with the install; later arguments override them
"$PY" bench/gpu_train.py --family sd15 --steps 12 "$@"
"$PY" bench/gpu_train.py --family sdxl --steps 8 "$@"
