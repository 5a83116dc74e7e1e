# Two commands set everything up on a fresh machine: `make run` and `make test`.
# Both (re)build the virtual environment from pyproject.toml when it is missing or stale.

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test unit lint typecheck check bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## Start the whole local stack on the embedded broker, replay a realistic synthetic day through
## it (the staff's part played), then keep a live summary on the terminal while synthetic traffic
## continues for you to work in the staff application (Ctrl-C stops everything; logs in
## .frontdoor-data/logs).
run: export FRONTDOOR_DEMO_EVENTS_PER_SECOND ?= 0.2
run: $(STAMP)
	$(BIN)/frontdoor demo

## Everything CI runs: lint, format check, import rules, strict typing, unit and integration tests.
## Two test processes, a test file each at a time: most integration tests wait on a broker, not a
## core, and every test has its own topics, ports and database schema.
test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -n 2 --dist loadfile

## The fast unit tests alone, while you work.
unit: $(STAMP)
	$(BIN)/python -m pytest -m "not integration"

lint: $(STAMP)
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --no-cache --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

## Issue 10's figures at their default sizes, one benchmark at a time (each but the first two starts
## its own broker): codec cost, the pure steps alone (identification, routing), throughput (raw
## aiokafka, bare Faust, the pipeline; CPU an event; messages a contact), latency at 200 and 1,000
## events/s with duty-team alerts, a 1,000,000-row history replay with the restart after it, and
## police notification to the school's e-mail (the delivery issue).
bench: $(STAMP)
	$(BIN)/python bench/codec.py
	$(BIN)/python bench/steps.py
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/latency.py --rates 200,1000
	$(BIN)/python bench/replay.py
	$(BIN)/python bench/identify.py
	$(BIN)/python bench/delivery.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .frontdoor-data
