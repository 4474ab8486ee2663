# Kabao — `make run` serves the demo with no external service; `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install browser-deps pgbouncer-deps run test test-sqlite test-postgres test-pgbouncer test-miniprogram fuzz lint \
	bench bench-deps bench-quick \
	bench-10m profile mutation clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

# The console's browser tests drive Debian's Chromium (Playwright never downloads a browser here),
# with a Chinese font so their screenshots show the console's text.
browser-deps:
	@test -x /usr/bin/chromium && fc-list :lang=zh | grep -q . || \
		(apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei)

# Debian's PgBouncer (1.18), which the PostgreSQL concurrency tests and the bench start on ports of their own.
pgbouncer-deps:
	@command -v pgbouncer >/dev/null || test -x /usr/sbin/pgbouncer || \
		(apt-get update -qq && apt-get install -y -qq pgbouncer)

# Embedded default: SQLite under instance/, in-process Redis stand-in, built-in WeChat simulator.
# The demo logins are the last lines printed: a helper waits for the server to answer, then prints them.
run: install
	WECHAT_SIMULATOR=1 $(BIN)/flask --app wsgi db upgrade
	WECHAT_SIMULATOR=1 $(BIN)/flask --app wsgi demo
	WECHAT_SIMULATOR=1 $(BIN)/flask --app wsgi demo --logins-when-up http://$(HOST):$(PORT) &
	WECHAT_SIMULATOR=1 PUBLIC_BASE_URL=http://$(HOST):$(PORT) $(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT) --with-threads

# SQLite always; PostgreSQL + Redis too when TEST_DATABASE_URL / TEST_REDIS_URL are set (mandatory with CI=true).
test: install browser-deps lint
	@if [ "$$CI" = "true" ] && { [ -z "$$TEST_DATABASE_URL" ] || [ -z "$$TEST_REDIS_URL" ]; }; then \
		echo "CI=true: TEST_DATABASE_URL and TEST_REDIS_URL are required (PostgreSQL and Redis)" >&2; exit 1; fi
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$TEST_DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres test-pgbouncer; \
	else echo "note: TEST_DATABASE_URL unset — PostgreSQL concurrency tests not run (see .ci/run)"; fi
	$(MAKE) --no-print-directory test-miniprogram

test-sqlite: install
	TEST_DATABASE_URL= TEST_REDIS_URL= $(BIN)/python -m pytest -m "not postgres" $(PYTEST_ARGS)

# The mini-program's jest suite (Node 20 and npm from the machine); its contract test starts a Kabao
# server of its own from $(BIN)/flask.
test-miniprogram: install
	cd miniprogram && npm ci --no-audit --no-fund --loglevel=error && npx jest

test-postgres: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The PostgreSQL concurrency tests again, through PgBouncer in transaction pooling mode (tests/conftest.py
# starts it in front of TEST_DATABASE_URL's server): many app servers, one database.
CONCURRENCY_TESTS := tests/integration/issuance/test_concurrency.py tests/integration/ledger/test_concurrency.py \
	tests/integration/open/test_concurrency.py tests/integration/redemption/test_concurrent_redeem.py \
	tests/integration/rewards/test_concurrent_exchange.py tests/api/test_idempotency.py
test-pgbouncer: install pgbouncer-deps
	TEST_PGBOUNCER=1 $(BIN)/python -m pytest $(CONCURRENCY_TESTS) $(PYTEST_ARGS)

# More fuzzing than the suite's bounded run (PostgreSQL, as test-postgres): FUZZ_EXAMPLES per operation.
fuzz: install
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} $(BIN)/python -m pytest tests/fuzz -s $(PYTEST_ARGS)

# ruff, and the layer contract of pyproject.toml (import-linter): an upward import fails the build.
lint: install
	$(BIN)/ruff check server miniprogram_api wechat_simulator tests bench wsgi.py
	$(BIN)/lint-imports

# Benchmarks (bench/README.md): PostgreSQL and Redis of the machine, wrk, pgbench and Debian's PgBouncer
# (started by the bench itself on a port of its own). bench/RESULTS.md is written by `make bench`.
bench-deps: pgbouncer-deps
	@command -v wrk >/dev/null && command -v pgbench >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq wrk postgresql-client)

bench: install bench-deps
	$(BIN)/python bench/run_all.py

# A few minutes: the redemption figures, the one-card check and data growth to 1 M entries only.
bench-quick: install bench-deps
	BENCH_QUICK=1 $(BIN)/python bench/run_all.py

# Everything `make bench` does, plus the 10-million-entry data-growth step (about half an hour more).
bench-10m: install bench-deps
	BENCH_10M=1 $(BIN)/python bench/run_all.py

# py-spy profile of redemption under load: bench/profiles/$(PROFILE_LABEL).txt (top frames).
PROFILE_LABEL ?= redeem
profile: install bench-deps
	PROFILE_LABEL=$(PROFILE_LABEL) $(BIN)/python -m bench.profile_redeem

# Mutation testing of the money modules (cosmic-ray, one worker, about 30 minutes); not part of `make test`.
# MODULES="redemption_rules top_ups" runs some of bench/mutation/modules.toml; a score per module.
mutation: install
	$(BIN)/python bench/mutation/run.py $(MODULES)

clean:
	rm -rf $(VENV) instance/*.sqlite3*
