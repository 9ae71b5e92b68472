# The two set-up commands of the README:
#   make demo   install, build the index of the bundled corpus, answer a sample follow-up question
#   make test   install with the development tools, then lint, type-check and run every test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
QUESTION ?= What dose should be used?
HISTORY ?= Which medication treats spasticity in multiple sclerosis?

.PHONY: install demo test lint calibrate eval benchmarks clean

# Installs into a project virtual environment; re-runs only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/followup index
	$(BIN)/followup ask "$(QUESTION)" --history "$(HISTORY)"

lint: install
	$(BIN)/ruff check src tests evals
	$(BIN)/ruff format --check src tests evals
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# The own suite (test split), then the public benchmarks beside the project (../shared/benchmarks).
BENCHMARKS ?= ../shared/benchmarks
eval: install
	$(BIN)/followup index
	$(BIN)/followup eval --split test

benchmarks: install
	$(BIN)/followup eval $(BENCHMARKS)/nfcorpus --split test
	$(BIN)/followup eval $(BENCHMARKS)/medquad --split test

calibrate: install
	$(BIN)/followup index
	$(BIN)/python evals/calibrate_abstention.py

clean:
	rm -rf $(VENV) index/CURRENT index/builds index/.lock
