"""Against the real Pulumi CLI and a real API server: a stack built before the Workload created its own
ServiceAccount keeps that account when it upgrades (the alias adopts it; nothing is replaced or deleted)."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from tests.support.pulumi import change_summary, find_engine, new_workspace, write_project

pytestmark = [pytest.mark.engines]

PROVIDER = """
import pulumi
import pulumi_kubernetes as k8s

NS = {namespace!r}
provider = k8s.Provider("kubernetes", enable_server_side_apply=True)
"""
# what config/stack.py registered before issue 15: a top-level account named sa-<namespace>-<name>
BEFORE = (
    PROVIDER
    + """
k8s.core.v1.ServiceAccount(
    f"sa-{{NS}}-web",
    metadata={{"name": "web", "namespace": NS, "labels": {{"app.kubernetes.io/managed-by": "vaultconf"}}}},
    automount_service_account_token=False,
    opts=pulumi.ResourceOptions(provider=provider),
)
"""
)
AFTER = (
    PROVIDER
    + """
import vaultconf
from vaultconf.auth import SidekickAuth

vaultconf.Workload(
    "web",
    {{
        "namespace": NS,
        "image": "nginx:1.27",
        "service_account_name": "web",
        "auth": SidekickAuth(method="token", mount="token", secret_name="vault-token"),
        "policies": [{{"kv/data/app/*": ["read"]}}],
        "secrets": [{{"name": "db", "type": "kv", "path": "kv/data/app/db"}}],
        "sidekick_image": "example/sidekick:test",
        "vault_addr": "http://vault:8200",
    }},
    opts=pulumi.ResourceOptions(providers=[provider]),
)
"""
)


def _steps(preview: dict[str, Any], kind: str) -> list[str]:
    return sorted(s.get("op", "") for s in preview.get("steps", []) if s.get("urn", "").endswith(kind))


def test_an_older_stack_keeps_its_service_account(
    tmp_path: pathlib.Path, kube_apiserver: Any, kube_namespace: str, pulumi_engines: dict[str, pathlib.Path]
) -> None:
    find_engine("pulumi-resource-kubernetes")
    project = write_project(tmp_path / "project", "sa-upgrade", BEFORE.format(namespace=kube_namespace))
    ws = new_workspace(
        project, state_dir=tmp_path / "state", env={"KUBECONFIG": str(kube_apiserver.kubeconfig)}
    )
    ws.stack_init("dev")
    try:
        ws.up()
        assert kube_apiserver.exists(f"/api/v1/namespaces/{kube_namespace}/serviceaccounts/web")
        (project / "__main__.py").write_text(AFTER.format(namespace=kube_namespace), encoding="utf-8")
        preview = ws.preview()
        # the account is the same resource under its new name (no create, no delete, no replace: the
        # preview lists no step for it); only the Workload's own objects are new
        assert _steps(preview, "ServiceAccount::web-service-account") == []
        assert _steps(preview, f"ServiceAccount::sa-{kube_namespace}-web") == []
        assert change_summary(preview) == {"create": 3}  # the Workload, its ConfigMap and Deployment
        assert preview["changeSummary"].get("same", 0) >= 1
    finally:
        ws.destroy()
