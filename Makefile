# The two commands of the README: `make run` and `make test`. Everything else is their plumbing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
AXE_VERSION := 4.14.1
AXE_JS := .cache/axe/node_modules/axe-core/axe.min.js
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint validate bench chromium graphviz clean venv-check

IS_311 := -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'

$(BIN)/python:
	@$(PYTHON) $(IS_311) || { echo "Python 3.11 is needed: make $(MAKECMDGOALS) PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

venv-check: | $(BIN)/python
	@$(BIN)/python $(IS_311) || { echo "$(VENV) was made with another Python: run make clean, then make $(MAKECMDGOALS)"; exit 1; }

$(VENV)/.installed: pyproject.toml | venv-check
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | venv-check
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

## Run the app: SQLite in instance/, migrated, at http://$(HOST):$(PORT)/
run: $(VENV)/.installed
	$(BIN)/assistant db upgrade
	$(BIN)/assistant serve --host $(HOST) --port $(PORT)

## Run the whole test suite, browser tests included.
test: $(VENV)/.installed-test chromium graphviz $(AXE_JS)
	$(BIN)/ruff check assistant tests bench
	$(BIN)/assistant validate flows
	$(BIN)/assistant test --min-coverage 100 flows
	$(BIN)/pytest

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  echo "Installing Debian's graphviz for the console's flow diagrams"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq graphviz >/dev/null; }

$(AXE_JS):
	npm install --silent --no-save --no-audit --no-fund --prefix .cache/axe axe-core@$(AXE_VERSION)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check assistant tests bench

validate: $(VENV)/.installed
	$(BIN)/assistant validate flows

## Benchmark (prints ratios; see README "Performance").
bench: $(VENV)/.installed-test
	$(BIN)/python bench/bench.py

clean:
	rm -rf $(VENV) .cache instance .pytest_cache
