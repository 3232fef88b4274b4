"""`vaultconf unmanaged` / `--purge` / `import` against a real Vault dev server (engines: vault)."""

from __future__ import annotations

import json
import pathlib

import pytest
import yaml

from tests.stack._helpers import EXAMPLE, run_cli

pytestmark = pytest.mark.engines


@pytest.fixture
def seeded(vault_dev, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The module's dev server with some managed-looking and some stray objects."""
    v = vault_dev
    v.request(
        "POST",
        "sys/policies/acl/old-admin",
        {"policy": 'path "sys/*" {\n  capabilities = ["update", "sudo"]\n}\n'},
    )
    v.request(
        "POST",
        "sys/policies/acl/billing-reader",
        {"policy": 'path "apps/data/billing/*" { capabilities = ["read"] }'},
    )
    v.request("POST", "sys/auth/userpass", {"type": "userpass"})
    v.request(
        "POST",
        "auth/userpass/users/mallory",
        {"password": "not-a-real-pw-0123456789abcdef", "token_policies": "old-admin"},
    )
    v.request(
        "POST",
        "auth/userpass/users/billing-api",
        {"password": "not-a-real-pw-abcdef0123456789", "token_policies": "billing-reader"},
    )
    v.request("POST", "sys/mounts/apps", {"type": "kv", "options": {"version": "2"}})
    v.request("POST", "sys/mounts/pki-int", {"type": "pki"})
    v.request(
        "POST", "pki-int/roles/internal", {"allowed_domains": "internal.example", "allow_subdomains": True}
    )
    v.request("POST", "pki-int/roles/rogue", {"allowed_domains": "evil.example", "allow_subdomains": True})
    monkeypatch.setenv("VAULT_TOKEN", v.token)
    yield v
    for path in (
        "sys/auth/userpass",
        "sys/mounts/apps",
        "sys/mounts/pki-int",
        "sys/policies/acl/old-admin",
        "sys/policies/acl/billing-reader",
    ):
        v.request("DELETE", path, ok=(200, 204, 404))


def test_unmanaged_import_and_purge_on_a_real_vault(seeded, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    addr = seeded.addr
    code, out = run_cli(
        "unmanaged",
        "--vault-addr",
        addr,
        "--config-dir",
        str(EXAMPLE),
        "--stack",
        "staging",
        "--format",
        "json",
    )
    assert code == 1, out
    found = {(i["kind"], i["name"]) for i in json.loads(out)["unmanaged"]}
    assert {
        ("userpass user", "auth/userpass/users/mallory"),
        ("policy", "old-admin"),
        ("pki role", "pki-int/roles/rogue"),
        ("mount", "secret (kv)"),
    } <= found
    names = {n for _, n in found}
    assert not names & {"auth/userpass/users/billing-api", "billing-reader", "pki-int/roles/internal"}
    assert not any(n.startswith(("apps", "pki-int (")) for n in names)

    code, _ = run_cli("import", "--vault-addr", addr, "-o", str(tmp_path / "imp"))
    assert code == 0
    doc = yaml.safe_load((tmp_path / "imp" / "imported.yaml").read_text())
    assert {"name": "mallory", "policies": ["old-admin"]}.items() <= next(
        u for u in doc["users"] if u["name"] == "mallory"
    ).items()
    assert next(p for p in doc["policies"] if p["name"] == "old-admin")["rules"] == {
        "sys/*": ["update", "sudo"]
    }
    assert {r["name"] for r in doc["pki"]["roles"]} == {"internal", "rogue"}
    assert any(
        r.get("id") == "auth/userpass/users/mallory"  # component entries (parents) carry no id
        for r in json.loads((tmp_path / "imp" / "pulumi-import.json").read_text())["resources"]
    )

    code, out = run_cli(
        "unmanaged",
        "--vault-addr",
        addr,
        "--config-dir",
        str(EXAMPLE),
        "--stack",
        "staging",
        "--purge",
        "--yes",
    )
    assert code == 0, out
    seeded.request("GET", "auth/userpass/users/mallory", ok=(404,))
    seeded.request("GET", "sys/policies/acl/old-admin", ok=(404,))
    seeded.request("GET", "pki-int/roles/rogue", ok=(404,))
    seeded.request("GET", "auth/userpass/users/billing-api")  # managed: still there
    seeded.request("GET", "pki-int/roles/internal")
