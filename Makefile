# KneeGrade: `make run` serves the app, `make test` runs every test. Both set up what is missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kneegrade-setup
ARTIFACTS ?= artifacts
SEED ?= 0

.PHONY: setup test lint format synth bench run clean

setup: $(STAMP)

# Reinstall only when a dependency list changes; an existing .venv is reused.
$(STAMP): ml/pyproject.toml backend/pyproject.toml requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ./ml -e ./backend -r requirements-dev.txt
	touch $@

test: setup
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

synth: setup
	$(BIN)/kneegrade synth --out $(ARTIFACTS)/synthetic --seed $(SEED)

bench: setup
	$(BIN)/python bench/bench_synth.py

# Until the REST API lands, `make run` prepares the synthetic data set and says what is missing.
run: setup
	test -d $(ARTIFACTS)/synthetic/train || $(MAKE) synth
	@echo "The web app is not built yet: the synthetic set is in $(ARTIFACTS)/synthetic."

clean:
	rm -rf $(ARTIFACTS) .pytest_cache .ruff_cache
