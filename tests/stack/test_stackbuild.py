"""vaultconf.stackbuild: the typed model → component Args mapping, and the build order it relies on."""

from __future__ import annotations

from vaultconf.config import model
from vaultconf.config.tree import LocDict
from vaultconf.stackbuild import args as to
from vaultconf.stackbuild.build import _issuer_order


def test_unset_fields_are_left_to_the_component_defaults() -> None:
    user = model.User(name="alice", node=LocDict(), namespaces=["a"])
    args = to.user_args(user, "userpass", ["default"], "https://vault:8200", None)
    assert args == {
        "username": "alice",
        "mount": "userpass",
        "policies": ["default"],
        "namespaces": ["a"],
        "rotation": 0,
        "vault_addr": "https://vault:8200",
    }
    user.token_ttl, user.adopted = "1h", True
    args = to.user_args(user, "userpass", [], "https://vault:8200", None)
    assert args["token_ttl"] == "1h" and args["adopted"] is True and "token_max_ttl" not in args


def test_a_pki_role_of_any_key_type_keeps_the_component_default() -> None:
    role = model.PkiRole(name="web", node=LocDict(), ca="int", key_type="any", allow_localhost=False)
    args = to.pki_role_args(role, ca=None)  # type: ignore[arg-type]  # a stand-in: only passed through
    assert "key_type" not in args and args["allow_localhost"] is False and "ttl" not in args


def test_a_workload_secret_keeps_its_name_and_fields_end_to_end() -> None:
    secret = model.WorkloadSecret(
        name="db",
        node=LocDict(),
        type="kv",
        path="kv/data/app/db",
        update="5m",
        on_change=model.OnChange(exec=["/bin/app", "reload"], timeout=30),
    )
    assert to.sidekick_secret(secret) == {
        "name": "db",
        "type": "kv",
        "path": "kv/data/app/db",
        "update": "5m",
        "on_change": {"exec": ["/bin/app", "reload"], "timeout": 30},
    }


def test_issuers_are_built_before_the_cas_they_sign() -> None:
    cfg = model.Config(
        cas=[
            model.CertificateAuthority(name="leaf-int", node=LocDict(), issuer="int"),
            model.CertificateAuthority(name="int", node=LocDict(), issuer="root"),
            model.CertificateAuthority(name="root", node=LocDict()),
            model.CertificateAuthority(name="other", node=LocDict()),
        ]
    )
    assert [ca.name for ca in _issuer_order(cfg)] == ["root", "int", "leaf-int", "other"]
