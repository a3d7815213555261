# Two commands do everything on a fresh machine with Python >= 3.11 and make:
#   make run    set up the environment (locked dependencies) and open the dashboard
#   make test   set up, then lint (ruff), type-check (mypy) and the whole test suite
# `make bench` prints the speed figures.

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.synced-stamp
PORT ?= 8501
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: setup run test lint typecheck pytest bench evaluate clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --extra dev --compile-bytecode --python $(PYTHON)
	@touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/streamlit run app/streamlit_app.py --server.port $(PORT) --server.headless true \
		--browser.gatherUsageStats false

evaluate: setup
	$(BIN)/python -m model evaluate

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# The numpydoc examples in model/ run as doctests; then the unit, property and AppTest suites on
# both cores; then the browser tests on their own, so a loaded machine does not slow the real
# Chromium against its timeouts.
pytest: setup
	$(BIN)/python -m pytest -q --doctest-modules model
	$(BIN)/python -m pytest -n 2 --ignore=tests/browser
	$(BIN)/python -m pytest tests/browser

test: lint typecheck pytest

bench: setup
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
