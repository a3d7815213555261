# Two commands do everything on a fresh machine with Python >= 3.11 and make:
#   make run    set up the environment (locked dependencies) and open the dashboard
#   make test   set up, then lint (ruff), type-check (mypy) and the whole test suite
# `make test-fast` is the inner loop (model examples and unit tests); `make equivalence` proves a
# change moved no number (EQ_BASE=<commit>, default main).
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

.PHONY: setup run test test-fast lint typecheck pytest bench equivalence evaluate clean

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

# The inner loop while changing model/: its numpydoc examples, then the model's unit tests (not the
# property sweep, the Monte Carlo, the app or the browser, which `make test` runs).
MODEL_TESTS := bridge data derived engine finance financing io market metrics results scenario \
	sensitivity stress tax timing
test-fast: setup
	$(BIN)/python -m pytest -q --doctest-modules model
	$(BIN)/python -m pytest -q -n 2 $(MODEL_TESTS:%=tests/test_%.py)

# Proof that a change moved no number: every output of the model at EQ_BASE (a commit, default
# main) against the working tree, per scripts/check_equivalence.py (rtol 1e-9). E.g.
# `make equivalence EQ_BASE=HEAD~3`.
EQ_BASE ?= main
equivalence: setup
	@set -e; dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	mkdir "$$dir/before"; git archive "$(EQ_BASE)" | tar -x -C "$$dir/before"; \
	$(BIN)/python scripts/check_equivalence.py dump "$$dir/before" "$$dir/before.npz"; \
	$(BIN)/python scripts/check_equivalence.py dump . "$$dir/after.npz"; \
	$(BIN)/python scripts/check_equivalence.py compare "$$dir/before.npz" "$$dir/after.npz"

bench: setup
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
