"""Free memory of the GPU a run will use, read through NVML (nvidia-ml-py), for the VRAM launch gate.

NVML counts physical GPUs; ``CUDA_VISIBLE_DEVICES`` renumbers them for CUDA, so a run's ``cuda:N``
(or ``--gpu N``, which the supervisor turns into ``CUDA_VISIBLE_DEVICES=N``) is mapped back to the
physical index first. No NVIDIA driver, no NVML, a CPU run or an index NVML does not know: None
(the launch goes on, unchecked). ``pynvml`` is imported only when a reading is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from loratui.config.vram import GpuMemory


def physical_index(device: str = "auto", gpu: str | int | None = None,
                   env: Mapping[str, str] | None = None) -> int | None:
    """The NVML index of the GPU a run with ``hardware.device = device`` (and ``--gpu``) trains on;
    None for a CPU run."""
    env = os.environ if env is None else env
    if gpu not in (None, ""):
        return int(gpu) if str(gpu).strip().isdigit() else None
    device = (device or "auto").strip().lower()
    if device == "cpu":
        return None
    n = int(device.split(":", 1)[1]) if device.startswith("cuda:") and device.split(":", 1)[1].isdigit() else 0
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return n
    ids = [v.strip() for v in visible.split(",") if v.strip()]
    if n >= len(ids) or not ids[n].isdigit():  # hidden, or named by UUID: not mapped
        return None
    return int(ids[n])


def read_gpu_memory(index: int) -> GpuMemory | None:
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - no driver / no GPU: nothing to compare with
        return None
    try:
        if index >= pynvml.nvmlDeviceGetCount():
            return None
        h = pynvml.nvmlDeviceGetHandleByIndex(index)
        mem = pynvml.nvmlDeviceGetMemoryInfo(h)
        name = pynvml.nvmlDeviceGetName(h)
        name = name.decode() if isinstance(name, bytes) else str(name)
        return GpuMemory(index, name, int(mem.free), int(mem.total))
    except Exception:  # noqa: BLE001
        return None
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass


def gpu_free_bytes() -> list[int]:
    """Free bytes of every GPU NVML sees (empty without one): for the GPU benchmark's header."""
    out = []
    for i in range(64):
        g = read_gpu_memory(i)
        if g is None:
            break
        out.append(g.free)
    return out


def worker_vram_warning(spec, reader=read_gpu_memory, env: Mapping[str, str] | None = None) -> str | None:
    """What the worker says before loading the models when the estimate exceeds the GPU's free
    memory (a queued run, or one launched from the TUI, gets the CLI gate's advice too); None when it
    fits, on the CPU, or without an NVML reading."""
    from loratui.config.vram import estimate, inputs_from_spec, suggestions

    if (spec.device or "").strip().lower() == "cpu":
        return None
    index = physical_index(spec.device, None, env)
    mem = reader(index) if index is not None else None
    if mem is None:
        return None
    est = estimate(inputs_from_spec(spec))
    if est.needs <= mem.free:
        return None
    tips = suggestions(est.inputs, mem.free)[:3]
    return (f"{est.summary()}, but GPU {mem.index} ({mem.name}) has {mem.free / 1e9:.1f} GB free: this run may "
            "run out of memory" + ("; to fit: " + "; ".join(tips) if tips else ""))


def check_vram(cfg, *, gpu: str | int | None = None, queued: bool = False, override: bool = False,
               reader=read_gpu_memory, env: Mapping[str, str] | None = None) -> tuple[bool, str]:
    """The VRAM launch gate for ``cfg`` (a TrainConfig): its estimate against the GPU's free memory.

    A queued run starts after the runs ahead of it have freed the GPU: it is compared with the GPU's
    total memory instead (refused only when it cannot fit even on an empty card)."""
    from dataclasses import replace

    from loratui.config.vram import estimate_config, vram_gate

    est = estimate_config(cfg)
    index = physical_index(cfg.hardware.device, gpu, env)
    if index is None:
        if (cfg.hardware.device or "").strip().lower() == "cpu":
            return True, f"{est.summary()}; this run trains on the CPU"
        return vram_gate(est, None)
    mem = reader(index)
    if mem is not None and queued:
        mem = replace(mem, free=mem.total, name=mem.name + ", when the queue reaches this run")
    return vram_gate(est, mem, override)


# ---- a reading of every GPU, for the stall watchdog and `loratui doctor` ----------------------------
def gpu_snapshot() -> list[dict] | str:
    try:
        import pynvml
    except ImportError:
        return "no NVIDIA GPU (nvidia-ml-py is not installed)"
    try:
        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
    except Exception as e:  # noqa: BLE001 - NVMLError_LibraryNotFound, DriverNotLoaded, ...
        return f"no NVIDIA GPU ({e or type(e).__name__})"
    if not count:
        return "no NVIDIA GPU (no devices)"
    out = []
    try:
        for i in range(count):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            row: dict = {"index": i}
            for key, fn in (("name", lambda h=h: pynvml.nvmlDeviceGetName(h)),
                            ("util", lambda h=h: pynvml.nvmlDeviceGetUtilizationRates(h).gpu),
                            ("mem", lambda h=h: pynvml.nvmlDeviceGetMemoryInfo(h))):
                try:
                    row[key] = fn()
                except Exception:  # noqa: BLE001 - some boards lack a sensor
                    row[key] = None
            name = row.get("name")
            row["name"] = name.decode() if isinstance(name, bytes) else str(name or "GPU")
            mem = row.pop("mem")
            row["mem_used"] = int(mem.used) if mem is not None else None
            row["mem_total"] = int(mem.total) if mem is not None else None
            out.append(row)
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass
    return out


def describe_gpus(gpus: list[dict] | str) -> list[str]:
    if isinstance(gpus, str):
        return [gpus]
    gb = float(1 << 30)
    lines = []
    for g in gpus:
        mem = (f"{g['mem_used'] / gb:.1f}/{g['mem_total'] / gb:.1f} GB" if g.get("mem_total") else "memory ?")
        util = f"{g['util']}%" if g.get("util") is not None else "?"
        lines.append(f"GPU {g.get('index')} {g.get('name')}: utilisation {util}, {mem}")
    return lines
