# pedsim: set-up, run and test. Every target creates .venv when it is missing.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

# Prefer the newest supported interpreter found (mosaik 3.7 is faster on Python >= 3.12).
PYTHON ?= $(shell for p in python3.12 python3.13 \
	$$(command -v pyenv >/dev/null 2>&1 && ls -d "$$(pyenv root)"/versions/3.1[23]*/bin/python3 2>/dev/null) \
	python3.11 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1; \
	then echo $$p; break; fi; done)

.PHONY: setup run test lint bench clean

$(BIN)/pedsim: pyproject.toml
	@test -n "$(PYTHON)" || { echo "pedsim needs Python >= 3.11 (none found)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(BIN)/pedsim

setup: $(BIN)/pedsim

run: setup
	$(BIN)/pedsim run scenarios/reference.yaml

lint: setup
	$(BIN)/ruff check pedsim tests benchmarks
	$(BIN)/ruff format --check pedsim tests benchmarks

test: lint
	$(BIN)/python -m pytest -n 2 --dist loadfile
	PEDSIM_NB_PERIOD='1 day' $(BIN)/python -m pytest --nbmake --nbmake-timeout=900 notebooks/

bench: setup
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
