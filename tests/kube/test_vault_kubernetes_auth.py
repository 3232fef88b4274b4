"""Vault's kubernetes auth method against the real test API server (TokenReview), and the sidekick
logging in through it with a service-account token, as it does in a pod."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import yaml

from tests.support.kube import KubeAPIServer
from tests.support.vault import VaultDevServer, VaultError

pytestmark = pytest.mark.engines


@dataclass
class KubeAuth:
    mount: str
    role: str
    namespace: str
    service_account: str
    secret_path: str  # a KV v2 API path the role's policy may read


@pytest.fixture
def kube_auth(
    kube_apiserver: KubeAPIServer,
    kube_namespace: str,
    vault_dev: VaultDevServer,
    vault_path: Callable[[str], str],
) -> Iterator[KubeAuth]:
    """A kubernetes auth mount configured as an operator would: a reviewer ServiceAccount bound to
    system:auth-delegator, the API server's CA, and a role bound to one ServiceAccount and namespace."""
    ns = kube_namespace
    kube_apiserver.create_service_account(ns, "vault-reviewer")
    kube_apiserver.bind_cluster_role(f"{ns}-vault-reviewer", "system:auth-delegator", ns, "vault-reviewer")
    reviewer_jwt = kube_apiserver.request_token(ns, "vault-reviewer", expiration_seconds=3600)
    kube_apiserver.create_service_account(ns, "app")

    mount, policy = vault_path("kubernetes"), vault_path("app")
    vault_dev.request("POST", f"sys/auth/{mount}", {"type": "kubernetes"})
    vault_dev.request(
        "POST",
        f"auth/{mount}/config",
        {
            "kubernetes_host": kube_apiserver.url,
            "kubernetes_ca_cert": kube_apiserver.ca_pem,
            "token_reviewer_jwt": reviewer_jwt,
            "disable_local_ca_jwt": True,
        },
    )
    secret_path = f"secret/data/{policy}/db"
    vault_dev.request(
        "PUT", f"sys/policies/acl/{policy}", {"policy": f'path "{secret_path}" {{ capabilities = ["read"] }}'}
    )
    vault_dev.request(
        "POST",
        f"auth/{mount}/role/app",
        {
            "bound_service_account_names": ["app"],
            "bound_service_account_namespaces": [ns],
            "token_policies": [policy],
            "token_ttl": "10m",
        },
    )
    vault_dev.request("POST", secret_path, {"data": {"username": "app", "password": "s3cr3t-value"}})
    try:
        yield KubeAuth(mount, "app", ns, "app", secret_path)
    finally:
        kube_apiserver.delete(f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{ns}-vault-reviewer")


def _login(vault: VaultDevServer, auth: KubeAuth, jwt: str) -> dict[str, object]:
    answer = vault.request("POST", f"auth/{auth.mount}/login", {"role": auth.role, "jwt": jwt}, token="")
    result: dict[str, object] = answer["auth"]
    return result


def test_vault_logs_in_a_service_account_through_token_review(
    kube_apiserver: KubeAPIServer, vault_dev: VaultDevServer, kube_auth: KubeAuth
) -> None:
    jwt = kube_apiserver.request_token(kube_auth.namespace, kube_auth.service_account)
    auth = _login(vault_dev, kube_auth, jwt)
    metadata = auth["metadata"]
    assert isinstance(metadata, dict)
    assert metadata["service_account_name"] == "app"
    assert metadata["service_account_namespace"] == kube_auth.namespace
    client_token = auth["client_token"]
    assert isinstance(client_token, str)
    data = vault_dev.request("GET", kube_auth.secret_path, token=client_token)
    assert data["data"]["data"]["password"] == "s3cr3t-value"


def test_vault_refuses_an_unbound_service_account(
    kube_apiserver: KubeAPIServer, vault_dev: VaultDevServer, kube_auth: KubeAuth
) -> None:
    kube_apiserver.create_service_account(kube_auth.namespace, "intruder")
    jwt = kube_apiserver.request_token(kube_auth.namespace, "intruder")
    with pytest.raises(VaultError, match="HTTP 403"):
        _login(vault_dev, kube_auth, jwt)


def test_vault_asks_the_api_server_so_a_deleted_account_cannot_log_in(
    kube_apiserver: KubeAPIServer, vault_dev: VaultDevServer, kube_auth: KubeAuth
) -> None:
    # The token is still well signed and unexpired; only the API server knows its account is gone.
    jwt = kube_apiserver.request_token(kube_auth.namespace, kube_auth.service_account)
    ns, account = kube_auth.namespace, kube_auth.service_account
    kube_apiserver.delete(f"/api/v1/namespaces/{ns}/serviceaccounts/{account}")
    with pytest.raises(VaultError, match="HTTP 403"):
        _login(vault_dev, kube_auth, jwt)


def test_sidekick_delivers_a_secret_after_kubernetes_login(
    kube_apiserver: KubeAPIServer, vault_dev: VaultDevServer, kube_auth: KubeAuth, tmp_path: pathlib.Path
) -> None:
    # What a projected service-account token volume holds in a pod.
    token_file = tmp_path / "sa-token"
    token_file.write_text(kube_apiserver.request_token(kube_auth.namespace, kube_auth.service_account))
    token_file.chmod(0o600)
    out = tmp_path / "secrets"
    config = {
        "vault": {"addr": vault_dev.addr},
        "auth": {
            "method": "kubernetes",
            "mount": kube_auth.mount,
            "role": kube_auth.role,
            "token_file": str(token_file),
        },
        "output_dir": str(out),
        "one_shot": True,
        "listen": "",
        "resources": [
            {"name": "db", "type": "kv", "kv_version": 2, "path": kube_auth.secret_path, "format": "json"}
        ],
    }
    config_file = tmp_path / "sidekick.yaml"
    config_file.write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    run = subprocess.run(
        [sys.executable, "-m", "sidekick", "--config", str(config_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    delivered = json.loads((out / "db").read_text())
    assert delivered["password"] == "s3cr3t-value"
    assert token_file.read_text() not in run.stdout + run.stderr
