# Interdict: two commands do everything on a fresh clone.
#   make demo   create .venv, install, run the main job on the embedded defaults
#   make test   create .venv, install, run the whole test suite (lint + types + tests)
#   make bench  run the benchmarks (figures printed, nothing asserted on time)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test lint bench clean browser postgres

$(VENV): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench,central]'
	touch $(VENV)

demo: $(VENV)
	$(BIN)/interdict demo

lint: $(VENV)
	$(BIN)/ruff check spectra driver matcher parcels station central interdict tests bench tools
	$(BIN)/mypy

test: $(VENV) lint browser postgres
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The evidence-report test renders in a real headless browser (Debian's chromium). Install it
# where we can (root with apt); where we cannot, that one test says so and skips.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium could not be installed here: the browser-rendering test will skip"; }

# The store, central-service and sync tests start a private PostgreSQL server (central/devdb.py)
# from Debian's binaries. Install them where we can (root with apt); where we cannot, those
# tests fail and say so: they are never skipped.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
	  || [ -n "$$INTERDICT_PG_BINDIR" ] || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
	  || echo "PostgreSQL server binaries could not be installed here: set INTERDICT_PG_BINDIR or pip install pgserver"; }

bench: $(VENV)
	@for b in bench/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
