# Kabao — `make run` serves the demo with no external service; `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install browser-deps run test test-sqlite test-postgres lint bench mutation clean

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

# Embedded default: SQLite under instance/, in-process Redis stand-in, built-in WeChat simulator.
run: install
	WECHAT_SIMULATOR=1 $(BIN)/flask --app wsgi db upgrade
	WECHAT_SIMULATOR=1 $(BIN)/flask --app wsgi demo
	WECHAT_SIMULATOR=1 PUBLIC_BASE_URL=http://$(HOST):$(PORT) $(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT) --with-threads

# SQLite always; PostgreSQL + Redis too when TEST_DATABASE_URL / TEST_REDIS_URL are set (mandatory with CI=true).
test: install browser-deps
	@if [ "$$CI" = "true" ] && { [ -z "$$TEST_DATABASE_URL" ] || [ -z "$$TEST_REDIS_URL" ]; }; then \
		echo "CI=true: TEST_DATABASE_URL and TEST_REDIS_URL are required (PostgreSQL and Redis)" >&2; exit 1; fi
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$TEST_DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
	else echo "note: TEST_DATABASE_URL unset — PostgreSQL concurrency tests not run (see .ci/run)"; fi

test-sqlite: install
	TEST_DATABASE_URL= TEST_REDIS_URL= $(BIN)/python -m pytest -m "not postgres" $(PYTEST_ARGS)

test-postgres: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check server miniprogram_api tests bench wsgi.py

bench: install
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/run_all.py

# Mutation testing of the money modules (cosmic-ray, one worker, about 30 minutes); not part of `make test`.
# MODULES="redemption_rules top_ups" runs some of bench/mutation/modules.toml; a score per module.
mutation: install
	$(BIN)/python bench/mutation/run.py $(MODULES)

clean:
	rm -rf $(VENV) instance/*.sqlite3*
