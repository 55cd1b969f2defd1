# Two entry points (see README): `make demo` and `make test`.
# Both create ./.venv on first use and install loratui with everything it needs.
PYTHON ?= python3
VENV ?= .venv
# Installed before the rest so that pip keeps this build (on CPU-only build machines it is the CPU wheel).
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.loratui-installed

.PHONY: setup demo test bench
setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(VENV)/bin/loratui demo

test: setup
	HF_HUB_OFFLINE=1 $(PY) -m pytest -n 2 -q

# CPU benchmarks (each prints its figures); the GPU ones run through bench/gpu_check.sh on a GPU machine.
bench: setup
	for b in bench/*.py; do case $$b in *gpu_*) continue;; esac; echo "== $$b"; $(PY) $$b || exit 1; done
