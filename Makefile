# The two commands of the README: `make run` and `make test`. Everything else is their plumbing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
AXE_VERSION := 4.14.1
AXE_JS := .cache/axe/node_modules/axe-core/axe.min.js
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint validate bench debian-packages clean venv-check

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

## Run the whole test suite, browser tests included, on SQLite and on PostgreSQL.
test: $(VENV)/.installed-test debian-packages $(AXE_JS)
	$(BIN)/ruff check assistant tests bench
	$(BIN)/assistant validate flows
	$(BIN)/assistant test --min-coverage 100 flows
	$(BIN)/pytest

# Debian's chromium (browser tests), postgresql (the tests start a throwaway server of it) and
# graphviz (`dot` lays out the console's flow diagrams).
debian-packages:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v dot >/dev/null 2>&1 || missing="$$missing graphviz"; \
	[ -z "$$missing" ] || { \
	  echo "Installing Debian's$$missing for the tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; }

$(AXE_JS):
	npm install --silent --no-save --no-audit --no-fund --prefix .cache/axe axe-core@$(AXE_VERSION)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check assistant tests bench

validate: $(VENV)/.installed
	$(BIN)/assistant validate flows

## Benchmark (prints ratios; see README "Performance"); (a) and (b) also on PostgreSQL, 4 workers.
bench: $(VENV)/.installed-test debian-packages
	$(BIN)/python bench/bench.py --postgres 4

clean:
	rm -rf $(VENV) .cache instance .pytest_cache
