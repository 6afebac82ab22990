# The two commands a newcomer needs: `make run` (the service on 127.0.0.1:8080) and `make test`.
# Both create .venv and install what they need on a bare machine.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8080
PYTEST := $(PY) -m pytest -p no:cacheprovider

export PYTHONPATH := $(CURDIR)/layers/domain/python:$(CURDIR)/lambdas:$(CURDIR)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_OUTDIR ?= $(CURDIR)/cdk.out

.PHONY: run test test-unit test-contract test-integration test-mongo test-infra test-local simulate simulate-bounded lint bench synth build-layer deploy indexes install install-dev clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Runtime + local emulation only: what `make run` needs.
$(VENV)/.installed-local: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[local]'
	touch $@

# Everything: tests, lint, CDK.
$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[dev,infra]'
	touch $@ $(VENV)/.installed-local

install: $(VENV)/.installed-local
install-dev: $(VENV)/.installed-dev

run: install
	$(PY) -m local --port $(PORT)

test: install-dev lint test-unit test-contract test-integration test-infra test-local test-fuzz simulate-bounded

test-unit: install-dev
	$(PYTEST) tests/unit

# Every port over each of its adapters: local vs AWS (moto), in-memory fakes vs Mongo (mongomock, or
# the MongoDB server MONGODB_URI names).
test-contract: install-dev
	$(PYTEST) tests/contract

test-integration: install-dev
	$(PYTEST) tests/integration

# The Mongo contract suite and the integration suite against a real MongoDB: the session creates a
# uniquely named database (indexes included), empties it before each test and drops it at the end.
#   make test-mongo MONGODB_URI=mongodb://127.0.0.1:27017
test-mongo: install-dev
	@if [ -z "$$MONGODB_URI" ]; then echo "usage: make test-mongo MONGODB_URI=mongodb://host:27017" >&2; exit 2; fi
	$(PYTEST) tests/contract/mongo tests/integration

# One session for every infra test: jsii start-up costs seconds.
test-infra: install-dev
	$(PYTEST) tests/infra

test-local: install-dev
	$(PYTEST) tests/local

# The deterministic simulation (issue 10): every crash point of every multi-write operation and every
# interleaving of racing pairs (at most 2 preemptions), checked against the invariants; prints
# `simulation: crash points N, interleavings M, invariant violations V` and fails when V > 0.
# simulate-bounded is the set `make test` runs (about a minute and a half here); simulate is the full set.
simulate: install-dev
	$(PYTEST) -q tests/simulation/test_harness.py
	$(PY) -m tests.simulation --full

simulate-bounded: install-dev
	$(PYTEST) -q tests/simulation/test_harness.py
	$(PY) -m tests.simulation --bounded

# schemathesis over every operation of the local runtime's OpenAPI (bounded: at most 3 minutes, fixed seed);
# -s prints the counts of every check. No 5xx and no response-schema violation may be found.
.PHONY: test-fuzz
test-fuzz: install-dev
	$(PYTEST) -s tests/fuzz

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy -p workflow_service
	$(VENV)/bin/mypy lambdas local infra app.py scripts bench

bench: install-dev
	$(PY) -m bench

build-layer: install-dev
	$(PY) scripts/build_layer.py

synth: build-layer
	$(PY) app.py

# Needs AWS credentials; see README "Deploy".
deploy: build-layer
	npx --yes aws-cdk@2.1148.1 deploy --app "$(PY) app.py" --require-approval never $(CDK_ARGS)

# Creates the MongoDB indexes the queries need (against MONGODB_URI).
indexes: install
	$(PY) -m workflow_service.cli create-indexes

clean:
	rm -rf $(VENV) build cdk.out .pytest_cache
