"""The KubernetesAuth component's audience and dedicated token reviewer, against the real Vault and the real
test API server (with its token controller).

The components run under recording Pulumi mocks; the Kubernetes objects they register for the reviewer
(ServiceAccount, service-account-token Secret, ClusterRoleBinding) are created in the API server as recorded,
and the Vault resources are written to a dev Vault as recorded (tests/engines/stack_to_vault.py). The app's
ServiceAccount gets no binding at all: only the dedicated reviewer may call TokenReview.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import vaultconf as vc
import yaml
from vaultconf.kubernetes_auth import DEFAULT_AUDIENCE
from vaultconf.testing import MockRun, Recorded, RecordingMocks, default_outputs, run_under_mocks

from tests.engines.stack_to_vault import Applier
from tests.support.kube import SERVICE_ACCOUNT_ISSUER, KubeAPIServer
from tests.support.vault import VaultDevServer, VaultError

pytestmark = pytest.mark.engines

TOKEN_SECRET = "kubernetes.io/service-account-token"


@dataclass
class Deployed:
    mount: str
    namespace: str
    secret_path: str
    workload: vc.Workload
    run: MockRun


def _program(
    kube: KubeAPIServer, vault: VaultDevServer, mount: str, policy: str, ns: str, holder: dict[str, Any]
) -> Callable[[], None]:
    secret_path = f"secret/data/{policy}/db"

    def program() -> None:
        rules = vc.Policy("app-read", {"name": policy, "rules": {secret_path: ["read"]}})
        auth = vc.KubernetesAuth(
            "k8s",
            {
                "path": mount,
                "kubernetes_host": kube.url,
                "kubernetes_ca_cert": kube.ca_pem,
                "disable_local_ca_jwt": True,
                "token_reviewer": {"namespace": ns, "service_account": "vault-token-reviewer"},
                "roles": {"app": {"service_accounts": ["app"], "namespaces": [ns], "policies": [rules]}},
            },
        )
        holder["workload"] = vc.Workload(
            "app",
            {
                "namespace": ns,
                "image": "example/app:1",
                "service_account_name": "app",
                "auth": auth.sidekick_auth("app"),
                "secrets": [{"name": "db", "type": "kv", "kv_version": 2, "path": secret_path}],
                "sidekick_image": "example/sidekick:1",
                "vault_addr": vault.addr,
            },
        )

    return program


def _create_recorded(kube: KubeAPIServer, rec: Recorded) -> None:
    """POST a recorded Kubernetes object as the provider would (inputs are already in API field names)."""
    body = {k: v for k, v in rec.inputs.items() if v is not None}
    meta = body["metadata"]
    if rec.type == "kubernetes:core/v1:ServiceAccount":
        kube.create(f"/api/v1/namespaces/{meta['namespace']}/serviceaccounts", body)
    elif rec.type == "kubernetes:core/v1:Secret":
        kube.create(f"/api/v1/namespaces/{meta['namespace']}/secrets", body)
    elif rec.type == "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding":
        kube.create("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", body)
    else:
        raise AssertionError(f"unexpected Kubernetes object from KubernetesAuth: {rec.type}")


def _filled_token(kube: KubeAPIServer, namespace: str, name: str, timeout: float = 60.0) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = kube.get(f"/api/v1/namespaces/{namespace}/secrets/{name}").get("data") or {}
        if data.get("token"):
            return dict(data)
        time.sleep(0.5)
    raise AssertionError(f"the token controller did not fill Secret {namespace}/{name} within {timeout}s")


@pytest.fixture
def deployed(
    kube_apiserver: KubeAPIServer,
    kube_namespace: str,
    vault_dev: VaultDevServer,
    vault_path: Callable[[str], str],
) -> Iterator[Deployed]:
    kube, ns = kube_apiserver, kube_namespace
    mount, policy = vault_path("kubernetes"), vault_path("app")
    holder: dict[str, Any] = {}
    program = _program(kube, vault_dev, mount, policy, ns, holder)
    # 1. a preview registers the reviewer's Kubernetes objects (the token is not known yet)
    preview = run_under_mocks(program, preview=True)
    objects = [r for r in preview.resources if r.type.startswith("kubernetes:") and "k8s-" in r.name]
    assert {r.type for r in objects} == {
        "kubernetes:core/v1:ServiceAccount",
        "kubernetes:core/v1:Secret",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
    }
    objects.sort(key=lambda r: r.type != "kubernetes:core/v1:ServiceAccount")  # the account first
    kube.create_service_account(ns, "app")
    for rec in objects:
        _create_recorded(kube, rec)
    (token_secret,) = [r for r in objects if r.inputs.get("type") == TOKEN_SECRET]
    data = _filled_token(kube, ns, token_secret.inputs["metadata"]["name"])
    binding = next(r for r in objects if "ClusterRoleBinding" in r.type).inputs["metadata"]["name"]

    # 2. the update: the provider now reads the filled Secret back, and the component hands its token to Vault
    def outputs(typ: str, name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        out = default_outputs(typ, name, inputs)
        if inputs.get("type") == TOKEN_SECRET:
            out["data"] = data
        return out

    run = run_under_mocks(program, mocks=RecordingMocks(outputs=outputs))
    Applier(vault_dev, run).apply_all()
    secret_path = f"secret/data/{policy}/db"
    vault_dev.request("POST", secret_path, {"data": {"password": "reviewed-by-a-dedicated-account"}})
    try:
        yield Deployed(mount, ns, secret_path, holder["workload"], run)
    finally:
        kube.delete(f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{binding}")


def _projected_audience(pod: Mapping[str, Any]) -> str:
    volume = next(v for v in pod["volumes"] if v["name"] == "vault-token")
    audience: str = volume["projected"]["sources"][0]["serviceAccountToken"]["audience"]
    return audience


def _login(vault: VaultDevServer, mount: str, jwt: str) -> dict[str, Any]:
    answer = vault.request("POST", f"auth/{mount}/login", {"role": "app", "jwt": jwt}, token="")
    auth: dict[str, Any] = answer["auth"]
    return auth


def test_vault_gets_the_reviewer_token_and_roles_their_audience(
    deployed: Deployed, vault_dev: VaultDevServer, kube_apiserver: KubeAPIServer
) -> None:
    config = deployed.run.one("vault:kubernetes/authBackendConfig:AuthBackendConfig")
    review = kube_apiserver.token_review(config.inputs["tokenReviewerJwt"])
    assert review["authenticated"] is True
    assert review["user"]["username"] == f"system:serviceaccount:{deployed.namespace}:vault-token-reviewer"
    role = vault_dev.request("GET", f"auth/{deployed.mount}/role/app")["data"]
    assert role["audience"] == DEFAULT_AUDIENCE


def test_a_pod_token_with_the_role_audience_logs_in_without_any_binding_of_its_own(
    deployed: Deployed, vault_dev: VaultDevServer, kube_apiserver: KubeAPIServer
) -> None:
    audience = _projected_audience(deployed.workload.pod_spec)
    assert audience == DEFAULT_AUDIENCE
    # Exactly what kubelet mounts for that projected volume: one audience, not the API server's.
    jwt = kube_apiserver.request_token(
        deployed.namespace, "app", audiences=[audience], expiration_seconds=600
    )
    bindings = kube_apiserver.get("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings")["items"]
    assert not [
        b
        for b in bindings
        if any(
            s.get("name") == "app" and s.get("namespace") == deployed.namespace
            for s in b.get("subjects") or []
        )
    ]
    auth = _login(vault_dev, deployed.mount, jwt)
    assert auth["metadata"]["service_account_name"] == "app"
    data = vault_dev.request("GET", deployed.secret_path, token=auth["client_token"])
    assert data["data"]["data"]["password"] == "reviewed-by-a-dedicated-account"


def test_a_token_for_another_audience_is_refused(
    deployed: Deployed, vault_dev: VaultDevServer, kube_apiserver: KubeAPIServer
) -> None:
    # The API server's own audience (what the automounted token carries): valid, but not meant for Vault.
    jwt = kube_apiserver.request_token(deployed.namespace, "app", audiences=[SERVICE_ACCOUNT_ISSUER])
    with pytest.raises(VaultError, match="HTTP 403"):
        _login(vault_dev, deployed.mount, jwt)


def test_the_sidekick_delivers_with_the_rendered_config(
    deployed: Deployed, kube_apiserver: KubeAPIServer, tmp_path: pathlib.Path
) -> None:
    token_file = tmp_path / "token"
    audience = _projected_audience(deployed.workload.pod_spec)
    token_file.write_text(kube_apiserver.request_token(deployed.namespace, "app", audiences=[audience]))
    token_file.chmod(0o600)
    config = json.loads(json.dumps(deployed.workload.sidekick_config))
    config["auth"]["token_file"] = str(token_file)
    config["output_dir"] = str(tmp_path / "secrets")
    config.update(one_shot=True, listen="")
    (tmp_path / "sidekick.yaml").write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    run = subprocess.run(
        [sys.executable, "-m", "sidekick", "--config", str(tmp_path / "sidekick.yaml")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    delivered = json.loads((tmp_path / "secrets" / "db").read_text())
    assert delivered["password"] == "reviewed-by-a-dedicated-account"
    assert token_file.read_text() not in run.stdout + run.stderr
    assert base64.b64encode(token_file.read_bytes()).decode() not in run.stdout + run.stderr
