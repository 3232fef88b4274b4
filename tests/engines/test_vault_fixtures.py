"""The Vault fixtures give a working, real server: the engines and auth methods vaultconf relies on behave."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import hvac
import hvac.exceptions
import pytest
from cryptography import x509

from tests.fixtures.engines import engine_path
from tests.support.vault import VaultDevServer, VaultError, VaultFileServer, read_audit, vault_version

pytestmark = pytest.mark.engines


def test_binary_is_a_real_vault() -> None:
    version = vault_version(engine_path("vault"))
    assert re.match(r"(Vault|OpenBao) v\d+\.\d+\.\d+", version), version


def test_dev_server_is_healthy_and_token_is_not_logged(vault_dev: VaultDevServer) -> None:
    health = vault_dev.request("GET", "sys/health")
    assert health["initialized"] is True and health["sealed"] is False
    assert vault_dev.client.is_authenticated()
    assert vault_dev.addr.startswith("http://127.0.0.1:")
    deadline = time.monotonic() + 10  # the banner is printed just after the server turns healthy
    while "Root Token" not in vault_dev.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = vault_dev.log.read_text()
    assert "Root Token: <redacted>" in log  # the dev banner was there, and filtered
    assert vault_dev.token not in log
    assert vault_dev.log.stat().st_mode & 0o077 == 0


def test_kv_v2_write_read(vault_dev: VaultDevServer, vault_path: Callable[[str], str]) -> None:
    mount = vault_path("kv")
    client = vault_dev.client
    client.sys.enable_secrets_engine("kv", path=mount, options={"version": "2"})
    client.secrets.kv.v2.create_or_update_secret("team-a/db", {"password": "s3cr3t"}, mount_point=mount)
    client.secrets.kv.v2.create_or_update_secret("team-a/db", {"password": "rotated"}, mount_point=mount)
    latest = client.secrets.kv.v2.read_secret_version("team-a/db", mount_point=mount,
                                                      raise_on_deleted_version=True)
    assert latest["data"]["data"] == {"password": "rotated"}
    assert latest["data"]["metadata"]["version"] == 2
    first = client.secrets.kv.v2.read_secret_version("team-a/db", version=1, mount_point=mount,
                                                     raise_on_deleted_version=True)
    assert first["data"]["data"] == {"password": "s3cr3t"}


def test_pki_root_role_issue(vault_dev: VaultDevServer, vault_path: Callable[[str], str]) -> None:
    mount = vault_path("pki")
    client = vault_dev.client
    client.sys.enable_secrets_engine("pki", path=mount, config={"max_lease_ttl": "87600h"})
    root = vault_dev.request("POST", f"{mount}/root/generate/internal",
                             {"common_name": "vaultconf test root", "ttl": "87600h", "key_type": "ec"})
    ca = x509.load_pem_x509_certificate(root["data"]["certificate"].encode())
    vault_dev.request("POST", f"{mount}/roles/web", {"allowed_domains": ["example.test"],
                                                     "allow_subdomains": True, "max_ttl": "72h"})
    issued = vault_dev.request("POST", f"{mount}/issue/web", {"common_name": "app.example.test",
                                                              "ttl": "1h"})["data"]
    cert = x509.load_pem_x509_certificate(issued["certificate"].encode())
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)
    assert cert.subject.rfc4514_string() == "CN=app.example.test"
    assert issued["private_key"].startswith("-----BEGIN")
    with pytest.raises(VaultError, match=r"common name .* not allowed"):
        vault_dev.request("POST", f"{mount}/issue/web", {"common_name": "evil.other.test"})


def test_userpass_login(vault_dev: VaultDevServer, vault_path: Callable[[str], str]) -> None:
    mount, policy = vault_path("userpass"), vault_path("reader")
    client = vault_dev.client
    client.sys.create_or_update_acl_policy(policy, 'path "secret/data/*" { capabilities = ["read"] }')
    client.sys.enable_auth_method("userpass", path=mount)
    vault_dev.request("POST", f"auth/{mount}/users/alice", {"password": "pw-alice", "token_policies": policy})
    anon = vault_dev.new_client(token="")
    login = anon.auth.userpass.login("alice", "pw-alice", mount_point=mount)
    assert policy in login["auth"]["policies"]
    with pytest.raises(hvac.exceptions.InvalidRequest):
        vault_dev.new_client(token="").auth.userpass.login("alice", "wrong", mount_point=mount)


def test_approle_login(vault_dev: VaultDevServer, vault_path: Callable[[str], str]) -> None:
    mount = vault_path("approle")
    client = vault_dev.client
    client.sys.enable_auth_method("approle", path=mount)
    vault_dev.request("POST", f"auth/{mount}/role/app", {"token_policies": "default", "token_ttl": "10m"})
    role_id = vault_dev.request("GET", f"auth/{mount}/role/app/role-id")["data"]["role_id"]
    secret_id = vault_dev.request("POST", f"auth/{mount}/role/app/secret-id")["data"]["secret_id"]
    login = vault_dev.request("POST", f"auth/{mount}/login", {"role_id": role_id, "secret_id": secret_id},
                              token="")
    assert login["auth"]["client_token"]
    assert login["auth"]["lease_duration"] == 600
    status = vault_dev.request("POST", f"auth/{mount}/login", {"role_id": role_id, "secret_id": "nope"},
                               token="", ok=(400, 403))
    assert status.get("errors")


def _write_kv(vault: VaultFileServer) -> None:
    vault.client.sys.enable_secrets_engine("kv", path="kv", options={"version": "2"})
    vault.client.secrets.kv.v2.create_or_update_secret("app", {"k": "v1"}, mount_point="kv")


def _read_kv(vault: VaultFileServer) -> dict[str, str]:
    data = vault.client.secrets.kv.v2.read_secret_version("app", mount_point="kv",
                                                          raise_on_deleted_version=True)
    return dict(data["data"]["data"])


def test_file_server_survives_restart_and_kill(vault_file_server: VaultFileServer) -> None:
    vault = vault_file_server
    _write_kv(vault)
    port, pid = vault.port, vault.pid
    vault.restart()
    assert vault.port == port and vault.pid != pid
    assert vault.status() == 200
    assert _read_kv(vault) == {"k": "v1"}
    vault.kill()
    assert not vault.running
    with pytest.raises(OSError):
        vault.status()
    vault.start()
    assert _read_kv(vault) == {"k": "v1"}


def test_file_server_restart_comes_back_sealed_without_unseal(vault_file_server: VaultFileServer) -> None:
    vault = vault_file_server
    _write_kv(vault)
    vault.restart(unseal=False)
    assert vault.status() == 503
    vault.unseal()
    assert _read_kv(vault) == {"k": "v1"}


def test_file_server_seal_unseal(vault_file_server: VaultFileServer) -> None:
    vault = vault_file_server
    _write_kv(vault)
    vault.seal()
    assert vault.status() == 503
    with pytest.raises(hvac.exceptions.VaultDown):
        _read_kv(vault)
    vault.unseal()
    assert vault.status() == 200
    assert _read_kv(vault) == {"k": "v1"}
    assert vault.root_token not in vault.log.read_text()


def test_file_audit_counts_requests(vault_file_server: VaultFileServer) -> None:
    vault = vault_file_server
    audit = vault.enable_file_audit()
    before = len(read_audit(audit))
    for _ in range(3):
        vault.request("GET", "sys/mounts")
    paths = [e["request"]["path"] for e in read_audit(audit)[before:]]
    assert paths.count("sys/mounts") == 3
    assert vault.root_token not in audit.read_text()  # audit logs HMAC tokens
