"""Adopting a hand-made Vault (issue 13): `vaultconf import` → `vaultconf validate` → `pulumi import --file` →
`pulumi preview` shows no change to any Vault resource → `pulumi up` changes no Vault object → old passwords
still log in and the KV data is untouched.

The first test needs no engine: it runs the real stack program under mocks on the imported YAML and checks
that every entry of the import file is exactly a resource the program registers (type, name, parent).
"""

from __future__ import annotations

import base64
import json
import pathlib
from typing import Any

import pytest
from vaultconf.config import validate
from vaultconf.config.importer import import_vault

from tests.stack._program import run_stack, stack_config

# --- the import file against the program, under mocks -------------------------------------------------------

CA_PEM_PATH = "pki/cert/ca"


class StubVault:
    """Answers like Vault's API for a small hand-made configuration (read/list only, as the importer uses)."""

    def __init__(self, ca_pem: str) -> None:
        mount = {"config": {"default_lease_ttl": 0, "max_lease_ttl": 0}, "options": None, "description": ""}
        self.reads: dict[str, Any] = {
            "sys/mounts": {
                "kv/": {**mount, "type": "kv", "options": {"version": "2"}},
                "pki/": {**mount, "type": "pki"},
                "aws/": {**mount, "type": "aws"},
                "sys/": {"type": "system"},
            },
            "sys/auth": {
                "userpass/": {"type": "userpass"},
                "kubernetes/": {"type": "kubernetes"},
                "approle/": {"type": "approle"},
                "token/": {"type": "token"},
            },
            "sys/policies/acl/app": {"policy": 'path "kv/data/app/*" {\n  capabilities = ["read"]\n}\n'},
            "auth/userpass/users/alice": {"token_policies": ["app"], "token_ttl": 600},
            "kv/config": {"max_versions": 0, "cas_required": False, "delete_version_after": "0s"},
            CA_PEM_PATH: {"certificate": ca_pem},
            "pki/config/urls": {"issuing_certificates": ["http://v/pki/ca"], "crl_distribution_points": []},
            "pki/roles/web": {
                "allowed_domains": ["a.example"],
                "ttl": 3600,
                "max_ttl": 0,
                "key_type": "rsa",
                "key_bits": 2048,
                "server_flag": True,
                "client_flag": True,
            },
            "aws/config/root": {"region": "eu-west-1"},
            "aws/roles/s3": {"credential_type": "iam_user", "policy_arns": ["arn:aws:iam::1:policy/x"]},
            "auth/kubernetes/config": {"kubernetes_host": "https://k8s.example"},
            "auth/kubernetes/role/billing.app": {
                "bound_service_account_names": ["billing"],
                "bound_service_account_namespaces": ["billing"],
                "token_policies": ["app"],
                "audience": "vault",
            },
            "auth/approle/role/batch": {"token_policies": ["app"], "secret_id_ttl": 0},
        }
        self.lists = {
            "sys/policies/acl": ["app", "default", "root"],
            "auth/userpass/users": ["alice"],
            "pki/roles": ["web"],
            "aws/roles": ["s3"],
            "auth/kubernetes/role": ["billing.app"],
            "auth/approle/role": ["batch"],
        }

    def read(self, path: str) -> dict[str, Any] | None:
        return self.reads.get(path)

    def list(self, path: str) -> list[str]:
        return self.lists.get(path, [])


def _config_tree(root: pathlib.Path, imported_yaml: str) -> pathlib.Path:
    (root / "base").mkdir(parents=True)
    (root / "dev").mkdir()
    (root / "base" / "imported.yaml").write_text(imported_yaml, encoding="utf-8")
    return root


def test_import_file_names_what_the_stack_registers(tmp_path: pathlib.Path) -> None:
    from tests.stack._program import cluster_ca_pem

    result = import_vault(StubVault(cluster_ca_pem()), project="vaultconf", stack="dev")
    tree = _config_tree(tmp_path / "cfg", result.files["imported.yaml"])
    checked = validate(tree, "dev")
    assert checked.config is not None and not checked.errors, [str(e) for e in checked.errors]
    plan = json.loads(result.files["pulumi-import.json"])

    run = run_stack("dev", stack_config("dev", configDir=str(tree)))
    registered = {(r.type, r.name): r for r in run.resources}
    by_urn = {r.urn: r for r in run.resources}
    entries = {e["name"]: e for e in plan["resources"]}
    assert len(entries) == len(plan["resources"]), "names in the import file are unique"
    for entry in plan["resources"]:
        rec = registered.get((entry["type"], entry["name"]))
        assert rec is not None, f"the program registers no {entry['type']} named {entry['name']}"
        parent = by_urn.get(rec.parent)
        if "parent" in entry:
            assert parent is not None and (parent.type, parent.name) == (
                entries[entry["parent"]]["type"],
                entry["parent"],
            ), entry
        else:
            assert parent is None or parent.type == "pulumi:pulumi:Stack", entry
        if not entry.get("component"):
            # (the mock monitor spells the root stack into a top-level URN; the engine does not)
            assert (
                rec.provider_urn.replace("pulumi:pulumi:Stack$", "") == plan["nameTable"][entry["provider"]]
            )
    # every Vault object the program manages is adopted (an adopted AppRole role issues no secret ID yet)
    adopted = {(e["type"], e["name"]) for e in plan["resources"]}
    created = sorted(f"{t} {n}" for (t, n) in registered if t.startswith("vault:") and (t, n) not in adopted)
    assert created == []
    # the adopted user keeps its password: no generated one, none sent to Vault
    user = registered[("vault:index/userpassAuthBackendUser:UserpassAuthBackendUser", "user-alice-user")]
    assert "passwordWo" not in user.inputs and "passwordWoVersion" not in user.inputs
    assert ("random:index/randomPassword:RandomPassword", "user-alice-password") not in registered
    # the adopted CA is not generated again
    assert not [n for (t, n) in registered if t.endswith("SecretBackendRootCert")]
    assert any("private key cannot be read" in n for n in result.notes)
    assert any("pulumi config set --secret vaultconf:password-alice" in n for n in result.notes)


def test_adopted_user_publishes_its_secret_with_the_supplied_password_and_rotates_later(
    tmp_path: pathlib.Path,
) -> None:
    from tests.stack._program import cluster_ca_pem

    result = import_vault(StubVault(cluster_ca_pem()), project="vaultconf", stack="dev")
    text = result.files["imported.yaml"].replace(
        "- name: alice\n  adopted: true\n", "- name: alice\n  adopted: true\n  namespaces: [billing]\n"
    )
    assert "namespaces: [billing]" in text
    tree = _config_tree(tmp_path / "a", text)
    base = stack_config("dev", configDir=str(tree))
    secret_name = ("kubernetes:core/v1:Secret", "user-alice-secret-billing")
    quiet = run_stack("dev", base)
    assert secret_name not in {(r.type, r.name) for r in quiet.resources}  # no password known yet
    given = run_stack("dev", {**base, "vaultconf:password-alice": "the-current-password"})
    secret = next(r for r in given.resources if (r.type, r.name) == secret_name)
    assert base64.b64decode(secret.inputs["data"]["password"]) == b"the-current-password"
    user = next(r for r in given.resources if r.name == "user-alice-user")
    assert "passwordWo" not in user.inputs  # Vault is still not touched
    rotated_tree = _config_tree(
        tmp_path / "b",
        text.replace("- name: alice\n  adopted: true\n", "- name: alice\n  adopted: true\n  rotation: 1\n"),
    )
    rotated = run_stack("dev", stack_config("dev", configDir=str(rotated_tree)))
    user = next(r for r in rotated.resources if r.name == "user-alice-user")
    assert user.inputs["passwordWoVersion"] == 2 and user.inputs["passwordWo"]


# --- on the real engines ---------------------------------------------------------------------------------

@pytest.mark.engines
@pytest.mark.slow
def test_adopt_a_hand_made_vault(tmp_path: pathlib.Path) -> None:
    from tests.e2e.adoption import adopt_env

    with adopt_env(tmp_path) as env:
        before = env.snapshot()
        changes = vault_changes(env.ws.run("preview", "--json").stdout)
        assert not changes, changes  # every Vault resource "same" (the AWS secret key is kept, not sent)
        env.ws.up()
        after = env.snapshot()
        assert after == before, [k for k in before if before[k] != after.get(k)]
        for user, password in env.made.passwords.items():
            assert env.login(user, password), f"{user} can no longer log in with its old password"
        for name, data in env.made.kv_data.items():
            assert after[f"kv/data/{name}"] == {"data": data, "version": 1}
        again = vault_changes(env.ws.run("preview", "--json").stdout)
        assert not again, again


