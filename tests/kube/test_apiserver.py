"""The real kube-apiserver fixture: it serves the built release, authenticates, stores and validates
workload objects, and issues and reviews service-account tokens."""

from __future__ import annotations

import base64
import json
import pathlib
import re
import ssl
import stat
import urllib.request

import pytest
import yaml

from tests.support.kube import KubeAPIError, KubeAPIServer

pytestmark = pytest.mark.engines

KUBE_GO_MOD = pathlib.Path(__file__).resolve().parents[2] / "tools" / "engines" / "kube" / "go.mod"


def _pinned_release() -> str:
    match = re.search(r"^\s*(?:require\s+)?k8s\.io/kubernetes (v[^\s/]+)", KUBE_GO_MOD.read_text(), re.M)
    assert match, f"{KUBE_GO_MOD} must pin k8s.io/kubernetes"
    return match.group(1)


def test_serves_the_pinned_release_and_is_ready(kube_apiserver: KubeAPIServer) -> None:
    version = kube_apiserver.get("/version")
    assert version["gitVersion"] == _pinned_release()
    assert kube_apiserver.request_raw("GET", "/readyz").strip() == b"ok"
    assert kube_apiserver.running()


def test_requires_a_valid_token(kube_apiserver: KubeAPIServer) -> None:
    with pytest.raises(KubeAPIError) as err:
        kube_apiserver.request("GET", "/api/v1/namespaces", token="not-a-token")
    assert err.value.status == 401
    assert "not-a-token" not in str(err.value)


def test_kubeconfig_is_private_and_usable_on_its_own(kube_apiserver: KubeAPIServer) -> None:
    path = kube_apiserver.kubeconfig
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = yaml.safe_load(path.read_text())
    cluster = config["clusters"][0]["cluster"]
    token = config["users"][0]["user"]["token"]
    assert token not in repr(kube_apiserver)
    ca_pem = base64.b64decode(cluster["certificate-authority-data"]).decode()
    context = ssl.create_default_context(cadata=ca_pem)
    req = urllib.request.Request(cluster["server"] + "/api/v1/namespaces/default")
    req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, context=context, timeout=10) as resp:
        assert json.loads(resp.read())["metadata"]["name"] == "default"


def _deployment(name: str, init_restart_policy: str) -> dict[str, object]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    # A native sidecar: an init container that keeps running beside the app.
                    "initContainers": [
                        {
                            "name": "vault-sidekick",
                            "image": "example.invalid/sidekick:1",
                            "restartPolicy": init_restart_policy,
                            "volumeMounts": [{"name": "secrets", "mountPath": "/etc/secrets"}],
                        }
                    ],
                    "containers": [
                        {
                            "name": "app",
                            "image": "example.invalid/app:1",
                            "volumeMounts": [
                                {"name": "secrets", "mountPath": "/etc/secrets", "readOnly": True}
                            ],
                        }
                    ],
                    "volumes": [{"name": "secrets", "emptyDir": {"medium": "Memory"}}],
                },
            },
        },
    }


def test_stores_secret_and_deployment_with_native_sidecar(
    kube_apiserver: KubeAPIServer, kube_namespace: str
) -> None:
    ns = kube_namespace
    kube_apiserver.create(
        f"/api/v1/namespaces/{ns}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "login"},
            "type": "Opaque",
            "stringData": {"login": '{"username": "u", "password": "p", "method": "userpass"}'},
        },
    )
    secret = kube_apiserver.get(f"/api/v1/namespaces/{ns}/secrets/login")
    assert json.loads(base64.b64decode(secret["data"]["login"]))["username"] == "u"

    kube_apiserver.create(f"/apis/apps/v1/namespaces/{ns}/deployments", _deployment("app", "Always"))
    stored = kube_apiserver.get(f"/apis/apps/v1/namespaces/{ns}/deployments/app")
    sidecar = stored["spec"]["template"]["spec"]["initContainers"][0]
    assert sidecar["name"] == "vault-sidekick"
    assert sidecar["restartPolicy"] == "Always"


def test_rejects_an_invalid_init_container_restart_policy(
    kube_apiserver: KubeAPIServer, kube_namespace: str
) -> None:
    # Real validation runs: an unknown container restartPolicy is refused, nothing is stored.
    with pytest.raises(KubeAPIError) as err:
        kube_apiserver.create(
            f"/apis/apps/v1/namespaces/{kube_namespace}/deployments", _deployment("bad", "Sometimes")
        )
    assert err.value.status == 422
    assert "restartPolicy" in str(err.value)
    assert not kube_apiserver.exists(f"/apis/apps/v1/namespaces/{kube_namespace}/deployments/bad")


def test_token_request_is_validated_by_token_review(
    kube_apiserver: KubeAPIServer, kube_namespace: str
) -> None:
    ns = kube_namespace
    kube_apiserver.create_service_account(ns, "app")
    token = kube_apiserver.request_token(ns, "app", expiration_seconds=600)

    review = kube_apiserver.token_review(token)
    assert review["authenticated"] is True
    assert review["user"]["username"] == f"system:serviceaccount:{ns}:app"

    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert kube_apiserver.token_review(forged).get("authenticated") is not True


def test_token_review_honours_audiences(kube_apiserver: KubeAPIServer, kube_namespace: str) -> None:
    kube_apiserver.create_service_account(kube_namespace, "app")
    token = kube_apiserver.request_token(kube_namespace, "app", audiences=["vault"])
    assert kube_apiserver.token_review(token).get("authenticated") is not True
    review = kube_apiserver.token_review(token, audiences=["vault"])
    assert review["authenticated"] is True
    assert review["audiences"] == ["vault"]


def test_token_reviewer_needs_auth_delegator(kube_apiserver: KubeAPIServer, kube_namespace: str) -> None:
    # What Vault's token_reviewer_jwt needs in a cluster with RBAC.
    ns = kube_namespace
    kube_apiserver.create_service_account(ns, "reviewer")
    kube_apiserver.create_service_account(ns, "app")
    reviewer = kube_apiserver.request_token(ns, "reviewer")
    app = kube_apiserver.request_token(ns, "app")
    with pytest.raises(KubeAPIError) as err:
        kube_apiserver.token_review(app, as_token=reviewer)
    assert err.value.status == 403

    kube_apiserver.bind_cluster_role(f"{ns}-reviewer", "system:auth-delegator", ns, "reviewer")
    try:
        review = kube_apiserver.token_review(app, as_token=reviewer)
        assert review["authenticated"] is True
    finally:
        kube_apiserver.delete(f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{ns}-reviewer")


def test_namespace_deletion_removes_its_objects(kube_apiserver: KubeAPIServer) -> None:
    kube_apiserver.create_namespace("t-doomed")
    kube_apiserver.create_service_account("t-doomed", "app")
    kube_apiserver.delete_namespace("t-doomed", wait=60)
    assert not kube_apiserver.exists("/api/v1/namespaces/t-doomed")
    assert not kube_apiserver.exists("/api/v1/namespaces/t-doomed/serviceaccounts/app")
