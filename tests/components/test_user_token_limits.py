"""A User's token parameters beyond policies and TTLs, and the auth mounts' descriptions (issue 13: an adopted
Vault keeps them), under the recording mocks: what the User sends, what it leaves unset, one clear error for a
bad value."""

from __future__ import annotations

from typing import Any

import pytest
import vaultconf as vc
from vaultconf.testing import run_under_mocks

from tests.components._programs import providers

T_USER = "vault:index/userpassAuthBackendUser:UserpassAuthBackendUser"
T_AUTH = "vault:index/authBackend:AuthBackend"


def user(**extra: Any) -> vc.User:
    return vc.User("app", {"policies": ["p"], **extra}, opts=providers())


def test_token_limits_reach_the_vault_user_in_seconds() -> None:
    run = run_under_mocks(
        lambda: user(
            token_bound_cidrs=["10.0.0.0/8", "2001:db8::/32"],
            token_explicit_max_ttl="2h",
            token_no_default_policy=True,
            token_num_uses=4,
            token_period="30m",
            token_type="default-service",
        )
    )
    inputs = run.one(T_USER).inputs
    assert {k: v for k, v in inputs.items() if k.startswith("token") and k != "tokenPolicies"} == {
        "tokenBoundCidrs": ["10.0.0.0/8", "2001:db8::/32"],
        "tokenExplicitMaxTtl": 7200,
        "tokenNoDefaultPolicy": True,
        "tokenNumUses": 4,
        "tokenPeriod": 1800,
        "tokenType": "default-service",
    }


def test_unset_token_limits_are_not_sent() -> None:
    inputs = run_under_mocks(lambda: user()).one(T_USER).inputs
    assert [k for k in inputs if k.startswith("token")] == ["tokenPolicies"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"token_bound_cidrs": ["10.0.0.300/8"]}, "token_bound_cidrs"),
        ({"token_bound_cidrs": "10.0.0.0/8"}, "token_bound_cidrs"),
        ({"token_type": "forever"}, "token_type"),
        ({"token_num_uses": -1}, "token_num_uses"),
        ({"token_num_uses": True}, "token_num_uses"),
        ({"token_no_default_policy": "yes"}, "token_no_default_policy"),
        ({"token_period": "-1h"}, "token_period"),
        ({"token_explicit_max_ttl": "soon"}, "token_explicit_max_ttl"),
    ],
)
def test_a_bad_token_limit_is_one_clear_error(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(vc.ConfigError, match=field):
        run_under_mocks(lambda: user(**extra))


def test_auth_mount_descriptions_reach_the_mounts() -> None:
    def program() -> None:
        user(create_mount=True, mount_description="humans")
        vc.AppRole("ar", {"description": "machines", "roles": {"r": {"policies": ["p"]}}}, opts=providers())
        vc.KubernetesAuth(
            "k8s",
            {
                "description": "pods",
                "kubernetes_host": "https://kubernetes.default.svc",
                "roles": {"a": {"service_accounts": ["a"], "namespaces": ["n"], "policies": ["p"]}},
            },
            opts=providers(),
        )

    run = run_under_mocks(program)
    described = {r.inputs["type"]: r.inputs.get("description") for r in run.of_type(T_AUTH)}
    assert described == {"userpass": "humans", "approle": "machines", "kubernetes": "pods"}
