"""How many CPU threads the training worker gives torch.

torch's default is the number of cores of the machine, not the number this process may run on: in
a container limited to 2 CPUs on a 64-core host, or on a machine shared with other jobs, 64 threads
fight over 2 cores and a step takes ten times longer than with one. The worker therefore uses the
cores it is allowed to run on (``os.sched_getaffinity``, capped by a cgroup CPU quota), unless the
user set ``hardware.cpu_threads`` or ``OMP_NUM_THREADS``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

CGROUP_CPU_MAX = "/sys/fs/cgroup/cpu.max"


def available_cpus() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup v2 quota if any."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quota = cgroup_quota()
    if quota is not None:
        n = min(n, max(1, math.floor(quota)))
    return max(1, n)


def cgroup_quota(path: str = CGROUP_CPU_MAX) -> float | None:
    """CPUs granted by the cgroup v2 ``cpu.max`` file (``"200000 100000"`` -> 2.0); None if unlimited."""
    try:
        with open(path) as f:
            parts = f.read(256).split()
    except OSError:
        return None
    if len(parts) != 2 or parts[0] == "max":
        return None
    try:
        quota, period = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def cpu_threads(setting: int = 0, env: Mapping[str, str] | None = None) -> tuple[int, str]:
    """(threads, why): ``setting`` if > 0, else ``OMP_NUM_THREADS`` if set, else the available cores."""
    if setting and setting > 0:
        return int(setting), "hardware.cpu_threads"
    env = os.environ if env is None else env
    omp = env.get("OMP_NUM_THREADS", "").strip()
    if omp.isdigit() and int(omp) > 0:
        return int(omp), "OMP_NUM_THREADS"
    return available_cpus(), "cores available to this process"


def apply_cpu_threads(setting: int = 0) -> tuple[int, str]:
    """Set torch's intra-op (and, when still possible, inter-op) thread counts; returns (threads, why)."""
    import torch

    n, why = cpu_threads(setting)
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(n)
    except RuntimeError:
        pass  # only settable before the first parallel region; the intra-op count is what matters
    return n, why
