# The project's verbs. `make help` lists them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# settings.py has no default SECRET_KEY: the embedded default's verbs use the one
# `make run` keeps in var/secret_key (an exported SECRET_KEY wins).
EMBEDDED_KEY = SECRET_KEY="$${SECRET_KEY:-$$($(BIN)/python scripts/run_embedded.py --print-key)}"

.DEFAULT_GOAL := help
.PHONY: help install run test test-sqlite test-postgres lint format schema schema-check worker beat seed simulate bench bench-portals bench-faults bench-demand migrate clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "uv>=0.5,<1"

install: $(BIN)/uv ## create .venv with everything, development tools included
	$(BIN)/uv sync --frozen --inexact --python $(BIN)/python --quiet

run: install ## migrate, seed the demo and start web, worker and beat on the embedded default
	$(BIN)/python scripts/run_embedded.py --port $(PORT)

test: install ## run the test suite (DATABASE_URL and CELERY_BROKER_URL pick the backends)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-sqlite: install ## the suite on SQLite and the filesystem broker, whatever the environment says
	env -u DATABASE_URL -u CELERY_BROKER_URL $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## apply ruff's formatting and fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schema: install ## write the OpenAPI schema file (commit it)
	$(EMBEDDED_KEY) $(BIN)/python manage.py spectacular --file openapi.yaml --validate --fail-on-warn

migrate: install ## apply migrations
	$(EMBEDDED_KEY) $(BIN)/python manage.py migrate

worker: install ## a Celery worker
	$(EMBEDDED_KEY) $(BIN)/celery -A cmi worker --loglevel=info

beat: install ## the Celery scheduler
	$(EMBEDDED_KEY) $(BIN)/celery -A cmi beat --loglevel=info

seed: install ## seed the demo data (safe to run twice)
	$(EMBEDDED_KEY) $(BIN)/python manage.py seed_demo

simulate: install ## drive the demo through the HTTP API: scanners, and each vendor's ERP over EDI
	LOG_LEVEL="$${LOG_LEVEL:-WARNING}" $(EMBEDDED_KEY) $(BIN)/python manage.py simulate_erp --url http://127.0.0.1:$(PORT)

bench: install ## issue 10's table against same-run baselines, cost growth; fails under a floor (QUICK=1: small sizes)
	$(BIN)/python bench/run.py table $(if $(QUICK),--quick)

bench-demand: install ## recommended min/max vs the rule of thumb on a seeded 1,000-bin world (SEED=1)
	$(BIN)/python bench/demand.py --seed $(or $(SEED),1)

bench-portals: install ## portal pages, usage + scorecard pages and analytics API (2 years) at 10,000 bins: cold p95 ms, queries
	$(BIN)/python bench/portal_pages.py
	$(BIN)/python bench/portals_analytics.py

bench-faults: install ## broker down, database restart, worker SIGKILL under load: loss and p95
	$(BIN)/python bench/faults.py

clean: ## remove the embedded database, broker files and the venv
	rm -rf var $(VENV)
