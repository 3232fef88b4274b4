"""The Workload creates the ServiceAccount its pods run as (issue 15) and adopts the one older stacks made."""

from __future__ import annotations

from typing import Any

import vaultconf as vc
from vaultconf.testing import MockRun, run_under_mocks

from tests.components._programs import SIDEKICK, VAULT_ADDR, providers


def _workload(**extra: Any) -> MockRun:
    def program() -> None:
        opts = providers()
        reader = vc.Policy("web-read", {"rules": {"kv/data/team-a/*": ["read"]}}, opts=opts)
        user = vc.User(
            "app", {"policies": [reader], "namespaces": ["team-a"], "vault_addr": VAULT_ADDR}, opts=opts
        )
        vc.Workload(
            "web",
            {
                "namespace": "team-a",
                "image": "nginx:1.27",
                "auth": user,
                "secrets": [{"name": "db", "type": "kv", "path": "kv/data/team-a/db"}],
                "sidekick_image": SIDEKICK,
                "vault_addr": VAULT_ADDR,
                **extra,
            },
            opts=opts,
        )

    return run_under_mocks(program)


def test_the_named_service_account_is_created_beside_the_pods() -> None:
    run = _workload(service_account_name="web-sa")
    account = run.one("kubernetes:core/v1:ServiceAccount")
    assert account.inputs["metadata"]["name"] == "web-sa"
    assert account.inputs["metadata"]["namespace"] == "team-a"
    assert account.inputs["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "vaultconf"}
    assert account.inputs["automountServiceAccountToken"] is False
    assert run.by_urn(account.parent).type == "vaultconf:index:Workload"
    # the pods need the account to exist before they are scheduled
    deployment = run.one("kubernetes:apps/v1:Deployment")
    assert account.urn in deployment.dependencies
    assert deployment.inputs["spec"]["template"]["spec"]["serviceAccountName"] == "web-sa"
    # a stack built before this registered it at the top level; the alias keeps that account
    assert account.aliases == ("/sa-team-a-web-sa",)


def test_no_account_for_default_or_when_managed_elsewhere() -> None:
    assert _workload().of_type("kubernetes:core/v1:ServiceAccount") == []
    run = _workload(service_account_name="web-sa", create_service_account=False)
    assert run.of_type("kubernetes:core/v1:ServiceAccount") == []
    pod = run.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "web-sa"
