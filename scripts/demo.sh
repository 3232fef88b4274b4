#!/usr/bin/env bash
# `make demo`: a local Vault dev server, a local Pulumi file backend, a local Kubernetes API server and moto's
# server as AWS IAM/STS (the AWS engine really creates the workloads' IAM users there); the real infra/ stack
# with the shipped example config: preview, up, the sidekick delivering every secret, a no-op second up,
# then destroy (which deletes the IAM users again).
# Needs `make venv engines` first (make demo does both). Everything stays on 127.0.0.1; nothing is left running.
# Every pulumi command goes through scripts/pulumi (tests/support/pulumi.py): previews and ups skip the engine's
# per-step checkpoints, as docs/scaling.md recommends; VAULTCONF_CHECKPOINTS=every-step keeps them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
exec .venv/bin/python -m tests.e2e.stack "$@"
