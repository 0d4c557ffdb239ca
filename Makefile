# The README's two commands. A virtualenv in .venv keeps the system Python clean.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
QUERY ?= anemia transfusion

.PHONY: demo test check install browser axe lint clean-index

$(BIN)/kbsearch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

install: $(BIN)/kbsearch

## demo: install, index seeds/ into index/, and run a real search
demo: install
	$(BIN)/kbsearch index seeds/
	$(BIN)/kbsearch query "$(QUERY)"

## browser: Debian's chromium and chromium-driver, which the search page's tests drive
## (browser downloads by pip packages do not work offline); skipped if they cannot be installed
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); export DEBIAN_FRONTEND=noninteractive; \
		$$SUDO apt-get install -y --no-install-recommends chromium chromium-driver \
		|| { $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium chromium-driver; } \
		|| echo "make: no chromium: the browser tests will skip (set KBSEARCH_REQUIRE_BROWSER=1 to fail)"; }

## axe: axe-core from npm (package-lock.json), which the browser tests run on the search page
axe: node_modules/axe-core/axe.min.js

node_modules/axe-core/axe.min.js: package.json package-lock.json
	@command -v npm >/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); export DEBIAN_FRONTEND=noninteractive; \
		$$SUDO apt-get install -y --no-install-recommends npm \
		|| { $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends npm; } \
		|| echo "make: no npm: the accessibility tests will skip (set KBSEARCH_REQUIRE_BROWSER=1 to fail)"; }
	command -v npm >/dev/null && npm ci --no-audit --no-fund --loglevel=error && touch $@ || true

## test: install, lint, type-check, check the import layers, run every test (slow ones included, the browser's too)
test: install browser axe
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

## check: the fast tier for a contributor's loop (lint, types, the tests not marked slow)
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -m "not slow" -q -x

clean-index:
	find index -mindepth 1 ! -name README.md -exec rm -rf {} +
