# msk-pair: the two front-door commands are `make demo` and `make test`.
# Both set up a virtualenv in .venv from pyproject.toml first (Python 3.11+).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
export SAM_CLI_TELEMETRY := 0

NODE_STAMP := node_modules/.installed-$(shell cat package-lock.json | cksum | cut -d' ' -f1)

.PHONY: setup demo demo-rollback test unit lint asl validate build bench clean check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

## The node tools `make check` runs (package.json, pinned by package-lock.json), in ./node_modules.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $(NODE_STAMP)

## The workflow on the embedded emulator, with live progress (emulated time, paced to be watchable).
demo: setup
	$(BIN)/msk-pair run --local events/region-pair.json --pace 0.02

## The same, with a failure injected in the secondary region: watch both regions roll back.
demo-rollback: setup
	-$(BIN)/msk-pair run --local events/region-pair.json --pace 0.02 --fail CreateNetworkFunction:secondary

## Everything CI checks: lint, ASL up to date, SAM template valid, independent checkers, the test suite.
test: setup lint asl-check validate build check
	MSK_PAIR_REQUIRE_BUILD=1 $(BIN)/pytest -n 2 -q

unit: setup
	$(BIN)/pytest -q tests/unit

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

asl: setup
	$(BIN)/python -m msk_pair.asl
	$(BIN)/python -m msk_pair.diagram
	$(BIN)/python -m msk_pair.history

asl-check: setup
	$(BIN)/python -m msk_pair.asl --check
	$(BIN)/python -m msk_pair.diagram --check
	$(BIN)/python -m msk_pair.history --check

validate: setup
	$(BIN)/sam validate --lint

## sam build, no Docker and no runtime override: the artifact sam deploy ships. The layer's Makefile
## installs manylinux wheels for every allowed runtime with pip (the .venv's, first on PATH).
build: setup
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/sam build

## Independent checkers: IAM policies (parliament, policy_sentry), the ASL (asl-validator, statelint),
## the client's scripts (shellcheck). Fails on a finding checks/allowlist.txt does not explain.
check: setup $(NODE_STAMP)
	$(BIN)/python -m msk_pair.checks

bench: setup
	$(BIN)/python scripts/benchmark.py

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache
