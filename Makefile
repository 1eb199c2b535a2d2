# TokenOptimizer — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[server,dev]"
	@touch $(STAMP)

.PHONY: setup
setup: $(STAMP) ## Create .venv and install the package with server and dev extras

.PHONY: system-deps
system-deps: ## Install the Debian packages the tests need (PostgreSQL, Redis, Chromium)
	@./scripts/system-deps.sh

.PHONY: run
run: setup ui ## Build the UI, migrate, seed the demo organisation on first start, serve on http://127.0.0.1:8000
	$(BIN)/tokenoptimizer serve --demo

.PHONY: lint
lint: setup ## ruff, mypy (strict) and the import-linter contracts
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

.PHONY: test
test: setup system-deps lint ui-test ui node-sdk-test ## Everything CI runs: lint, UI unit tests, the Node SDK's tests, the whole suite (with the browser tests of the built UI) against real servers
	$(BIN)/pytest -q -p no:cacheprovider

.PHONY: bench
bench: setup ## Run the benchmarks (see bench/README.md; installs wrk, the load generator)
	@command -v wrk >/dev/null || (apt-get update -q && apt-get install -y -q wrk) || sudo apt-get install -y -q wrk
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/estimate.py
	$(BIN)/python bench/budgets.py
	$(BIN)/python -m bench.sdk

UI_STAMP := src/tokenoptimizer/server/static/index.html
UI_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	frontend/index.html frontend/package.json frontend/package-lock.json frontend/vite.config.ts
NODE_MODULES := frontend/node_modules/.package-lock.json

$(NODE_MODULES): frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund

$(UI_STAMP): $(NODE_MODULES) $(UI_SOURCES)
	cd frontend && npm run build

.PHONY: ui
ui: ## Build the web dashboard into src/tokenoptimizer/server/static/ (needs Node.js 20.19+ and npm)
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(UI_STAMP); \
	else echo "npm not found: the server will run without the dashboard (install Node.js 20 to build it)"; fi

.PHONY: ui-test
ui-test: $(NODE_MODULES) ## Type-check the dashboard and run its unit tests (vitest)
	cd frontend && npm run typecheck && npm test

.PHONY: openapi
openapi: setup $(NODE_MODULES) ## Regenerate frontend/openapi.json and the UI's API types (frontend/src/api/schema.d.ts) from the routes
	$(BIN)/python scripts/export_openapi.py
	cd frontend && npm run gen:api

.PHONY: node-sdk-test
node-sdk-test: setup ## Build the Node SDK (sdks/node) and run its tests against a live server (needs npm)
	@if command -v npm >/dev/null 2>&1; then \
		cd sdks/node && npm ci --no-audit --no-fund && npm run build && npm test; \
	else echo "npm not found: skipping the Node SDK tests (install Node.js 20 to run them)"; fi

.PHONY: format
format: setup ## Format and auto-fix the code
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

.PHONY: clean
clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache dist build
