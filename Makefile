# Two commands for a fresh clone: `make chat` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The [train] extra (torch CPU, transformers, trl, peft: about 1 GB, 3 minutes) only for the tests and training.
TRAIN_STAMP := $(VENV)/.installed-train
# PostgreSQL tests run when this server answers and skip with the reason when it does not.
FTARENA_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test
export FTARENA_TEST_POSTGRES_URL

.PHONY: chat demo test lint browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "Installing (llama-cpp-python compiles from source the first time: about 5-6 minutes on 2 cores)"
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# Test-only references whose published metadata does not fit this environment (pyproject.toml, dev extra).
	$(BIN)/python -m pip install --quiet --no-deps 'arena-rank==0.1.1'
	touch $(STAMP)

$(TRAIN_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,train]'
	touch $(TRAIN_STAMP)

chat: $(STAMP)
	$(BIN)/ftarena chat

demo: $(STAMP)
	$(BIN)/ftarena demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(TRAIN_STAMP) lint browser
	$(BIN)/python -m pytest

# The web's browser tests drive the distribution's Chromium through Playwright (never a browser download).
browser:
	@command -v chromium >/dev/null || if [ "$$(id -u)" = 0 ]; then \
		apt-get update && apt-get install -y chromium; \
	else echo "chromium is missing and this is not root, so it cannot be installed here: tests/e2e/test_web.py will skip (apt-get install chromium)"; fi

# Benchmarks (not part of test): `make bench`, or `$(BIN)/python -m benchmarks [--quick] [NAME ...]`.
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
