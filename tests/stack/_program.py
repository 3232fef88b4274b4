"""Run the real infra/__main__.py under recording mocks."""

from __future__ import annotations

import pathlib
import runpy
from collections.abc import Mapping

from tests.support.pulumi_mocks import MockRun, RecordingMocks, run_under_mocks

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "infra" / "__main__.py"
SEEDED = (
    "kv-apps-billing-db-username",
    "kv-apps-billing-db-password",
    "kv-apps-reports-smtp-username",
    "kv-apps-reports-smtp-password",
)
SECRETS = ("awsAccessKey", "awsSecretKey", *SEEDED)


def stack_config(stack: str, **extra: str) -> dict[str, str]:
    config = {
        "vaultconf:overlay": stack,
        "vaultconf:vaultAddress": "http://127.0.0.1:8200",
        "vaultconf:podVaultAddress": "http://vault.vault.svc:8200",
        "vaultconf:sidekickImage": "example/sidekick:test",
        "vaultconf:renderYamlTo": "/tmp/vaultconf-render-unused",
    }
    config.update({f"vaultconf:{key}": f"secret-value-of-{key}" for key in SECRETS})
    config.update({f"vaultconf:{k}": v for k, v in extra.items()})
    return config


def run_stack(
    stack: str, config: Mapping[str, str] | None = None, mocks: RecordingMocks | None = None
) -> MockRun:
    cfg = dict(config) if config is not None else stack_config(stack)
    return run_under_mocks(
        lambda: runpy.run_path(str(PROGRAM), run_name="__main__"),
        project="vaultconf",
        stack=stack,
        config=cfg,
        secret_config=tuple(k for k in cfg if k.split(":", 1)[1] in SECRETS),
        mocks=mocks,
    )
