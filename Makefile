# The two commands of the README:
#   make demo   installs Cortex into .venv and runs it on the embedded default
#   make test   installs Cortex with its test tools and runs lint, types and every test
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# torch only serves as the embedding reference in tests; 2.13.0 is the CPU build.
TORCH  ?= torch==2.13.0

.PHONY: install install-test demo serve test lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet '$(TORCH)'
	$(BIN)/pip install --quiet -e '.[reference]'

demo: install
	$(BIN)/cortex demo

serve: install
	$(BIN)/cortex serve

lint:
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

test: install-test lint
	$(BIN)/pytest
