# The README's two commands. A virtualenv in .venv keeps the system Python clean.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
QUERY ?= anemia transfusion

.PHONY: demo test install lint clean-index

$(BIN)/kbsearch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/kbsearch

## demo: install, index seeds/ into index/, and run a real search
demo: install
	$(BIN)/kbsearch index seeds/
	$(BIN)/kbsearch query "$(QUERY)"

## test: install, lint, type-check, run every test (slow ones included)
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

clean-index:
	find index -mindepth 1 ! -name README.md -exec rm -rf {} +
