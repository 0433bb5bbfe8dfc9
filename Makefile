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

.PHONY: chat demo test lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "Installing (llama-cpp-python compiles from source the first time: about 5-6 minutes on 2 cores)"
	$(BIN)/python -m pip install --quiet -e '.[dev]'
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

test: $(TRAIN_STAMP) lint
	$(BIN)/python -m pytest

# Benchmarks (not part of test): `make bench`, or `$(BIN)/python -m benchmarks [--quick] [NAME ...]`.
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
