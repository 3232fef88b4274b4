# One entry point for people and CI. Every target is idempotent and cached.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
ENGINES := .engines/bin
export PATH := $(CURDIR)/$(ENGINES):$(PATH)

.PHONY: help venv policy-venv engines test test-fast lint demo image bench clean

help:
	@echo "make demo    - local Vault + Pulumi backend + Kubernetes API server, stack up, sidekick delivers secrets"
	@echo "make test    - build engines (cached), then the whole suite against real engines"
	@echo "make lint    - ruff + mypy"
	@echo "make engines - build Vault, Pulumi CLI + plugins, kube-apiserver, etcd into $(ENGINES)"
	@echo "make image   - build the sidekick OCI image with buildah (no daemon)"
	@echo "make bench   - benchmarks, writes benchmarks/results.md"

# The venv is rebuilt only when a requirements file changes.
$(VENV)/.stamp: requirements.txt requirements-dev.txt components/pyproject.toml sidekick_image/pyproject.toml
	@command -v $(PY) >/dev/null || PY=python3; $${PY:-$(PY)} -m venv $(VENV) 2>/dev/null || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.stamp

# The policy pack's own venv (pulumi-policy pins protobuf 5, the stack's venv has 6); PulumiPolicy.yaml names it.
policy/venv/.stamp: policy/requirements.txt
	@command -v $(PY) >/dev/null || PY=python3; $${PY:-$(PY)} -m venv policy/venv 2>/dev/null || python3 -m venv policy/venv
	policy/venv/bin/pip install -q -r policy/requirements.txt
	touch $@

policy-venv: policy/venv/.stamp

engines:
	bash tools/engines/build.sh

test: venv policy-venv engines
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# Unit tests only: no engines needed.
test-fast: venv
	$(BIN)/python -m pytest -q -m "not engines" $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check components sidekick_image infra tests benchmarks policy
	$(BIN)/mypy

demo: venv policy-venv engines
	bash scripts/demo.sh

image: venv
	bash scripts/build-image.sh

bench: venv engines
	$(BIN)/python -m benchmarks

clean:
	rm -rf dist build .pytest_cache .mypy_cache .ruff_cache .demo
