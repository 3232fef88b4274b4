# One entry point for people and CI. Every target is idempotent and cached.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
ENGINES := .engines/bin
export PATH := $(CURDIR)/$(ENGINES):$(PATH)

.PHONY: help cli venv lock policy-venv engines test test-fast lint demo image bench clean

help:
	@echo "make cli     - .venv with only the library and the vaultconf CLI (the README's first step)"
	@echo "make demo    - local Vault + Pulumi backend + Kubernetes API server, stack up, sidekick delivers secrets"
	@echo "make test    - build engines (cached), then the whole suite against real engines"
	@echo "make lint    - ruff + mypy"
	@echo "make engines - build Vault, Pulumi CLI + plugins, kube-apiserver, etcd into $(ENGINES)"
	@echo "make image   - build the sidekick OCI image with buildah (no daemon)"
	@echo "make bench   - benchmarks, writes benchmarks/results.md (BENCH_ARGS=--quick: real engine at 0.1/0.3 only)"

# The venv is rebuilt only when a lock file or a local package's definition changes. Third-party packages
# come only from the hash-pinned lock (--require-hashes: a substituted or tampered file fails the install);
# the two local packages follow with --no-deps (a directory has no hash to pin) and --no-build-isolation
# (their build backend is the lock's setuptools: nothing unpinned is fetched). The schema validator that
# vaultconf generates into its package is byte-compiled here, once, like the rest of the package.
# $(call venv_from,LOCK): the recipe both venv targets share, from the given hash-pinned lock.
define venv_from
	@command -v $(PY) >/dev/null || PY=python3; $${PY:-$(PY)} -m venv $(VENV) 2>/dev/null || python3 -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r $(1)
	$(BIN)/pip install -q --no-deps --no-build-isolation -e ./components -e ./sidekick_image
	$(BIN)/python -m compileall -q components/vaultconf/config/_schema_compiled.py
endef

$(VENV)/.stamp: requirements.txt requirements-dev.txt components/pyproject.toml sidekick_image/pyproject.toml
	$(call venv_from,requirements-dev.txt)
	touch $@ $(VENV)/.cli-stamp

venv: $(VENV)/.stamp

# The README's first step: the runtime lock only (the library, the vaultconf CLI, the Pulumi SDKs; what the
# stack program needs too), none of the dev toolchain (moto[server] alone pulls cfn-lint, sympy and
# networkx): about a third of the packages and disk of `make venv`. `make venv` later adds the rest to the same
# .venv; after it this target has nothing to do (the recipe above touches its stamp).
$(VENV)/.cli-stamp: requirements.txt components/pyproject.toml sidekick_image/pyproject.toml
	$(call venv_from,requirements.txt)
	touch $@

cli: $(VENV)/.cli-stamp

# Regenerate every hash-pinned lock from the files people edit (requirements*.in, the pyproject.toml files,
# sidekick_image/*.in), with pip-tools in a throwaway venv; needs the package index. Pins already in a lock
# are kept; `make lock LOCK_ARGS=--upgrade` moves them to the newest allowed versions.
LOCK := .venv-lock/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	--no-emit-find-links $(LOCK_ARGS)
lock:
	@command -v $(PY) >/dev/null || PY=python3; $${PY:-$(PY)} -m venv .venv-lock 2>/dev/null || python3 -m venv .venv-lock
	.venv-lock/bin/pip install -q pip-tools==7.6.2
	export CUSTOM_COMPILE_COMMAND="make lock"; \
	$(LOCK) -o requirements.txt requirements.in components/pyproject.toml && \
	$(LOCK) --extra templates -o requirements-dev.txt requirements-dev.in requirements.in \
		components/pyproject.toml sidekick_image/pyproject.toml && \
	$(LOCK) --extra templates -c requirements-dev.txt -o sidekick_image/requirements.lock \
		sidekick_image/pyproject.toml && \
	$(LOCK) -c requirements-dev.txt -o sidekick_image/build.lock sidekick_image/build.in && \
	$(LOCK) -o policy/requirements.txt policy/requirements.in

# The policy pack's own venv (pulumi-policy pins protobuf 5, the stack's venv has 6); PulumiPolicy.yaml names it.
policy/venv/.stamp: policy/requirements.txt
	@command -v $(PY) >/dev/null || PY=python3; $${PY:-$(PY)} -m venv policy/venv 2>/dev/null || python3 -m venv policy/venv
	policy/venv/bin/pip install -q --require-hashes -r policy/requirements.txt
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

# Pulumi runs through scripts/pulumi (PULUMI_SKIP_CHECKPOINTS, docs/scaling.md), as in the demo and e2e tests.
bench: venv engines
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf dist build .pytest_cache .mypy_cache .ruff_cache .demo
