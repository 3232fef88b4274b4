"""KubernetesAuth audience + dedicated token reviewer, AppRole secret_id bounds, and the sidekick options
(timing, hook timeout/debounce) a Workload now passes through, under the recording mocks."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import pulumi
import pytest
import vaultconf as vc
from vaultconf.approle import DEFAULT_SECRET_ID_TTL
from vaultconf.kubernetes_auth import DEFAULT_AUDIENCE
from vaultconf.testing import MockRun, RecordingMocks, default_outputs, run_under_mocks

from tests.components._programs import SIDEKICK, VAULT_ADDR, providers

HOST = "https://kubernetes.default.svc"
REVIEWER_JWT = "eyJhbGciOiJSUzI1NiJ9.reviewer.sig"


def _token_controller(typ: str, name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Mock outputs plus what the cluster's token controller writes into a service-account-token Secret."""
    out = default_outputs(typ, name, inputs)
    if inputs.get("type") == "kubernetes.io/service-account-token":
        out["data"] = {"token": base64.b64encode(REVIEWER_JWT.encode()).decode()}
    return out


def k8s_auth(**extra: Any) -> vc.KubernetesAuth:
    roles = extra.pop(
        "roles", {"app": {"service_accounts": ["app"], "namespaces": ["team-a"], "policies": ["p"]}}
    )
    return vc.KubernetesAuth("k8s", {"kubernetes_host": HOST, "roles": roles, **extra}, opts=providers())


def roles_by_name(run: MockRun) -> dict[str, dict[str, Any]]:
    return {
        r.inputs["roleName"]: r.inputs
        for r in run.of_type("vault:kubernetes/authBackendRole:AuthBackendRole")
    }


def test_every_role_gets_an_audience_the_mount_default_and_the_role_own() -> None:
    roles = {
        "plain": {"service_accounts": ["a"], "namespaces": ["n"], "policies": ["p"]},
        "own": {"service_accounts": ["b"], "namespaces": ["n"], "policies": ["p"], "audience": "billing"},
    }
    assert (
        roles_by_name(run_under_mocks(lambda: k8s_auth(roles=roles)))["plain"]["audience"] == DEFAULT_AUDIENCE
    )
    run = run_under_mocks(lambda: k8s_auth(roles=roles, audience="vault.example"))
    by_name = roles_by_name(run)
    assert by_name["plain"]["audience"] == "vault.example" and by_name["own"]["audience"] == "billing"


def test_the_sidekick_projected_token_requests_the_default_audience() -> None:
    holder: dict[str, Any] = {}

    def program() -> None:
        auth = k8s_auth()
        holder["w"] = vc.Workload(
            "api",
            {
                "namespace": "team-a",
                "image": "app:1",
                "sidekick_image": SIDEKICK,
                "vault_addr": VAULT_ADDR,
                "service_account_name": "app",
                "auth": auth.sidekick_auth("app"),
                "secrets": [{"name": "db", "type": "kv", "path": "kv/data/team-a/db"}],
            },
            opts=providers(),
        )

    run_under_mocks(program)
    volume = next(v for v in holder["w"].pod_spec["volumes"] if v["name"] == "vault-token")
    assert volume["projected"]["sources"][0]["serviceAccountToken"]["audience"] == DEFAULT_AUDIENCE


@pytest.mark.parametrize("audience", ["", "two words", "x" * 300, 7])
def test_an_unusable_audience_is_one_clear_error(audience: Any) -> None:
    with pytest.raises(vc.ConfigError, match=r"audience.*not a token audience"):
        run_under_mocks(lambda: k8s_auth(audience=audience))


def test_the_dedicated_reviewer_gets_an_account_a_token_and_the_one_binding() -> None:
    run = run_under_mocks(
        lambda: k8s_auth(token_reviewer={"namespace": "vault"}),
        mocks=RecordingMocks(outputs=_token_controller),
    )
    account = run.one("kubernetes:core/v1:ServiceAccount").inputs
    assert (
        account["metadata"]["name"] == "vault-token-reviewer" and account["metadata"]["namespace"] == "vault"
    )
    secret = run.one("kubernetes:core/v1:Secret")
    assert secret.inputs["type"] == "kubernetes.io/service-account-token"
    assert secret.inputs["metadata"]["annotations"] == {
        "kubernetes.io/service-account.name": "vault-token-reviewer"
    }
    assert run.by_urn(secret.dependencies[0]).type == "kubernetes:core/v1:ServiceAccount"
    binding = run.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding").inputs
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "system:auth-delegator",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "vault-token-reviewer", "namespace": "vault"}
    ]
    config = run.one("vault:kubernetes/authBackendConfig:AuthBackendConfig")
    assert config.inputs["tokenReviewerJwt"] == REVIEWER_JWT and "tokenReviewerJwt" in config.secret_inputs


