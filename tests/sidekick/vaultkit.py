"""Setting up a real test Vault for the sidekick's integration tests, and running the sidekick."""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from tests.support.vault import VaultBase, VaultError

ALL = 'path "*" { capabilities = ["create", "read", "update", "delete", "list"] }'


def policy(vault: VaultBase, name: str, rules: str = ALL) -> str:
    vault.request("PUT", f"sys/policies/acl/{name}", {"policy": rules})
    return name


def userpass(vault: VaultBase, mount: str, pol: str, password: str, ttl: str = "1h",
             max_ttl: str = "24h", user: str = "app") -> None:
    vault.request("POST", f"sys/auth/{mount}", {"type": "userpass"})
    set_user(vault, mount, pol, password, ttl, max_ttl, user)


def set_user(vault: VaultBase, mount: str, pol: str, password: str, ttl: str = "1h", max_ttl: str = "24h",
             user: str = "app") -> None:
    vault.request("POST", f"auth/{mount}/users/{user}", {
        "password": password, "token_policies": [pol], "token_ttl": ttl, "token_max_ttl": max_ttl})


def approle(vault: VaultBase, mount: str, pol: str) -> tuple[str, str]:
    vault.request("POST", f"sys/auth/{mount}", {"type": "approle"})
    vault.request("POST", f"auth/{mount}/role/app", {"token_policies": [pol], "token_ttl": "1h"})
    role_id = vault.request("GET", f"auth/{mount}/role/app/role-id")["data"]["role_id"]
    secret_id = vault.request("POST", f"auth/{mount}/role/app/secret-id", {})["data"]["secret_id"]
    return role_id, secret_id


def mount_kv(vault: VaultBase, path: str, version: int) -> None:
    vault.request("POST", f"sys/mounts/{path}", {"type": "kv", "options": {"version": str(version)}})


def kv_put(vault: VaultBase, mount: str, key: str, data: dict[str, Any], version: int) -> None:
    if version == 1:
        vault.request("POST", f"{mount}/{key}", data)
        return
    deadline = time.monotonic() + 30
    while True:  # a fresh v2 mount answers "upgrading" for a moment
        try:
            vault.request("POST", f"{mount}/data/{key}", {"data": data})
            return
        except VaultError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def mount_pki(vault: VaultBase, path: str, role: str = "web", max_ttl: str = "1h") -> None:
    vault.request("POST", f"sys/mounts/{path}", {"type": "pki", "config": {"max_lease_ttl": "87600h"}})
    vault.request("POST", f"{path}/root/generate/internal", {"common_name": "Test CA", "ttl": "87600h"})
    vault.request("POST", f"{path}/roles/{role}", {"allowed_domains": "example.com", "allow_subdomains": True,
                                                   "max_ttl": max_ttl, "key_type": "ec", "key_bits": 256})


def mount_database(vault: VaultBase, path: str, pg_url: str, role: str, ttl: str, max_ttl: str) -> None:
    vault.request("POST", f"sys/mounts/{path}", {"type": "database"})
    vault.request("POST", f"{path}/config/pg", {
        "plugin_name": "postgresql-database-plugin", "connection_url": pg_url, "username": "postgres",
        "password": "unused-trust-auth", "allowed_roles": "*", "verify_connection": True})
    vault.request("POST", f"{path}/roles/{role}", {
        "db_name": "pg", "default_ttl": ttl, "max_ttl": max_ttl,
        "creation_statements": ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' "
                                "VALID UNTIL '{{expiration}}';"]})


def lease_alive(vault: VaultBase, lease_id: str) -> float:
    """Seconds the lease has left, from its expire_time (the lookup's `ttl` is whole seconds, so it reads 0
    during a live lease's last second); -1 if Vault no longer knows it."""
    status = vault.request("PUT", "sys/leases/lookup", {"lease_id": lease_id}, ok=(200, 204, 400))
    data = status.get("data") or {}
    if not data.get("expire_time"):
        return -1.0
    expires = datetime.datetime.fromisoformat(str(data["expire_time"]))
    return (expires - datetime.datetime.now(datetime.UTC)).total_seconds()


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "AUTH_"))}
    env.update(extra)
    return env


class Sidekick:
    """`python -m sidekick ARGS` in the background; JSON logs collected in a file."""

    def __init__(self, args: list[str], workdir: pathlib.Path, env: dict[str, str] | None = None) -> None:
        self.log_path = workdir / f"sidekick-{time.monotonic_ns()}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "sidekick", *args], stdout=subprocess.DEVNULL,
                                     stderr=self._log, stdin=subprocess.DEVNULL, env=env or clean_env())

    def logs(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"msg": line, "level": "raw"})
        return out

    def count(self, msg: str, **fields: Any) -> int:
        return sum(1 for r in self.logs() if r.get("msg") == msg
                   and all(r.get(k) == v for k, v in fields.items()))

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if self.proc.poll() is not None:
                raise AssertionError(f"sidekick exited ({self.proc.returncode}) waiting for {what}:\n"
                                     f"{self.log_path.read_text()[-4000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}:\n{self.log_path.read_text()[-4000:]}")
            time.sleep(0.1)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def wait(self, timeout: float = 120) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()


def run_once(args: list[str], env: dict[str, str] | None = None, timeout: float = 120
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sidekick", *args], capture_output=True, text=True,
                          timeout=timeout, env=env or clean_env())
