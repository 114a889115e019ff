# Backtrack: `make run` runs both services on this machine, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install run test test-unit test-integration test-e2e faults lint clean bench bench-quick simulate

$(INSTALLED): shared/pyproject.toml services/traininglog/pyproject.toml services/planner/pyproject.toml requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e shared -e services/traininglog -e services/planner -r requirements-dev.txt
	touch $@

install: $(INSTALLED)

# Both services, their outbox relays and the planner's consumer, against RabbitMQ on localhost
# and SQLite files under data/, with development API keys (printed; kept in data/). Ctrl-C stops.
run: install
	$(BIN)/backtrack-clients dev
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start --no-prefix -f Procfile

test: install
	$(BIN)/pytest

test-unit: install
	$(BIN)/pytest tests/unit

test-integration: install
	$(BIN)/pytest tests/integration

test-e2e: install
	$(BIN)/pytest tests/e2e

# The fault tests (tests/faults): they stop and start RabbitMQ and PostgreSQL on this machine
# (rabbitmqctl, pg_ctlcluster, as root), so `make test` leaves them out. About 6 minutes.
faults: install
	$(BIN)/pytest -m faults -rA tests/faults $(FAULTS_ARGS)

# The patient simulator (tests/simulation): randomized patients follow their routines through
# the pure rules; prints violations per DOMAIN.md invariant and a summary per patient model.
SIMULATE_ARGS ?= --patients 500 --weeks 26 --seed 1
simulate: install
	$(BIN)/python -m tests.simulation $(SIMULATE_ARGS)

lint: install
	$(BIN)/ruff check shared services tests bench
	$(BIN)/mypy

# Benchmarks beside their baselines, against RabbitMQ and PostgreSQL on localhost (bench/README.md).
BENCH_INSTALLED := $(VENV)/.bench-installed

$(BENCH_INSTALLED): $(INSTALLED) bench/requirements.txt
	$(BIN)/pip install --quiet -c constraints.txt -r bench/requirements.txt
	touch $@

bench: install $(BENCH_INSTALLED)
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-quick: install $(BENCH_INSTALLED)
	$(BIN)/python -m bench --quick $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
