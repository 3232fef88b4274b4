"""Drift (issue 13): a change made by hand in Vault shows in `pulumi preview --refresh` (which exits non-zero
with --expect-no-changes, as a scheduled CI job runs it: docs/adoption.md) and `pulumi up --refresh` puts the
declared state back. One test per kind of hand edit, on the real stack (the shipped dev config), the real
Pulumi CLI and the project's Vault provider, whose Read returns the live object.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.stack import StackEnv, configure, stack_env
from tests.e2e.test_adopt import vault_changes
from tests.support.brownfield import login

pytestmark = [pytest.mark.engines, pytest.mark.slow]

DRIFT_EXIT = 7
POLICY = ("vault:index/policy:Policy", "policy-billing-reader-policy")
USER = "vault:index/userpassAuthBackendUser:UserpassAuthBackendUser"
K8S_ROLE = ("vault:kubernetes/authBackendRole:AuthBackendRole", "kubernetes-auth-role-billing-api")


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackEnv]:
    """The shipped stack, up, and clean: a refresh right after `up` finds nothing (no false drift)."""
    with stack_env(tmp_path_factory.mktemp("drift")) as env:
        configure(env)
        env.ws.up()
        clean = env.ws.run("preview", "--refresh", "--expect-no-changes", "--json", check=False)
        assert clean.returncode == 0, vault_changes(clean.stdout) or clean.stderr[-3000:]
        yield env


def drift(env: StackEnv, tamper: Callable[[], None]) -> dict[tuple[str, str], list[str]]:
    """Tamper, then what the scheduled drift check sees: its exit code must say 'changes'."""
    tamper()
    seen = env.ws.run("preview", "--refresh", "--expect-no-changes", "--json", check=False)
    # 7: "changes found", distinct from an error (255), as the scheduled check in docs/adoption.md relies on
    assert seen.returncode == DRIFT_EXIT, (seen.returncode, seen.stderr[-2000:])
    return vault_changes(seen.stdout)


def restore(env: StackEnv) -> None:
    env.ws.run("up", "--refresh", "--yes", "--skip-preview")
    after = env.ws.run("preview", "--refresh", "--expect-no-changes", "--json", check=False)
    assert after.returncode == 0, vault_changes(after.stdout)


def read(env: StackEnv, path: str) -> dict[str, Any]:
    return dict(env.vault.request("GET", path)["data"])


def test_a_policy_edited_by_hand_is_seen_and_restored(deployed: StackEnv) -> None:
    path = "sys/policies/acl/billing-reader"
    declared = read(deployed, path)["policy"]
    changes = drift(deployed, lambda: deployed.vault.request(
        "PUT", path, {"policy": declared + '\npath "sys/*" { capabilities = ["sudo", "update"] }\n'}))
    assert changes == {POLICY: ["policy"]}
    restore(deployed)
    assert read(deployed, path)["policy"] == declared


def test_a_user_deleted_by_hand_is_seen_and_recreated_with_its_password(deployed: StackEnv) -> None:
    path = "auth/userpass/users/reports-export"
    declared = read(deployed, path)
    changes = drift(deployed, lambda: deployed.vault.request("DELETE", path))
    assert changes == {(USER, "user-reports-export-user"): ["create"]}
    restore(deployed)
    assert read(deployed, path)["token_policies"] == declared["token_policies"]
    secret = deployed.kube.get("/api/v1/namespaces/reports/secrets/vault-reports-export")
    password = base64.b64decode(secret["data"]["password"]).decode()
    assert login(deployed.vault.addr, deployed.vault, "reports-export", password)  # the same password again


def test_a_role_ttl_changed_by_hand_is_seen_and_restored(deployed: StackEnv) -> None:
    path = "auth/kubernetes/role/billing-api"
    declared = read(deployed, path)["token_ttl"]
    changes = drift(deployed, lambda: deployed.vault.request("POST", path, {"token_ttl": declared + 60}))
    assert changes == {K8S_ROLE: ["tokenTtl"]}
    restore(deployed)
    assert read(deployed, path)["token_ttl"] == declared


def test_an_extra_policy_attached_by_hand_is_seen_and_removed(deployed: StackEnv) -> None:
    path = "auth/userpass/users/billing-api"
    declared = read(deployed, path)["token_policies"]
    changes = drift(deployed, lambda: deployed.vault.request(
        "POST", path, {"token_policies": [*declared, "billing-writer"]}))
    assert changes == {(USER, "user-billing-api-user"): ["tokenPolicies"]}
    restore(deployed)
    assert sorted(read(deployed, path)["token_policies"]) == sorted(declared)


