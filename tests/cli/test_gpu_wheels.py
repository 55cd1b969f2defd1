"""bench/gpu_wheels.py: which gathered wheels a bare GPU machine installs, and the gathering plan."""

from __future__ import annotations

import importlib.util
import os
import zipfile
from importlib.metadata import version

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _module():
    spec = importlib.util.spec_from_file_location("gpu_wheels", os.path.join(REPO, "bench", "gpu_wheels.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _wheel(folder, name, ver, requires=()):
    path = os.path.join(folder, f"{name.replace('-', '_')}-{ver}-py3-none-any.whl")
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {ver}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires) + "\nlong description: Requires-Dist: ignored\n"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{name.replace('-', '_')}-{ver}.dist-info/METADATA", meta)
    return path


def test_select_installs_what_is_missing_or_too_old(tmp_path):
    gw = _module()
    have = version("packaging")
    missing = _wheel(tmp_path, "loratui-surely-missing-pkg", "1.0", ["packaging>=999; python_version >= '3'"])
    pk = _wheel(tmp_path, "packaging", "999.0")
    _wheel(tmp_path, "tomli-w", version("tomli_w"))  # present in a fitting version: left alone
    assert sorted(gw.select(str(tmp_path))) == sorted([missing, pk])  # packaging {have} is too old for it
    os.unlink(missing)
    assert gw.select(str(tmp_path)) == [], have  # nobody needs a newer packaging any more


def test_plan_pins_this_venv_and_leaves_out_what_the_gpu_machine_has():
    gw = _module()
    plan = dict(line.split("==") for line in gw.plan())
    assert plan["diffusers"] == version("diffusers") and plan["pillow"] == version("pillow")
    assert "textual" in plan and "tomli-w" in plan
    for present in ("torch", "transformers", "peft", "accelerate", "numpy", "nvidia-ml-py"):
        assert present not in plan
