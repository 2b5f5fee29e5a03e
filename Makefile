# netoutcomes: two commands for a newcomer, `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PATH := $(BIN):$(PATH)
export DVC_NO_ANALYTICS := 1
export MPLBACKEND := Agg
export MLFLOW_TRACKING_URI ?= sqlite:///mlflow.db

.PHONY: run test install browser lint bench clean help

help:
	@echo "make run   - create .venv, install, run the whole pipeline (dvc repro) on the synthetic cohort"
	@echo "make test  - create .venv, install, run the test suite"

$(STAMP): pyproject.toml
	@echo ">> creating $(VENV) and installing netoutcomes (first time only)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv \
	  && $(BIN)/python -m uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[dev]' \
	  || $(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

browser:
	@bash scripts/install-browser.sh || echo "!! headless Chromium unavailable: browser tests will skip"

run: install
	@bash scripts/run-pipeline.sh

test: install browser
	@$(BIN)/python -m pytest -q

lint: install
	@$(BIN)/ruff check pipeline features models tests

bench: install
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf data/raw data/truth data/validated data/quarantine data/features data/models reports mlflow.db mlartifacts mlruns
