"""Workload and sidekick_container: pod spec, sidekick config, restricted Pod Security Standard."""

from __future__ import annotations

import json
from typing import Any

import pytest
import vaultconf as vc
from vaultconf.errors import ConfigError
from vaultconf.testing import MockRun, run_under_mocks

from tests.components._programs import SIDEKICK, VAULT_ADDR, full_stack, providers


@pytest.fixture(scope="module")
def run() -> MockRun:
    return run_under_mocks(lambda: full_stack())


def pod(run: MockRun, kind: str = "kubernetes:apps/v1:Deployment") -> dict[str, Any]:
    return run.one(kind).inputs["spec"]["template"]["spec"]


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in items}


def restricted_violations(spec: dict[str, Any]) -> list[str]:
    """The checks of the restricted Pod Security Standard (v1.29+) that a pod spec can fail."""
    problems = []
    pod_ctx = spec.get("securityContext", {})
    for c in spec.get("initContainers", []) + spec.get("containers", []):
        ctx = c.get("securityContext", {})
        name = c["name"]
        if ctx.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation")
        if "ALL" not in ctx.get("capabilities", {}).get("drop", []):
            problems.append(f"{name}: drop ALL")
        if set(ctx.get("capabilities", {}).get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: capabilities.add")
        if not (ctx.get("runAsNonRoot") or pod_ctx.get("runAsNonRoot")):
            problems.append(f"{name}: runAsNonRoot")
        if ctx.get("runAsUser") == 0 or ctx.get("privileged"):
            problems.append(f"{name}: root/privileged")
        seccomp = ctx.get("seccompProfile", pod_ctx.get("seccompProfile", {})).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccomp")
    for v in spec.get("volumes", []):
        if "hostPath" in v:
            problems.append(f"volume {v['name']}: hostPath")
    if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
        problems.append("host namespaces")
    return problems


def test_deployment_runs_the_sidekick_as_a_native_sidecar(run: MockRun) -> None:
    spec = pod(run)
    assert [c["name"] for c in spec["containers"]] == ["app"]
    (sidekick,) = spec["initContainers"]
    assert sidekick["name"] == "vault-sidekick" and sidekick["restartPolicy"] == "Always"
    assert sidekick["image"] == SIDEKICK
    assert sidekick["args"] == ["--config", "/etc/vault-sidekick-config/sidekick.json"]
    assert sidekick["startupProbe"]["httpGet"] == {"path": "/readyz", "port": 9191}
    assert sidekick["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": 9191}
    assert sidekick["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 9191}
    assert sidekick["resources"]["requests"] and sidekick["resources"]["limits"]
    assert spec["containers"][0]["resources"]["limits"]["memory"]


def test_volumes_and_mounts(run: MockRun) -> None:
    spec = pod(run)
    volumes = by_name(spec["volumes"])
    assert volumes["vault-secrets"]["emptyDir"]["medium"] == "Memory"
    assert volumes["vault-login"]["secret"]["secretName"] == "vault-app"
    assert volumes["vault-login"]["secret"]["items"] == [{"key": "login", "path": "login"}]
    assert volumes["vault-sidekick-config"]["configMap"]["name"] == "web-sidekick"
    sidekick_mounts = by_name(spec["initContainers"][0]["volumeMounts"])
    assert sidekick_mounts["vault-login"] == {
        "name": "vault-login",
        "mountPath": "/etc/vault-sidekick",
        "readOnly": True,
    }
    assert sidekick_mounts["vault-secrets"]["mountPath"] == "/etc/secrets"
    assert not sidekick_mounts["vault-secrets"].get("readOnly")
    app_mounts = by_name(spec["containers"][0]["volumeMounts"])
    assert app_mounts["vault-secrets"] == {
        "name": "vault-secrets",
        "mountPath": "/etc/secrets",
        "readOnly": True,
    }
    assert "vault-login" not in app_mounts  # the app never sees the Vault password
    assert spec["automountServiceAccountToken"] is False


def test_pod_passes_the_restricted_pod_security_standard(run: MockRun) -> None:
    spec = pod(run)
    assert restricted_violations(spec) == []
    for c in spec["initContainers"] + spec["containers"]:
        assert c["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_checker_catches_a_weak_pod() -> None:
    weak = {"containers": [{"name": "x", "securityContext": {}}], "volumes": [{"name": "h", "hostPath": {}}]}
    assert len(restricted_violations(weak)) == 5


def test_sidekick_config_follows_the_contract(run: MockRun) -> None:
    data = run.one("kubernetes:core/v1:ConfigMap").inputs["data"]
    config = json.loads(data["sidekick.json"])
    assert config["vault"] == {"addr": VAULT_ADDR}
    assert config["auth"] == {"method": "userpass", "mount": "userpass", "file": "/etc/vault-sidekick/login"}
    assert config["output_dir"] == "/etc/secrets" and config["one_shot"] is False
    assert config["listen"] == "0.0.0.0:9191"
    resources = by_name(config["resources"])
    assert resources["db"] == {
        "name": "db",
        "type": "kv",
        "path": "kv/data/team-a/db",
        "format": "env",
        "mode": "0640",
        "update": 300,  # seconds: typed once by the component, never re-parsed from "300s"
        "on_change": {"http": {"url": "http://127.0.0.1:8080/-/reload"}},
    }
    assert resources["tls"]["path"] == "pki-int/issue/web" and resources["tls"]["mode"] == "0600"
    assert resources["aws"]["path"] == "aws/creds/app"
    once = json.loads(data["sidekick-once.json"])
    assert once["one_shot"] is True and once["listen"] == "" and once["resources"] == config["resources"]


def test_sidekick_parses_the_rendered_config(run: MockRun, tmp_path) -> None:
    """The sidekick's own loader accepts what the Workload renders (the contract, checked from both ends)."""
    from sidekick import config_file as sidekick_config

    for file_name, text in run.one("kubernetes:core/v1:ConfigMap").inputs["data"].items():
        path = tmp_path / file_name
        path.write_text(text)
        cfg = sidekick_config.load_file(str(path))
        cfg.validate()
        assert [r.name for r in cfg.resources] == ["db", "tls", "aws"]
        assert cfg.auth_method == "userpass" and cfg.one_shot == (file_name == "sidekick-once.json")
        assert cfg.resources[0].update == 300 and oct(cfg.resources[0].mode) == "0o640"


def test_config_change_rolls_the_pods() -> None:
    a = run_under_mocks(lambda: full_stack())
    b = run_under_mocks(lambda: full_stack(output_dir="/run/secrets"))
    key = "vaultconf.io/sidekick-config"

    def annotation(run: MockRun) -> str:
        return run.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["metadata"]["annotations"][
            key
        ]

    assert annotation(a) != annotation(b)
    assert annotation(a) == annotation(run_under_mocks(lambda: full_stack()))


def test_legacy_clusters_get_init_plus_regular_sidecar() -> None:
    run = run_under_mocks(lambda: full_stack(native_sidecar=False))
    spec = pod(run)
    (init,) = spec["initContainers"]
    assert init["name"] == "vault-sidekick-init" and "restartPolicy" not in init
    assert init["args"][-1].endswith("sidekick-once.json") and "startupProbe" not in init
    assert [c["name"] for c in spec["containers"]] == ["app", "vault-sidekick"]
    assert restricted_violations(spec) == []


def test_job_gets_a_one_shot_init_container() -> None:
    run = run_under_mocks(lambda: full_stack(kind="Job", backoff_limit=1))
    job = run.one("kubernetes:batch/v1:Job")
    assert job.inputs["spec"]["backoffLimit"] == 1
    spec = job.inputs["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    (init,) = spec["initContainers"]
    assert init["name"] == "vault-sidekick-init" and "restartPolicy" not in init
    assert [c["name"] for c in spec["containers"]] == ["app"]
    assert not run.of_type("kubernetes:apps/v1:Deployment")
    assert restricted_violations(spec) == []


def test_kubernetes_auth_uses_a_projected_token() -> None:
    def program() -> None:
        stack = full_stack()
        vc.Workload(
            "api",
            {
                "namespace": "team-a",
                "image": "app:1",
                "sidekick_image": SIDEKICK,
                "vault_addr": VAULT_ADDR,
                "service_account_name": "app",
                "auth": stack["k8s_auth"].sidekick_auth("app"),
                "secrets": [{"name": "db", "type": "kv", "path": "kv/data/team-a/db"}],
            },
            opts=providers(),
        )

    run = run_under_mocks(program)
    deployment = next(d for d in run.of_type("kubernetes:apps/v1:Deployment") if d.name == "api-deployment")
    spec = deployment.inputs["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == "app"
    token = by_name(spec["volumes"])["vault-token"]["projected"]["sources"][0]["serviceAccountToken"]
    assert token == {"path": "token", "expirationSeconds": 3600, "audience": "vault"}
    config = json.loads(
        next(
            c for c in run.of_type("kubernetes:core/v1:ConfigMap") if c.name == "api-sidekick-config"
        ).inputs["data"]["sidekick.json"]
    )
    assert config["auth"] == {
        "method": "kubernetes",
        "mount": "kubernetes",
        "role": "app",
        "token_file": "/var/run/secrets/vault/token",
    }


def test_approle_auth_mounts_the_published_secret() -> None:
    def program() -> None:
        stack = full_stack()
        vc.Workload(
            "batch",
            {
                "namespace": "team-a",
                "image": "app:1",
                "kind": "Job",
                "sidekick_image": SIDEKICK,
                "vault_addr": VAULT_ADDR,
                "auth": stack["approle"].sidekick_auth("batch"),
                "secrets": [{"name": "db", "type": "kv", "path": "kv/data/team-a/db"}],
            },
            opts=providers(),
        )

    run = run_under_mocks(program)
    spec = run.one("kubernetes:batch/v1:Job").inputs["spec"]["template"]["spec"]
    assert by_name(spec["volumes"])["vault-approle"]["secret"]["secretName"] == "approle-batch"
    config = json.loads(
        next(
            c for c in run.of_type("kubernetes:core/v1:ConfigMap") if c.name == "batch-sidekick-config"
        ).inputs["data"]["sidekick-once.json"]
    )
    assert config["auth"]["role_id_file"] == "/etc/approle/role_id"
    assert config["auth"]["secret_id_file"] == "/etc/approle/secret_id"


def test_sidekick_container_is_pure_and_reusable() -> None:
    user_auth = vc.SidekickAuth(method="token", mount="token", secret_name="vault-token")
    parts = vc.sidekick_container(
        image=SIDEKICK,
        vault_addr=VAULT_ADDR,
        auth=user_auth,
        config_map="mine",
        secrets=[{"name": "cfg", "type": "secret", "path": "secret/app"}],
        vault_ca_secret="vault-ca",
    )
    assert parts.init_containers[0]["restartPolicy"] == "Always"
    assert json.loads(parts.config_files["sidekick.json"]) == parts.config
    assert parts.config["vault"]["ca_cert"] == "/etc/vault-ca/ca.crt"
    assert parts.config["auth"]["file"] == "/etc/vault-sidekick/token"
    assert {v["name"] for v in parts.volumes} == {
        "vault-secrets",
        "vault-sidekick-config",
        "vault-login",
        "vault-ca",
    }
    assert parts.app_volume_mount["readOnly"] is True


def test_signal_hooks_are_refused_never_a_shared_uid_and_pid_namespace(run: MockRun) -> None:
    # Signalling the app needs its uid in a shared PID namespace, where the app could read the sidekick's
    # credentials through /proc: the generated pod never shares either, and a signal hook is an error.
    spec = pod(run)
    assert spec["shareProcessNamespace"] is False
    assert "tmp" not in by_name(spec["initContainers"][0]["volumeMounts"])
    expected = r"secrets\[0\]\.on_change\.signal.*read the sidekick's Vault credentials"
    with pytest.raises(ConfigError, match=expected):
        run_under_mocks(lambda: workload_with_hook({"signal": {"name": "HUP", "pidfile": "/tmp/app.pid"}}))


def workload_with_hook(hook: dict[str, Any]) -> None:
    stack = full_stack()
    vc.Workload(
        "plain",
        {
            "namespace": "team-a",
            "image": "app:1",
            "sidekick_image": SIDEKICK,
            "vault_addr": VAULT_ADDR,
            "auth": stack["user"],
            "run_as_user": 1000,
            "secrets": [{"name": "db", "type": "kv", "path": "kv/data/team-a/db", "on_change": hook}],
        },
        opts=providers(),
    )


def test_without_signal_hooks_nothing_is_shared() -> None:
    run = run_under_mocks(lambda: workload_with_hook({"http": {"url": "http://127.0.0.1:8080/-/reload"}}))
    deployment = next(d for d in run.of_type("kubernetes:apps/v1:Deployment") if d.name == "plain-deployment")
    spec = deployment.inputs["spec"]["template"]["spec"]
    assert spec["shareProcessNamespace"] is False
    assert spec["containers"][0]["securityContext"]["runAsUser"] == 1000
    assert "tmp" not in by_name(spec["initContainers"][0]["volumeMounts"])