def test_an_unfilled_reviewer_secret_fails_the_update_clearly_and_a_preview_waits() -> None:
    with pytest.raises(Exception, match=r"holds no token.*kube-controller-manager"):
        run_under_mocks(lambda: k8s_auth(token_reviewer={"namespace": "vault"}))
    run_under_mocks(lambda: k8s_auth(token_reviewer={"namespace": "vault"}), preview=True)


def test_reviewer_and_reviewer_jwt_are_exclusive() -> None:
    with pytest.raises(vc.ConfigError, match=r"token_reviewer.*together with token_reviewer_jwt"):
        run_under_mocks(lambda: k8s_auth(token_reviewer={"namespace": "vault"}, token_reviewer_jwt="x"))
    with pytest.raises(vc.ConfigError, match=r"token_reviewer\.namespace"):
        run_under_mocks(lambda: k8s_auth(token_reviewer={"namespace": "Not_A_Label"}))


def approle(**spec: Any) -> vc.AppRole:
    return vc.AppRole(
        "approle",
        {"roles": {"batch": {"policies": ["p"], "namespaces": ["team-a"], **spec}}, "vault_addr": VAULT_ADDR},
        opts=providers(),
    )


def test_approle_secret_ids_expire_by_default_and_bounds_pass_through() -> None:
    run = run_under_mocks(lambda: approle())
    role = run.one("vault:appRole/authBackendRole:AuthBackendRole").inputs
    assert role["secretIdTtl"] == DEFAULT_SECRET_ID_TTL == 30 * 86400
    assert role["secretIdNumUses"] == 0
    assert "secretIdBoundCidrs" not in role and "tokenBoundCidrs" not in role
    run = run_under_mocks(
        lambda: approle(
            secret_id_ttl="2h",
            secret_id_num_uses=3,
            secret_id_bound_cidrs=["10.0.0.0/8"],
            token_bound_cidrs=["192.0.2.7/32", "2001:db8::/32"],
        )
    )
    role = run.one("vault:appRole/authBackendRole:AuthBackendRole").inputs
    assert (role["secretIdTtl"], role["secretIdNumUses"]) == (7200, 3)
    assert role["secretIdBoundCidrs"] == ["10.0.0.0/8"]
    assert role["tokenBoundCidrs"] == ["192.0.2.7/32", "2001:db8::/32"]


def test_a_finite_secret_id_is_reissued_in_each_third_of_its_life(monkeypatch: pytest.MonkeyPatch) -> None:
    def metadata(now: float, **spec: Any) -> dict[str, str]:
        monkeypatch.setattr("vaultconf.approle.time.time", lambda: now)
        run = run_under_mocks(lambda: approle(**spec))
        sid = run.one("vault:appRole/authBackendRoleSecretId:AuthBackendRoleSecretId")
        return dict(json.loads(sid.inputs["metadata"]))

    third = DEFAULT_SECRET_ID_TTL // 3
    start = 1_000 * third
    assert metadata(start) == metadata(start + third - 1)  # same third: no change, no new id
    assert metadata(start)["window"] != metadata(start + third)["window"]
    assert metadata(start, secret_id_ttl=0) == {"rotation": "0"}  # never expires: only `rotation` re-issues
    assert metadata(start + 5 * third, secret_id_ttl=0, rotation=2) == {"rotation": "2"}


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"secret_id_bound_cidrs": ["10.0.0.300/8"]}, "secret_id_bound_cidrs"),
        ({"token_bound_cidrs": "10.0.0.0/8"}, "token_bound_cidrs"),
        ({"secret_id_num_uses": -1}, "secret_id_num_uses"),
        ({"secret_id_ttl": "-1h"}, "secret_id_ttl"),
    ],
)
def test_bad_approle_bounds_are_one_clear_error(spec: dict[str, Any], field: str) -> None:
    with pytest.raises(vc.ConfigError, match=field):
        run_under_mocks(lambda: approle(**spec))


