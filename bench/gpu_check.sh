#!/usr/bin/env bash
# GPU check for a lent H100/H200: environment, then the worker benchmark (bench/gpu_train.py).
# Usage: bench/gpu_check.sh [extra args for gpu_train.py]     (about 3-5 minutes on an H100)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv || true
"$PY" - <<'PYEOF'
import torch, diffusers, peft, accelerate, transformers
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
print("diffusers", diffusers.__version__, "peft", peft.__version__, "transformers", transformers.__version__,
      "accelerate", accelerate.__version__)
PYEOF
HF_HUB_OFFLINE=1 "$PY" bench/gpu_train.py "$@"
