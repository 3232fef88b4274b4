"""`vaultconf unmanaged` / `--purge` / `import` against a small in-process fake of Vault's HTTP API.

The fake serves the read endpoints these commands use (sys/mounts, sys/auth, LIST roles/users/policies,
role reads) from a dict; the real-server contract is exercised by the e2e suite.
"""

from __future__ import annotations

import json
import pathlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import yaml
from vaultconf.config import validate
from vaultconf.config.policytext import parse_policy

from tests.stack._helpers import EXAMPLE, run_cli, write_tree

TOKEN = "s.fake-root-token"


def _state() -> dict[str, Any]:
    return {
        "sys/mounts": {
            "sys/": {"type": "system"},
            "cubbyhole/": {"type": "cubbyhole"},
            "identity/": {"type": "identity"},
            "apps/": {"type": "kv", "options": {"version": "2"}},
            "pki-root/": {"type": "pki"},
            "pki-int/": {"type": "pki"},
            "aws/": {"type": "aws"},
            "legacy/": {"type": "kv", "options": {}},
        },
        "sys/auth": {
            "token/": {"type": "token"},
            "userpass/": {"type": "userpass"},
            "kubernetes/": {"type": "kubernetes"},
            "ldap/": {"type": "ldap"},
        },
        "lists": {
            "sys/policies/acl": [
                "default",
                "root",
                "billing-reader",
                "billing-writer",
                "reports-reader",
                "reports-writer",
                "old-admin",
            ],
            "auth/userpass/users": ["billing-api", "reports-export", "dev-alice", "mallory"],
            "auth/kubernetes/role": ["billing-api", "stale-role"],
            "pki-int/roles": ["internal", "wildcard-everything"],
            "pki-root/roles": [],
            "aws/roles": ["app-s3"],
        },
        "reads": {
            "sys/policies/acl/old-admin": {
                "policy": 'path "sys/*" {\n  capabilities = ["sudo", "update"]\n}\n'
            },
            "sys/policies/acl/billing-reader": {
                "policy": 'path "apps/data/billing/*" { capabilities = ["read"] }'
            },
            "auth/userpass/users/mallory": {
                "token_policies": ["old-admin"],
                "token_ttl": 3600,
                "token_max_ttl": 0,
            },
            "pki-int/roles/internal": {
                "allowed_domains": ["internal.example"],
                "allow_subdomains": True,
                "ttl": 259200,
                "max_ttl": 2592000,
                "key_type": "ec",
                "key_bits": 256,
            },
            "aws/roles/app-s3": {
                "credential_type": "iam_user",
                "policy_document": '{"Version": "2012-10-17"}',
            },
            "aws/config/root": {"region": "eu-west-2", "access_key": "AKIAFAKE"},
            "apps/config": {"max_versions": 10, "cas_required": False},
            "auth/kubernetes/config": {"kubernetes_host": "https://kubernetes.default.svc"},
            "auth/kubernetes/role/billing-api": {
                "bound_service_account_names": ["billing-api"],
                "bound_service_account_namespaces": ["billing"],
                "token_policies": ["billing-reader"],
                "token_ttl": 3600,
            },
        },
        "deleted": [],
    }


class FakeVault(ThreadingHTTPServer):
    state: dict[str, Any]


class Handler(BaseHTTPRequestHandler):
    server: FakeVault

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, body: Any = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        if self.headers.get("X-Vault-Token") != TOKEN:
            return self._send(403, {"errors": ["permission denied"]})
        path = self.path.split("?")[0].removeprefix("/v1/").rstrip("/")
        state = self.server.state
        if self.command == "LIST":
            keys = state["lists"].get(path)
            return (
                self._send(404, {"errors": []}) if keys is None else self._send(200, {"data": {"keys": keys}})
            )
        if self.command == "DELETE":
            state["deleted"].append(path)
            return self._send(204)
        if path in ("sys/mounts", "sys/auth"):
            return self._send(200, {"data": state[path]})
        if path in state["reads"]:
            return self._send(200, {"data": state["reads"][path]})
        if path.startswith("sys/policies/acl/"):
            return self._send(200, {"data": {"policy": 'path "x/*" { capabilities = ["read"] }'}})
        return self._send(404, {"errors": []})

    do_GET = do_LIST = do_DELETE = _handle


@pytest.fixture
def fake_vault(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVault]:
    server = FakeVault(("127.0.0.1", 0), Handler)
    server.state = _state()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("VAULT_TOKEN", TOKEN)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _addr(server: FakeVault) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_unmanaged_lists_what_the_yaml_does_not_hold(fake_vault: FakeVault) -> None:
    code, out = run_cli(
        "unmanaged",
        "--vault-addr",
        _addr(fake_vault),
        "--config-dir",
        str(EXAMPLE),
        "--stack",
        "prod",
        "--format",
        "json",
    )
    found = {(i["kind"], i["name"]) for i in json.loads(out)["unmanaged"]}
    assert code == 1
    assert found == {
        ("userpass user", "auth/userpass/users/dev-alice"),  # a dev-only user is unmanaged in prod
        ("userpass user", "auth/userpass/users/mallory"),
        (
            "auth mount",
            "kubernetes (kubernetes)",
        ),  # prod declares no kubernetes roles: the mount is unmanaged
        ("pki role", "pki-int/roles/wildcard-everything"),
        ("policy", "old-admin"),
        ("auth mount", "ldap (ldap)"),
        ("mount", "legacy (kv)"),
    }
    assert fake_vault.state["deleted"] == []  # report only


