"""The dedicated token reviewer through the real Pulumi CLI, pulumi-kubernetes and pulumi-vault: the shipped
dev config plus `kubernetes_auth.token_reviewer`. The stack creates the reviewer's ServiceAccount, its
service-account-token Secret (filled by the test cluster's token controller; pulumi-kubernetes waits for it)
and the one system:auth-delegator binding, and gives Vault that token. A workload's token minted only for the
`vault` audience, as its projected volume holds it, then logs in with no binding of its own."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from vaultconf.kubernetes_auth import DEFAULT_AUDIENCE

from tests.e2e.stack import OVERLAY, StackEnv, configure, stack_env
from tests.fixtures.engines import engine_path
from tests.support.pulumi import REQUIRED_ENGINES, change_summary

pytestmark = [pytest.mark.engines, pytest.mark.slow]

REVIEWER_NS = "vault-system"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackEnv]:
    for name in (*REQUIRED_ENGINES, "vault", "etcd", "kube-apiserver", "kube-controller-manager"):
        engine_path(name)
    with stack_env(tmp_path_factory.mktemp("reviewer")) as e:
        configure(e)
        e.kube.create_namespace(REVIEWER_NS)  # where Vault's own objects live; the stack does not own it
        (e.config_dir / OVERLAY / "zz-token-reviewer.yaml").write_text(
            f"kubernetes_auth:\n  token_reviewer: {{namespace: {REVIEWER_NS}}}\n", encoding="utf-8"
        )
        e.ws.up()
        yield e
        e.ws.destroy()


def test_the_reviewer_objects_exist_and_vault_holds_the_token(env: StackEnv) -> None:
    ns = REVIEWER_NS
    assert env.kube.exists(f"/api/v1/namespaces/{ns}/serviceaccounts/vault-token-reviewer")
    secret = env.kube.get(f"/api/v1/namespaces/{ns}/secrets/vault-token-reviewer-token")
    assert secret["type"] == "kubernetes.io/service-account-token" and secret["data"]["token"]
    bindings = env.kube.get("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings")["items"]
    ours = [
        b
        for b in bindings
        if b["roleRef"]["name"] == "system:auth-delegator"
        and {"kind": "ServiceAccount", "name": "vault-token-reviewer", "namespace": ns} in b["subjects"]
    ]
    assert len(ours) == 1
    config = env.vault.request("GET", "auth/kubernetes/config")["data"]
    assert config["token_reviewer_jwt_set"] is True
    review = env.kube.token_review(base64.b64decode(secret["data"]["token"]).decode())
    assert review["user"]["username"] == f"system:serviceaccount:{ns}:vault-token-reviewer"


def test_a_pod_token_for_vault_only_logs_in_without_its_own_binding(env: StackEnv) -> None:
    role = env.vault.request("GET", "auth/kubernetes/role/billing-api")["data"]
    assert role["audience"] == DEFAULT_AUDIENCE
    namespace, account = role["bound_service_account_namespaces"][0], role["bound_service_account_names"][0]
    bindings = env.kube.get("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings")["items"]
    assert not [
        b
        for b in bindings
        if {"kind": "ServiceAccount", "name": account, "namespace": namespace} in (b.get("subjects") or [])
    ]
    jwt = env.kube.request_token(namespace, account, audiences=[DEFAULT_AUDIENCE], expiration_seconds=600)
    auth = env.vault.request("POST", "auth/kubernetes/login", {"role": "billing-api", "jwt": jwt}, token="")[
        "auth"
    ]
    assert auth["metadata"]["service_account_name"] == account
    assert set(role["token_policies"]) <= set(auth["policies"])


def test_a_second_up_changes_nothing(env: StackEnv) -> None:
    assert change_summary(env.ws.up()) == {}
