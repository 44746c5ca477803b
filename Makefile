# ftm — two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The stamp is named by the content of the set-up files, not their dates: nbdev-export rewrites pyproject.toml
# (same bytes, new mtime), which would otherwise reinstall on every `make test`.
STAMP := $(VENV)/.ftm-installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)
QUARTER ?= 2016Q2
SOURCE ?= sample
LAKE ?= ./lake
NAMER ?= keywords

.PHONY: setup run test export check-sync bench events lab

# Set-up is keyed on the files that define it, so a second call is a no-op.
$(STAMP):
	@command -v $(PY) >/dev/null || { echo "need $(PY) on PATH (or: make PY=python3 ...)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first: the CPU build on local disk; a plain `torch` would pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

run: setup
	@mkdir -p runs/outputs
	HF_HUB_OFFLINE=1 $(BIN)/papermill runs/quarter.ipynb runs/outputs/quarter-$(QUARTER).ipynb \
	  -p quarter $(QUARTER) -p source $(SOURCE) -p lake $(LAKE) -p namer $(NAMER) --log-output --progress-bar
	$(BIN)/ftm lake record runs/outputs/quarter-$(QUARTER).ipynb --quarter $(QUARTER) --lake $(LAKE)

export: setup
	$(BIN)/nbdev-export
	$(BIN)/nbdev-clean

# Fails when the notebooks and the package disagree, or a notebook is not clean.
check-sync: setup
	@snap() { find ftm nbs runs -type f -not -path 'runs/outputs/*' -not -path '*__pycache__*' -not -path '*.ipynb_checkpoints*' | sort | xargs sha1sum | sha1sum; }; \
	before=$$(snap); \
	$(BIN)/nbdev-export && $(BIN)/nbdev-clean && $(BIN)/nbdev-clean --fname runs; \
	if [ "$$before" != "$$(snap)" ]; then \
	  echo "FAILED: nbdev-export/nbdev-clean changed files under ftm/, nbs/ or runs/."; \
	  echo "The package was out of sync with its notebooks, or a notebook was not clean: review and commit."; \
	  git status --porcelain -- ftm nbs runs; exit 1; fi

test: setup check-sync
	HF_HUB_OFFLINE=1 $(BIN)/python tests/run_all.py

bench: setup
	HF_HUB_OFFLINE=1 $(BIN)/python bench/quarter.py --data ../shared/data/maec/transcripts.parquet --quarter 2016Q2

# The event study over published quarters (run `ftm run` for each quarter first); the executed notebook is the record.
QUARTERS ?= 2015Q2..2017Q4
PRICES ?= ../shared/data/prices/daily_prices.parquet
events: setup
	@mkdir -p runs/outputs
	$(BIN)/papermill runs/events.ipynb runs/outputs/events-$(subst ..,-,$(QUARTERS)).ipynb \
	  -p quarters $(QUARTERS) -p prices $(PRICES) -p lake $(LAKE) --log-output

# JupyterLab on the run notebooks (runs/explore.ipynb: browse a lake's themes), with this project's kernel.
# (the venv's python3 kernelspec runs the venv's python, so the notebooks import this checkout's ftm)
lab: setup
	HF_HUB_OFFLINE=1 $(BIN)/jupyter lab --notebook-dir=runs
