# Two commands do everything on a fresh machine with Python 3.11 and make:
#   make serve   create .venv, install the package, start the mock on 127.0.0.1:8910
#   make test    create/update .venv with the test extras, run ruff, mypy --strict and pytest
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8910
STAMP_RUN  := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test

.PHONY: serve test lint typecheck pytest contracts bench bench-store bench-stalls wheel clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP_RUN)

serve: $(STAMP_RUN)
	$(BIN)/sms-mockserver serve --host $(HOST) --port $(PORT)

test: $(STAMP_TEST) lint typecheck pytest

lint: $(STAMP_TEST)
	$(BIN)/ruff check mockserver tests bench examples
	$(BIN)/ruff format --check mockserver tests bench examples

typecheck: $(STAMP_TEST)
	$(BIN)/mypy

pytest: $(STAMP_TEST)
	$(BIN)/python -m pytest

# Regenerate contracts/*/openapi.json from the TOML field tables (commit the result).
contracts: $(STAMP_RUN)
	$(BIN)/sms-mockserver contracts --write

bench: $(STAMP_TEST)
	$(BIN)/python bench/run.py

# The journal's bounds on a real server: big sends, paging, memory over many namespaces.
bench-store: $(STAMP_TEST)
	$(BIN)/python bench/store_bounds.py

# /_mock/health latency while maximal hostile bodies are parsed (no request stalls the others).
bench-stalls: $(STAMP_TEST)
	$(BIN)/python bench/stalls.py

wheel: $(STAMP_TEST)
	rm -rf dist
	$(BIN)/python -m build --wheel --outdir dist .

clean:
	rm -rf $(VENV) dist build .mypy_cache .ruff_cache .pytest_cache .hypothesis
