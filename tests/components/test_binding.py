"""The one namespace / service-account binding check, shared by validate and the Workload component."""

from __future__ import annotations

import pytest
import vaultconf as vc
from vaultconf.binding import binding_problem
from vaultconf.errors import ConfigError
from vaultconf.testing import run_under_mocks

from tests.components._programs import SIDEKICK, VAULT_ADDR, providers


def test_bound_and_unbound_pods() -> None:
    # userpass / approle: only the namespaces where the credentials are published
    assert binding_problem("user", "user 'a'", ["x"], None, "x", "default", "users[a]") is None
    field, problem, fix = (
        binding_problem("user", "user 'a'", ["x"], None, "y", "default", "users[a]") or ("",) * 3
    )
    assert (field, fix) == ("namespace", "add 'y' to users[a].namespaces")
    assert problem == "user 'a' cannot be used in 'y': no credentials Secret in namespace 'y' (only in x)"
    assert "no role_id/secret_id Secret in namespace 'y'" in str(
        binding_problem("approle", "approle 'c'", ["x"], None, "y", "sa", "approle.roles[c]")
    )
    # kubernetes roles bind a namespace and a service account; "*" binds any
    k8s = ("kubernetes_role", "kubernetes role 'k'")
    assert binding_problem(*k8s, ["x"], ["app"], "x", "app", "r") is None
    assert binding_problem(*k8s, ["*"], ["*"], "y", "other", "r") is None
    assert (binding_problem(*k8s, ["x"], ["app"], "x", "other", "r") or ("",))[0] == "service_account"
    assert (binding_problem(*k8s, ["x"], ["app"], "y", "app", "r") or ("",))[0] == "namespace"
    # None: the login works anywhere (a token in a Secret the caller manages)
    assert binding_problem("token", "token", None, None, "y", "sa", "auth") is None


def test_the_workload_refuses_with_the_same_words() -> None:
    def program() -> None:
        opts = providers()
        user = vc.User("app", {"namespaces": ["team-a"], "vault_addr": VAULT_ADDR}, opts=opts)
        vc.Workload(
            "web",
            {
                "namespace": "team-b",
                "image": "nginx:1.27",
                "auth": user,
                "secrets": [{"name": "db", "type": "kv", "path": "kv/data/team-a/db"}],
                "sidekick_image": SIDEKICK,
                "vault_addr": VAULT_ADDR,
            },
            opts=opts,
        )

    with pytest.raises(
        ConfigError,
        match=r"cannot be used in 'team-b': no credentials Secret in namespace 'team-b' \(only in team-a\)",
    ):
        run_under_mocks(program)
