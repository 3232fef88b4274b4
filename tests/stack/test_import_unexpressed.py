"""`vaultconf import` keeps what an adopted Vault holds instead of dropping it (issue 13).

Found by adopting a hand-made Vault outside the repo's scenario: a userpass user with `token_bound_cidrs` and
an auth mount with a description were left out of the YAML; the first preview showed a change to both, and
the first up wiped the mount's description (and a cleared `token_bound_cidrs` lets the user log in from
anywhere). The YAML now has fields for them; the import writes them, and the stack program sends them back.
"""

from __future__ import annotations

import pathlib

import yaml
from vaultconf.config import validate
from vaultconf.config.importer import import_vault

from tests.e2e.test_adopt import StubVault
from tests.stack._program import cluster_ca_pem, run_stack, stack_config

T_USER = "vault:index/userpassAuthBackendUser:UserpassAuthBackendUser"
T_AUTH = "vault:index/authBackend:AuthBackend"


def _stub() -> StubVault:
    return StubVault(cluster_ca_pem())


def _users(text: str) -> dict[str, dict]:
    return {u["name"]: u for u in yaml.safe_load(text)["users"]}


def test_a_plain_vault_writes_no_token_fields_and_no_description() -> None:
    result = import_vault(_stub())
    doc = yaml.safe_load(result.files["imported.yaml"])
    assert set(_users(result.files["imported.yaml"])["alice"]) == {"name", "adopted", "policies", "token_ttl"}
    assert "userpass_mount_description" not in doc["settings"]
    assert "description" not in doc["approle"] and "description" not in doc["kubernetes_auth"]
    assert not [n for n in result.notes if "cannot be expressed" in n or n.startswith("auth mount")]


def test_user_token_fields_are_written_and_reach_the_user(tmp_path: pathlib.Path) -> None:
    vault = _stub()
    vault.reads["auth/userpass/users/alice"] |= {
        "token_bound_cidrs": ["10.0.0.0/8", "192.0.2.7"],
        "token_num_uses": 3,
        "token_type": "batch",
        "token_period": 300,
        "token_explicit_max_ttl": "2h",
        "token_no_default_policy": True,
    }
    result = import_vault(vault)
    alice = _users(result.files["imported.yaml"])["alice"]
    assert {k: v for k, v in alice.items() if k.startswith("token_")} == {
        "token_ttl": 600,
        "token_bound_cidrs": ["10.0.0.0/8", "192.0.2.7"],
        "token_explicit_max_ttl": 7200,
        "token_no_default_policy": True,
        "token_num_uses": 3,
        "token_period": 300,
        "token_type": "batch",
    }
    assert not [n for n in result.notes if "cannot be expressed" in n]
    # the stack program sends exactly that back (the provider then compares it with what it imported)
    cfg_dir = tmp_path / "cfg"
    (cfg_dir / "base").mkdir(parents=True)
    (cfg_dir / "dev").mkdir()
    (cfg_dir / "base" / "imported.yaml").write_text(result.files["imported.yaml"], encoding="utf-8")
    checked = validate(cfg_dir, "dev")
    assert checked.config is not None and not checked.errors, [str(e) for e in checked.errors]
    run = run_stack("dev", stack_config("dev", configDir=str(cfg_dir)))
    user = next(r for r in run.resources if r.type == T_USER)
    assert {k: v for k, v in user.inputs.items() if k.startswith("token") and k != "tokenPolicies"} == {
        "tokenTtl": 600,
        "tokenBoundCidrs": ["10.0.0.0/8", "192.0.2.7"],
        "tokenExplicitMaxTtl": 7200,
        "tokenNoDefaultPolicy": True,
        "tokenNumUses": 3,
        "tokenPeriod": 300,
        "tokenType": "batch",
    }


def test_an_auth_mount_description_is_kept_verbatim(tmp_path: pathlib.Path) -> None:
    vault = _stub()
    hostile = "humans\n\x1b[31mnote: fake\x1b[0m: {a: b}"
    vault.reads["sys/auth"]["userpass/"]["description"] = hostile
    vault.reads["sys/auth"]["approle/"]["description"] = "machines"
    vault.reads["sys/auth"]["kubernetes/"]["description"] = "pods"
    result = import_vault(vault)
    text = result.files["imported.yaml"]
    assert "\x1b" not in text  # safe_dump escapes it: the file stays one printable document
    doc = yaml.safe_load(text)
    assert doc["settings"]["userpass_mount_description"] == hostile
    assert doc["approle"]["description"] == "machines" and doc["kubernetes_auth"]["description"] == "pods"
    assert not [n for n in result.notes if n.startswith("auth mount")]
    cfg_dir = tmp_path / "cfg"
    (cfg_dir / "base").mkdir(parents=True)
    (cfg_dir / "dev").mkdir()
    (cfg_dir / "base" / "imported.yaml").write_text(text, encoding="utf-8")
    run = run_stack("dev", stack_config("dev", configDir=str(cfg_dir)))
    described = {r.inputs["type"]: r.inputs.get("description") for r in run.resources if r.type == T_AUTH}
    assert described == {"userpass": hostile, "approle": "machines", "kubernetes": "pods"}