def vault_changes(preview_json: str) -> dict[tuple[str, str], list[str]]:
    """(type, name) → changed properties (or the operation) of every Vault resource a preview would touch."""
    out: dict[tuple[str, str], list[str]] = {}
    for step in json.loads(preview_json).get("steps", []):
        urn = step.get("urn", "")
        parts = urn.split("::")
        type_ = parts[2].split("$")[-1] if len(parts) > 3 else ""
        if step.get("op") in ("same", "read", "refresh") or not type_.startswith("vault:"):
            continue
        out[(type_, parts[3])] = sorted(step.get("diffReasons") or []) or [step.get("op", "?")]
    return out


@pytest.mark.engines
def test_import_reads_a_real_hand_made_vault(vault_dev: Any, tmp_path: pathlib.Path) -> None:
    """The importer against Vault's real answers: every kind adopted, the YAML validates clean."""
    from vaultconf.config.vault_http import VaultClient

    from tests.stack._program import cluster_ca_pem
    from tests.support.brownfield import (
        APPROLE_DESCRIPTION,
        USER_TOKEN_FIELDS,
        USERPASS_DESCRIPTION,
        configure_by_hand,
        snapshot,
    )

    configure_by_hand(vault_dev, "https://127.0.0.1:6443", cluster_ca_pem())
    before = snapshot(vault_dev)
    result = import_vault(VaultClient(vault_dev.addr, vault_dev.token), project="vaultconf", stack="dev")
    assert snapshot(vault_dev) == before  # reading changed nothing
    tree = _config_tree(tmp_path / "cfg", result.files["imported.yaml"])
    checked = validate(tree, "dev")
    assert checked.config is not None and not checked.errors, [str(e) for e in checked.errors]
    cfg = checked.config
    assert {p.name for p in cfg.policies} == {"billing-app", "ops-lister"}
    kinds = {p.name: "hcl" if p.hcl is not None else "rules" for p in cfg.policies}
    # hand-formatted text is kept as it is; text already in vaultconf's rendering becomes rules
    assert kinds == {"billing-app": "hcl", "ops-lister": "rules"}
    assert {u.name: u.adopted for u in cfg.users} == {"billing-api": True, "ops": True}
    # every token parameter and auth mount description kept (the YAML holds them; none left to a note)
    fields = {u.name: {k: getattr(u, k) for k in USER_TOKEN_FIELDS[u.name]} for u in cfg.users}
    # as Vault holds them: it stores a single-host CIDR as the bare address (what the stack must send back)
    ops = USER_TOKEN_FIELDS["ops"] | {"token_bound_cidrs": ["127.0.0.1", "10.0.0.0/8"]}
    assert fields == USER_TOKEN_FIELDS | {"ops": ops}
    assert cfg.userpass_mount_description == USERPASS_DESCRIPTION
    assert cfg.approle_mount_description == APPROLE_DESCRIPTION
    assert not [n for n in result.notes if "cannot be expressed" in n and n.startswith(("user", "auth"))]
    # (a dev server also has its own `secret/` KV v2 mount: adopted like any other)
    assert {k.name: (k.max_versions, k.description) for k in cfg.kv}["kv"] == (5, "team secrets")
    (ca,) = cfg.cas
    assert ca.adopted and ca.common_name == "Hand Made Root" and ca.issuing_certificates
    assert [(r.name, r.ttl, r.allow_ip_sans) for r in cfg.pki_roles] == [("web", 259200, False)]
    assert cfg.aws_engine is not None and cfg.aws_engine.region == "eu-west-1" and cfg.aws_engine.adopted
    assert [(r.name, r.credential_type) for r in cfg.aws_roles] == [("billing-s3", "iam_user")]
    assert [(r.name, r.audience, r.token_ttl) for r in cfg.kubernetes_roles] == [("billing", "vault", 1200)]
    assert [(r.name, r.secret_id_ttl) for r in cfg.approle_roles] == [("batch", 0)]
    plan = json.loads(result.files["pulumi-import.json"])
    ids = {e["id"] for e in plan["resources"] if "id" in e}
    assert {
        "billing-app",
        "auth/userpass/users/ops",
        "kv/config",
        "pki",
        "pki/config/urls",
        "pki/roles/web",
        "aws",
        "aws/roles/billing-s3",
        "auth/kubernetes/config",
        "auth/kubernetes/role/billing",
        "auth/approle/role/batch",
    } <= ids
