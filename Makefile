# Two entry points (see README): `make demo` and `make test`.
# Both create ./.venv on first use and install loratui with everything it needs.
PYTHON ?= python3
VENV ?= .venv
# Installed before the rest so that pip keeps this build (on CPU-only build machines it is the CPU wheel).
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.loratui-installed
# pip's own progress stays visible; setuptools' build-time deprecation notes (about its own future) do not
PIP := PYTHONWARNINGS=ignore $(PY) -m pip install --disable-pip-version-check

.PHONY: setup demo test lint bench
setup: $(STAMP)

# a line per step: the first setup downloads about 1 GB (torch) and takes minutes
$(STAMP): pyproject.toml
	@echo "loratui setup [1/4]: virtual environment in $(VENV)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "loratui setup [2/4]: upgrading pip"
	@$(PIP) --quiet --upgrade pip
	@echo "loratui setup [3/4]: $(TORCH_SPEC) (the largest download; a few minutes)"
	@$(PIP) $(TORCH_SPEC)
	@echo "loratui setup [4/4]: loratui and its dependencies (textual, diffusers, onnxruntime, test tools)"
	@$(PIP) -e '.[dev]'
	@touch $(STAMP)
	@echo "loratui setup: done"

demo: setup
	@echo "loratui: opening the demo workspace (loratui demo)"
	$(VENV)/bin/loratui demo

# static checks: ruff (pyflakes, imports, bugbear) everywhere, mypy on the core libraries, and the
# layering contracts in pyproject.toml (textual only in tui/, torch only in train/, core never imports tui/cli/train)
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	PYTHONPATH=$(CURDIR) $(VENV)/bin/lint-imports --no-cache

test: setup lint
	HF_HUB_OFFLINE=1 $(PY) -m pytest -n 2 -q

# CPU benchmarks (each prints its figures); the GPU ones run through bench/gpu_check.sh on a GPU machine.
bench: setup
	for b in bench/*.py; do case $$b in *gpu_*) continue;; esac; echo "== $$b"; $(PY) $$b || exit 1; done
