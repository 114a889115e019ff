# Backtrack: `make run` runs both services on this machine, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install codegen run test test-unit test-integration test-e2e faults lint clean bench bench-quick soak broker-users broker-plugins test-fleet run-fleet haproxy chromium wrk simulate

$(INSTALLED): shared/pyproject.toml services/traininglog/pyproject.toml services/planner/pyproject.toml requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e shared -e services/traininglog -e services/planner -r requirements-dev.txt
	touch $@

install: $(INSTALLED)

# openapi-python-client, for the generated-client test, in a venv of its own: it needs pydantic 2,
# the FHIR models of the tests pydantic 1 (requirements-codegen.txt).
CODEGEN_VENV ?= .venv-codegen
CODEGEN_INSTALLED := $(CODEGEN_VENV)/.installed

$(CODEGEN_INSTALLED): requirements-codegen.txt
	$(PYTHON) -m venv $(CODEGEN_VENV)
	$(CODEGEN_VENV)/bin/pip install --quiet --upgrade pip
	$(CODEGEN_VENV)/bin/pip install --quiet -r requirements-codegen.txt
	touch $@

codegen: $(CODEGEN_INSTALLED)

# The planner's input is a consistent-hash exchange: enable its plugin on this machine's
# RabbitMQ (on the running node, no restart; a no-op when enabled). Where the broker is not
# this machine's (no rabbitmq-plugins), its operator enables it (compose: deploy/rabbitmq).
broker-plugins:
	@if command -v rabbitmq-plugins >/dev/null 2>&1; then \
	  rabbitmq-plugins -q enable rabbitmq_consistent_hash_exchange >/dev/null || \
	    echo "make: could not enable rabbitmq_consistent_hash_exchange (README: Scale-out)" >&2; \
	else echo "make: no rabbitmq-plugins here; enable rabbitmq_consistent_hash_exchange on the broker"; fi

# Both services, their outbox relays and the planner's consumer, against RabbitMQ on localhost
# and SQLite files under data/, with development API keys (printed; kept in data/). Ctrl-C stops.
run: install broker-plugins
	@case "$${TRAININGLOG_AMQP_URL:-$${AMQP_URL:-amqp://guest:}} $${PLANNER_AMQP_URL:-$${AMQP_URL:-amqp://guest:}}" in \
	  *//guest:*) echo "make run: connecting to RabbitMQ as guest (development only; README: The broker)";; esac
	$(BIN)/backtrack-clients dev
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start --no-prefix -f Procfile

# haproxy from Debian, for run-fleet and its test (tests/e2e/test_traininglog_fleet.py).
haproxy:
	@command -v haproxy >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy; }

# Debian's headless Chromium, for the progress page's browser test (tests/e2e/test_progress_page.py,
# driven by Playwright through /usr/bin/chromium: Playwright downloads no browser of its own).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The system as a fleet on this machine: two traininglog processes behind haproxy on :8001
# (deploy/haproxy/traininglog.cfg) and two planners (:8002, :8003) sharing the partitions, on
# the PostgreSQL database of DATABASE_URL, with the write limit in Redis. Ctrl-C stops all.
run-fleet: install broker-plugins haproxy
	@case "$${DATABASE_URL:-}" in postgresql*) ;; *) echo "run-fleet: give DATABASE_URL, a PostgreSQL database of the fleet's own" >&2; exit 2;; esac
	$(BIN)/backtrack-clients dev
	TRAININGLOG_KEYS_DATABASE_URL="$${TRAININGLOG_KEYS_DATABASE_URL:-sqlite:///data/traininglog-keys.db}" \
	RATE_LIMIT_STORAGE_URL="$${RATE_LIMIT_STORAGE_URL:-redis://127.0.0.1:6379/0}" \
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile.fleet

# Both services' broker users on this machine's RabbitMQ (rabbitmqctl, as root), from
# TRAININGLOG_AMQP_URL and PLANNER_AMQP_URL (else AMQP_URL); see README "The broker".
broker-users: install
	$(BIN)/backtrack-broker users

test: install broker-plugins haproxy chromium codegen
	$(BIN)/pytest

test-unit: install
	$(BIN)/pytest tests/unit

test-integration: install broker-plugins
	$(BIN)/pytest tests/integration

test-e2e: install broker-plugins haproxy chromium codegen
	$(BIN)/pytest tests/e2e

# Three planner processes (one killed, one added) against one, on 10,000 events: the routines
# must be byte-identical (tests/e2e/test_planner_fleet.py; `make test` runs it on 1,200). Minutes.
test-fleet: install broker-plugins
	$(BIN)/pytest -m fleet -rA tests/e2e/test_planner_fleet.py

# The fault tests (tests/faults): they stop and start RabbitMQ and PostgreSQL on this machine
# (rabbitmqctl, pg_ctlcluster, as root), so `make test` leaves them out. About 6 minutes.
faults: install broker-plugins
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

# wrk from Debian: the HTTP load of figures 2 and 5 (bench/loadgen.py is the fallback without it).
wrk:
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }

bench: install $(BENCH_INSTALLED) broker-plugins haproxy wrk
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-quick: install $(BENCH_INSTALLED) broker-plugins haproxy wrk
	$(BIN)/python -m bench --quick $(BENCH_ARGS)

# The soak (bench/soak.py): 50 events/s for 30 minutes to two traininglogs behind haproxy and two
# planners on RabbitMQ, PostgreSQL and Redis here; a row a minute (RSS, queues, lag, p99), then
# which series grew. SOAK_ARGS="--minutes 2" for a try.
SOAK_ARGS ?=
soak: install $(BENCH_INSTALLED) broker-plugins haproxy
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) $(CODEGEN_VENV) data .pytest_cache .mypy_cache .ruff_cache