def test_purge_needs_confirmation_then_deletes_inner_objects_first(
    fake_vault: FakeVault, capsys: pytest.CaptureFixture[str]
) -> None:
    args = (
        "unmanaged",
        "--vault-addr",
        _addr(fake_vault),
        "--config-dir",
        str(EXAMPLE),
        "--stack",
        "dev",
        "--purge",
    )
    code, _ = run_cli(*[a for a in args if a not in ("--stack", "dev")])
    assert code == 2 and "--purge needs --stack" in capsys.readouterr().err
    code, _ = run_cli(*args)  # stdin is not a terminal under pytest
    assert code == 2 and "needs confirmation" in capsys.readouterr().err
    assert fake_vault.state["deleted"] == []
    code, out = run_cli(*args, "--yes")
    assert code == 0, out
    deleted = fake_vault.state["deleted"]
    assert "auth/userpass/users/mallory" in deleted and "sys/policies/acl/old-admin" in deleted
    assert "auth/userpass/users/dev-alice" not in deleted  # managed in dev
    assert deleted.index("sys/policies/acl/old-admin") < deleted.index("sys/mounts/legacy")
    assert deleted.index("auth/kubernetes/role/stale-role") < deleted.index("sys/policies/acl/old-admin")


def test_token_comes_only_from_the_environment(
    fake_vault: FakeVault, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("VAULT_TOKEN")
    code, _ = run_cli("unmanaged", "--vault-addr", _addr(fake_vault), "--config-dir", str(EXAMPLE))
    assert code == 2 and "VAULT_TOKEN is not set" in capsys.readouterr().err
    monkeypatch.setenv("VAULT_TOKEN", "wrong-token-value")
    code, _ = run_cli(
        "unmanaged", "--vault-addr", _addr(fake_vault), "--config-dir", str(EXAMPLE), "--stack", "dev"
    )
    err = capsys.readouterr().err
    assert code == 2 and "HTTP 403" in err and "wrong-token-value" not in err


def test_unreachable_vault_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", TOKEN)
    code, _ = run_cli(
        "unmanaged", "--vault-addr", "http://127.0.0.1:9", "--config-dir", str(EXAMPLE), "--stack", "dev"
    )
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach Vault" in err and len(err.strip().splitlines()) == 1


def test_import_writes_valid_yaml_and_an_import_file(fake_vault: FakeVault, tmp_path: pathlib.Path) -> None:
    out_dir = tmp_path / "imported"
    code, _ = run_cli("import", "--vault-addr", _addr(fake_vault), "-o", str(out_dir), "--stack-name", "prod")
    assert code == 0
    text = (out_dir / "imported.yaml").read_text()
    assert "AKIAFAKE" not in text  # the AWS access key is never written
    doc = yaml.safe_load(text)
    mallory = next(u for u in doc["users"] if u["name"] == "mallory")
    # adopted: keeps its live password until its first rotation (docs/adoption.md)
    assert mallory == {"name": "mallory", "adopted": True, "policies": ["old-admin"], "token_ttl": 3600}
    old_admin = next(p for p in doc["policies"] if p["name"] == "old-admin")
    # hand-written text that rendered rules would rewrite is kept byte for byte (no diff on the first up)
    assert old_admin["hcl"] == fake_vault.state["reads"]["sys/policies/acl/old-admin"]["policy"]
    assert parse_policy(old_admin["hcl"]) == {"sys/*": {"capabilities": ["sudo", "update"]}}
    assert doc["pki"]["roles"][0]["allowed_domains"] == ["internal.example"]
    # adopted: the root secret key Vault holds is kept (it cannot be read back)
    assert doc["aws"]["engine"] == {"mount": "aws", "adopted": True, "region": "eu-west-2"}
    # the imported YAML is a usable config: validate finds the dangerous policy, not a schema problem
    root = write_tree(tmp_path / "cfg", {"base/imported.yaml": text})
    result = validate(root, None)
    assert not [f for f in result.errors if f.rule == "schema"], [str(f) for f in result.errors]
    assert any(f.rule == "lint-sudo" for f in result.errors)
    plan = json.loads((out_dir / "pulumi-import.json").read_text())
    entry = next(r for r in plan["resources"] if r.get("id") == "auth/userpass/users/mallory")
    assert entry["type"] == "vault:index/userpassAuthBackendUser:UserpassAuthBackendUser"
    # the parent is a component entry of the same file (pulumi import creates it), named as the stack does
    assert entry["parent"] == "user-mallory" and entry["name"] == "user-mallory-user"
    parent = next(r for r in plan["resources"] if r["name"] == entry["parent"])
    assert parent == {"type": "vaultconf:index:User", "name": "user-mallory", "component": True}
    assert plan["nameTable"]["vault"] == "urn:pulumi:prod::vaultconf::pulumi:providers:vault::vault"
    assert entry["provider"] == "vault"
