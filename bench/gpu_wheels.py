"""Wheels for a bare lent GPU machine (see bench/gather_gpu_wheels.sh and bench/gpu_check.sh).

The lent machine has Python 3.12 with torch, transformers, peft, accelerate, safetensors,
onnxruntime and nvidia-ml-py, and no network. Two steps, one per machine:

    python bench/gpu_wheels.py plan            # here: NAME==VER lines to download (pinned to this venv)
    python3 bench/gpu_wheels.py select .whl    # there: the wheels that machine lacks (or holds too old)

``plan`` walks the requirements of loratui's packages that such a machine lacks, with the versions
installed in the venv the test suite runs on, so the GPU runs what was tested here. The packages the
machine brings are not gathered (torch and its CUDA libraries alone are gigabytes); ``select`` still
installs a gathered wheel over an installed copy that is older than a gathered package requires.

``select`` must run on the bare interpreter: standard library only, plus ``packaging`` when present
(transformers requires it) to compare versions.
"""

from __future__ import annotations

import os
import re
import sys
import zipfile

ROOTS = ["diffusers", "pillow", "textual", "textual-image", "tomli-w", "platformdirs", "huggingface-hub",
         "safetensors"]
"""What loratui imports that a bare GPU machine may lack. huggingface-hub and safetensors are
there, but diffusers may need newer ones: they are gathered, and installed only when needed."""

PRESENT = {"torch", "transformers", "peft", "accelerate", "onnxruntime", "onnxruntime-gpu", "nvidia-ml-py",
           "numpy", "tokenizers", "triton", "setuptools", "pip"}
"""On the lent machine already (any version loratui accepts); their own requirements are not followed."""

TARGET = {"python_version": "3.12", "python_full_version": "3.12.0", "sys_platform": "linux",
          "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
          "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}
"""The lent machine's marker environment (requirements with other markers are skipped)."""


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _req_name(req: str) -> str:
    return norm(re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req).group(1))


def plan(roots: list[str] = ROOTS) -> list[str]:
    """NAME==VERSION for the roots and their requirements (for the target machine), as installed here."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    seen: dict[str, str] = {}
    todo = [norm(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in seen or name in PRESENT:
            continue
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            raise SystemExit(f"{name} is not installed in this venv: install loratui's dependencies first") from None
        seen[name] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate(TARGET):
                continue  # extras ("extra == ...") and other platforms
            todo.append(norm(req.name))
    return [f"{n}=={v}" for n, v in sorted(seen.items())]


def _wheel_meta(path: str) -> tuple[str, str, list[str]]:
    """(normalized name, version, Requires-Dist lines) of a wheel file."""
    base = os.path.basename(path)
    name, version = base.split("-")[:2]
    requires = []
    with zipfile.ZipFile(path) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        for line in z.read(meta).decode("utf-8", "replace").splitlines():
            if not line.strip():
                break  # end of the headers
            if line.startswith("Requires-Dist:"):
                requires.append(line.split(":", 1)[1].strip())
    return norm(name), version, requires


def select(folder: str) -> list[str]:
    """Paths of the wheels in ``folder`` to install on this machine: the packages it lacks, and those it
    holds in a version that a gathered wheel's requirement rejects."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        from packaging.markers import default_environment
        from packaging.requirements import Requirement
        from packaging.version import Version
    except ImportError:  # no packaging: install only what is missing
        Requirement = None  # type: ignore[assignment,misc]

    wheels = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".whl"))
    metas = {p: _wheel_meta(p) for p in wheels}
    wanted = []
    for path, (name, _ver, _req) in metas.items():
        try:
            have = version(name)
        except PackageNotFoundError:
            wanted.append(path)
            continue
        if Requirement is None:
            continue
        env = dict(default_environment(), extra="")
        for _p, (_n, _v, reqs) in metas.items():
            for line in reqs:
                req = Requirement(line)
                if norm(req.name) != name or (req.marker is not None and not req.marker.evaluate(env)):
                    continue
                if not req.specifier.contains(Version(have), prereleases=True):
                    print(f"{name} {have} is installed here but {_n} needs {req.specifier}: using the gathered "
                          f"{_ver}", file=sys.stderr)
                    wanted.append(path)
                    break
            else:
                continue
            break
    return wanted


def main(argv: list[str]) -> int:
    if argv[:1] == ["plan"]:
        print("\n".join(plan()))
        return 0
    if argv[:1] == ["select"] and len(argv) == 2:
        print("\n".join(select(argv[1])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
