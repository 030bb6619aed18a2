# Two commands are the contract (README): `make demo` and `make test` work on a fresh clone.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: all venv sysdeps test unit e2e demo bench lint completions clean

all: test

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# System packages the tests drive for real (tmux, OpenSSH, TigerVNC under Xvfb, shells).
sysdeps:
	sh scripts/sysdeps.sh

test: venv sysdeps
	$(BIN)/python -m pytest -q tests

unit: venv
	$(BIN)/python -m pytest -q tests/unit

lint: venv
	$(BIN)/ruff check pyvirtctl tests
	$(BIN)/mypy

demo: venv
	$(BIN)/python scripts/demo.py

bench: venv
	$(BIN)/python tests/bench/run_all.py

completions: venv
	$(BIN)/python scripts/gen_completions.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
