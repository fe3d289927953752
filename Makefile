# msk-pair: the two front-door commands are `make demo` and `make test`.
# Both set up a virtualenv in .venv from pyproject.toml first (Python 3.11+): `make demo` with the
# runtime dependencies only, `make setup` (and everything that checks) with the dev tools too.

# PYTHON: the interpreter for .venv; by default the first of python3.11, 3.12, 3.13, python3 that is 3.11+.
PYTHON ?=
VENV   := .venv
BIN    := $(VENV)/bin
SUM    := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
STAMP  := $(VENV)/.installed-$(SUM)
RUNTIME_STAMP := $(VENV)/.installed-runtime-$(SUM)
PIP    := $(BIN)/python -m pip --disable-pip-version-check
DEMO_PACE ?= 0.02
export SAM_CLI_TELEMETRY := 0

NODE_STAMP := node_modules/.installed-$(shell cat package-lock.json | cksum | cut -d' ' -f1)

.PHONY: setup demo demo-rollback test unit lint asl validate build bench soak clean check

# What `make demo` needs: the runtime dependencies (boto3, Powertools, moto, rich).
$(RUNTIME_STAMP): pyproject.toml
	@sh scripts/ensure-venv.sh $(VENV) $(PYTHON)
	@echo "installing msk-pair and its runtime dependencies into $(VENV) (about a minute the first time)"
	$(PIP) install --progress-bar on --upgrade pip
	$(PIP) install --progress-bar on -e .
	rm -f $(VENV)/.installed-runtime-*
	touch $@

# Everything else: the dev tools too (SAM CLI, ruff, pytest).
$(STAMP): pyproject.toml
	@sh scripts/ensure-venv.sh $(VENV) $(PYTHON)
	@echo "installing msk-pair with its dev tools (SAM CLI, ruff, pytest) into $(VENV) (a few minutes the first time)"
	$(PIP) install --progress-bar on --upgrade pip
	$(PIP) install --progress-bar on -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@ $(RUNTIME_STAMP)

setup: $(STAMP)

## The node tools `make check` runs (package.json, pinned by package-lock.json), in ./node_modules.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $(NODE_STAMP)

## The workflow on the embedded emulator, with live progress (emulated time, paced to be watchable).
demo: $(RUNTIME_STAMP)
	$(BIN)/msk-pair run --local events/region-pair.json --pace $(DEMO_PACE)

## The same, with a failure injected in the secondary region: watch both regions roll back.
## Success here is the rollback: exit 0 once the execution failed, rolled back, and left nothing tagged.
demo-rollback: $(RUNTIME_STAMP)
	$(BIN)/msk-pair run --local events/region-pair.json --pace $(DEMO_PACE) \
	  --fail NetworkCreateFunction:secondary --expect-rollback

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

## A slice of the suite run SOAK_N times in a row, outside `make test`: how a flaky test is measured.
## Default: every rollback of the fault matrix (issue 16.3), 20 times; e.g. make soak SOAK_N=5 SOAK_K=create
SOAK_N ?= 20
SOAK_K ?= refused_call_rolls_back
soak: setup
	@log=$$(mktemp); passed=0; \
	for i in $$(seq $(SOAK_N)); do \
	  if $(BIN)/pytest -n 2 -q -p no:cacheprovider tests/statemachine/test_fault_matrix.py -k "$(SOAK_K)" >"$$log" 2>&1; \
	  then passed=$$((passed + 1)); else grep -E '^(FAILED|E )' "$$log" | head -20; fi; \
	  echo "soak run $$i of $(SOAK_N): $$(tail -1 "$$log")"; \
	done; rm -f "$$log"; \
	echo "soak: $$passed of $(SOAK_N) runs passed"; test "$$passed" -eq "$(SOAK_N)"

bench: setup
	$(BIN)/python scripts/benchmark.py

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache $(VENV)
