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
system-deps: ## Install the Debian packages the tests need (PostgreSQL, Redis)
	@./scripts/system-deps.sh

.PHONY: run
run: setup ## Migrate, seed the demo organisation on first start, serve on http://127.0.0.1:8000
	$(BIN)/tokenoptimizer serve --demo

.PHONY: lint
lint: setup ## ruff, mypy (strict) and the import-linter contracts
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

.PHONY: test
test: setup system-deps lint ## Everything CI runs: lint, then the whole test suite against real servers
	$(BIN)/pytest -q -p no:cacheprovider

.PHONY: bench
bench: setup ## Run the benchmarks (see bench/README.md; installs wrk, the load generator)
	@command -v wrk >/dev/null || (apt-get update -q && apt-get install -y -q wrk) || sudo apt-get install -y -q wrk
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/estimate.py

.PHONY: format
format: setup ## Format and auto-fix the code
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

.PHONY: clean
clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache dist build