def workload(**extra: Any) -> vc.Workload:
    policy = vc.Policy("r", {"rules": {"kv/data/team-a/*": ["read"]}}, opts=providers())
    user = vc.User(
        "app", {"policies": [policy], "namespaces": ["team-a"], "vault_addr": VAULT_ADDR}, opts=providers()
    )
    secret: dict[str, Any] = {"name": "db", "type": "kv", "path": "kv/data/team-a/db"}
    secret.update(extra.pop("secret", {}))
    return vc.Workload(
        "api",
        {
            "namespace": "team-a",
            "image": "app:1",
            "sidekick_image": SIDEKICK,
            "vault_addr": VAULT_ADDR,
            "auth": user,
            "secrets": [secret],
            **extra,
        },
        opts=providers(),
    )


def test_timing_and_hook_limits_reach_the_sidekick_and_its_loader_accepts_them(tmp_path: Any) -> None:
    from sidekick import config_file as sidekick_config

    holder: dict[str, Any] = {}

    def program() -> None:
        holder["w"] = workload(
            sidekick_timing={
                "renew_fraction": 0.5,
                "safety_buffer": "1m",
                "kv_update": 90,
                "backoff_initial": "2s",
                "backoff_cap": "10m",
            },
            secret={"on_change": {"exec": ["/bin/reload"], "timeout": "30s", "debounce": "5s"}},
        )

    run = run_under_mocks(program)
    config = holder["w"].sidekick_config
    assert config["timing"] == {  # durations in seconds, typed once
        "renew_fraction": 0.5,
        "safety_buffer": 60,
        "kv_update": 90,
        "backoff_initial": 2,
        "backoff_cap": 600,
    }
    assert config["resources"][0]["on_change"] == {
        "exec": ["/bin/reload"],
        "timeout": 30,
        "debounce": 5,
    }
    for name, text in run.one("kubernetes:core/v1:ConfigMap").inputs["data"].items():
        (tmp_path / name).write_text(text)
        cfg = sidekick_config.load_file(str(tmp_path / name))
        cfg.validate()
        assert cfg.renew_fraction == 0.5 and cfg.safety_buffer == 60 and cfg.kv_update == 90
        assert cfg.backoff_initial == 2 and cfg.backoff_cap == 600
        hooks = cfg.resources[0].hooks
        assert hooks.exec_timeout == 30 and hooks.debounce == 5


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"sidekick_timing": {"renew_fraction": 0.99}}, "timing.renew_fraction"),
        ({"sidekick_timing": {"renew_fractoin": 0.5}}, "timing.renew_fractoin"),
        ({"sidekick_timing": {"backoff_cap": "soon"}}, "timing.backoff_cap"),
        ({"secret": {"on_change": {"exec": ["/x"], "timeout": "-1s"}}}, "on_change.timeout"),
        ({"secret": {"on_change": {"exec": ["/x"], "debounce": "1 second"}}}, "on_change.debounce"),
    ],
)
def test_bad_sidekick_options_are_one_clear_error(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(vc.ConfigError, match=field.replace(".", r"\.")):
        run_under_mocks(lambda: workload(**extra))


def test_workload_options_reach_the_pod() -> None:
    holder: dict[str, Any] = {}

    def program() -> None:
        holder["w"] = workload(
            ports=[8080],
            labels={"team": "a"},
            run_as_user=1234,
            kind="Job",
            backoff_limit=7,
            sidekick_resources={"requests": {"cpu": "5m", "memory": "20Mi"}, "limits": {"memory": "40Mi"}},
        )

    run = run_under_mocks(program)
    job = run.one("kubernetes:batch/v1:Job").inputs
    assert job["spec"]["backoffLimit"] == 7 and job["metadata"]["labels"]["team"] == "a"
    pod = job["spec"]["template"]["spec"]
    app = next(c for c in pod["containers"] if c["name"] == "app")
    assert (
        app["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
        and app["securityContext"]["runAsUser"] == 1234
    )
    sidekick = pod["initContainers"][0]
    assert sidekick["resources"] == {
        "requests": {"cpu": "5m", "memory": "20Mi"},
        "limits": {"memory": "40Mi"},
    }
    assert isinstance(holder["w"], pulumi.ComponentResource)
