"""The sidekick against a real Vault (`make engines`): logins, KV, PKI, leases, rotation, hooks, exits."""

from __future__ import annotations

import itertools
import json
import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest
import yaml
from sidekick.x509 import pem_validity

from tests.fixtures.engines import engine_path
from tests.sidekick import vaultkit as vk
from tests.sidekick.pg import Postgres
from tests.support.kube import KubeAPIServer
from tests.support.vault import VaultDevServer

pytestmark = pytest.mark.engines

PASSWORD = "first-Pa55word-x"


@pytest.fixture
def login_file(tmp_path: pathlib.Path) -> Callable[..., pathlib.Path]:
    def make(mount: str = "userpass", password: str = PASSWORD, name: str = "login") -> pathlib.Path:
        path = tmp_path / name
        path.write_text(json.dumps({"username": "app", "password": password, "method": "userpass"}))
        return path

    return make


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    pg = Postgres(engine_path("initdb"), engine_path("postgres"))
    try:
        yield pg
    finally:
        pg.stop()


def test_userpass_kv_v1_v2_one_shot(vault_dev: VaultDevServer, vault_path: Callable[[str], str],
                                    tmp_path: pathlib.Path) -> None:
    up, v1, v2 = vault_path("up"), vault_path("kv1"), vault_path("kv2")
    pol = vk.policy(vault_dev, vault_path("pol"))
    vk.userpass(vault_dev, up, pol, PASSWORD)
    vk.mount_kv(vault_dev, v1, 1)
    vk.mount_kv(vault_dev, v2, 2)
    vk.kv_put(vault_dev, v1, "db", {"user": "u1", "password": "v1-secret-pw"}, 1)
    vk.kv_put(vault_dev, v2, "app", {"api_key": "first-key-xx"}, 2)
    vk.kv_put(vault_dev, v2, "app", {"api_key": "second-key-x"}, 2)
    login = tmp_path / "login.yaml"  # the YAML form of the auth file, with a custom mount
    login.write_text(yaml.safe_dump({"method": "userpass", "username": "app", "password": PASSWORD,
                                     "login_path": f"/v1/auth/{up}/login"}))
    out = tmp_path / "out"
    result = vk.run_once([f"-vault={vault_dev.addr}", f"-auth={login}", f"-output={out}", "-one-shot",
                          f"-cn=secret:{v1}/db:fmt=json,file=db.json",
                          f"-cn=kv:{v2}/app:fmt=env,file=app.env",                  # v2 detected
                          f"-cn=kv:{v2}/app:fmt=json,file=pinned.json,version=1",   # pinned version
                          f"-cn=secret:{v2}/data/app:file=app.yaml"])               # README-style v2 path
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "db.json").read_text()) == {"user": "u1", "password": "v1-secret-pw"}
    assert (out / "app.env").read_text() == "API_KEY='second-key-x'\n"
    assert json.loads((out / "pinned.json").read_text()) == {"api_key": "first-key-xx"}
    assert yaml.safe_load((out / "app.yaml").read_text()) == {"api_key": "second-key-x"}
    assert (out / "db.json").stat().st_mode & 0o777 == 0o600
    for secret in (PASSWORD, "v1-secret-pw", "second-key-x", vault_dev.token):
        assert secret not in result.stderr  # JSON logs never carry secret values
    assert json.loads(result.stderr.splitlines()[0])["msg"] == "sidekick started"


def test_approle_and_token_login(vault_dev: VaultDevServer, vault_path: Callable[[str], str],
                                 tmp_path: pathlib.Path) -> None:
    ar, kv = vault_path("ar"), vault_path("kv")
    pol = vk.policy(vault_dev, vault_path("pol"))
    role_id, secret_id = vk.approle(vault_dev, ar, pol)
    vk.mount_kv(vault_dev, kv, 2)
    vk.kv_put(vault_dev, kv, "x", {"k": "approle-value"}, 2)
    (tmp_path / "role_id").write_text(role_id)
    (tmp_path / "secret_id").write_text(secret_id + "\n")
    config = tmp_path / "sidekick.yaml"
    config.write_text(yaml.safe_dump({
        "vault": {"addr": vault_dev.addr},
        "auth": {"method": "approle", "mount": ar, "role_id_file": str(tmp_path / "role_id"),
                 "secret_id_file": str(tmp_path / "secret_id")},
        "output_dir": str(tmp_path / "a"), "one_shot": True,
        "resources": [{"name": "x", "type": "kv", "path": f"{kv}/x", "format": "txt"}]}))
    result = vk.run_once([f"--config={config}"])
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "a" / "x").read_text() == "approle-value"
    # token: VAULT_TOKEN (vault-sidekick's default method)
    token = vault_dev.request("POST", "auth/token/create", {"policies": [pol], "ttl": "1h"})["auth"]
    env = vk.clean_env(VAULT_TOKEN=token["client_token"])
    result = vk.run_once([f"-vault={vault_dev.addr}", f"-output={tmp_path / 't'}", "-one-shot",
                          f"-cn=kv:{kv}/x:fmt=txt,file=x"], env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "t" / "x").read_text() == "approle-value"
    assert token["client_token"] not in result.stderr


def test_one_shot_exit_codes(vault_dev: VaultDevServer, vault_path: Callable[[str], str],
                             tmp_path: pathlib.Path, login_file: Callable[..., pathlib.Path]) -> None:
    up, kv = vault_path("up"), vault_path("kv")
    pol = vk.policy(vault_dev, vault_path("pol"))
    vk.userpass(vault_dev, up, pol, PASSWORD)
    vk.mount_kv(vault_dev, kv, 1)
    login = tmp_path / "login"
    login.write_text(json.dumps({"method": "userpass", "username": "app", "password": PASSWORD,
                                 "login_path": f"auth/{up}/login"}))
    base = [f"-vault={vault_dev.addr}", f"-auth={login}", f"-output={tmp_path / 'o'}", "-one-shot"]
    missing = vk.run_once([*base, f"-cn=secret:{kv}/nope:retries=1"])
    assert missing.returncode == 1
    last = json.loads(missing.stderr.strip().splitlines()[-1])
    assert last["msg"] == "one-shot: giving up on a resource" and "404" in last["error"]
    assert last["attempts"] == 1  # a 404 is permanent: not retried (retries=1 is for transient errors)
    login.write_text(json.dumps({"method": "userpass", "username": "app", "password": "wrong-password",
                                 "login_path": f"auth/{up}/login"}))
    denied = vk.run_once([*base, f"-cn=secret:{kv}/x"])
    assert denied.returncode == 1 and "cannot log in to Vault" in denied.stderr
    assert "wrong-password" not in denied.stderr
    bad = vk.run_once([*base, f"-cn=secret:{kv}/x:fmt=xml"])
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    unreadable = vk.run_once([f"-vault={vault_dev.addr}", f"-auth={tmp_path}/absent", f"-cn=secret:{kv}/x"])
    assert unreadable.returncode == 2 and "cannot read the authentication file" in unreadable.stderr


def _key_matches_cert(cert_pem: bytes, key_pem: bytes) -> bool:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(cert_pem)
    key = serialization.load_pem_private_key(key_pem, None)
    return cert.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]


TRAP = """
import pathlib, signal, sys, time
count = pathlib.Path(sys.argv[1])
def hup(*_):
    count.write_text(str(int(count.read_text() or 0) + 1) if count.exists() else "1")
signal.signal(signal.SIGHUP, hup)
pathlib.Path(sys.argv[2]).write_text(str(__import__("os").getpid()))
while True:
    time.sleep(1)
"""


def test_pki_reissue_short_ttl_with_hooks(vault_dev: VaultDevServer, vault_path: Callable[[str], str],
                                          tmp_path: pathlib.Path) -> None:
    pki, up = vault_path("pki"), vault_path("up")
    pol = vk.policy(vault_dev, vault_path("pol"))
    vk.userpass(vault_dev, up, pol, PASSWORD)
    vk.mount_pki(vault_dev, pki)
    trap = tmp_path / "trap.py"
    trap.write_text(TRAP)
    app = subprocess.Popen([sys.executable, str(trap), str(tmp_path / "hups"), str(tmp_path / "app.pid")])
    login = tmp_path / "login"
    login.write_text(json.dumps({"method": "userpass", "username": "app", "password": PASSWORD}))
    out = tmp_path / "tls"
    hook = tmp_path / "hook.py"
    hook.write_text("import sys, pathlib; p = pathlib.Path(sys.argv[1]); "
                    "p.write_text(p.read_text() + 'x' if p.exists() else 'x')\n")
    config = tmp_path / "sidekick.json"
    config.write_text(json.dumps({
        "vault": {"addr": vault_dev.addr}, "auth": {"method": "userpass", "mount": up, "file": str(login)},
        "output_dir": str(out), "listen": "",
        "resources": [{"name": "web", "type": "pki", "path": f"{pki}/issue/web", "format": "cert",
                       "params": {"common_name": "a.example.com", "ttl": "9s"},
                       "on_change": {"exec": [sys.executable, str(hook), str(tmp_path / "execs")],
                                     "signal": {"name": "HUP", "pidfile": str(tmp_path / "app.pid")},
                                     "debounce": "0.1s"}}]}))
    try:
        for _ in range(100):
            if (tmp_path / "app.pid").exists():
                break
            time.sleep(0.1)
        side = vk.Sidekick([f"--config={config}"], tmp_path)
        seen: dict[str, float] = {}

        def observe() -> bool:
            try:
                crt = (out / "web.crt").read_bytes()
            except FileNotFoundError:
                return False
            if crt.decode() not in seen:
                _, not_after = pem_validity(crt.decode())
                assert not_after > time.time(), "a certificate was left to expire"
                seen[crt.decode()] = not_after
            return len(seen) >= 3

        side.wait_for("three certificates", observe, timeout=60)
        assert side.stop() == 0
        # each cert (9 s) was replaced at ~2/3 of its life: at most ~6 s apart, never expired
        after = sorted(seen.values())
        assert all(b > a for a, b in itertools.pairwise(after))
        assert _key_matches_cert((out / "web.crt").read_bytes(), (out / "web.key").read_bytes())
        assert (out / "web.ca").read_text().startswith("-----BEGIN CERTIFICATE-----")
        assert side.count("secret fetched", resource="web") >= 3
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and int((tmp_path / "hups").read_text() or 0) < 3:
            time.sleep(0.1)
        assert int((tmp_path / "hups").read_text()) >= 3  # SIGHUP via the pid file on every change
        assert len((tmp_path / "execs").read_text()) >= 3  # the exec hook ran on every change
    finally:
        app.kill()
        app.wait()


def test_token_expiry_relogin_and_password_rotation(vault_dev: VaultDevServer,
                                                    vault_path: Callable[[str], str],
                                                    tmp_path: pathlib.Path) -> None:
    up, kv = vault_path("up"), vault_path("kv")
    pol = vk.policy(vault_dev, vault_path("pol"))
    vk.userpass(vault_dev, up, pol, PASSWORD, ttl="4s", max_ttl="7s")
    vk.mount_kv(vault_dev, kv, 2)
    vk.kv_put(vault_dev, kv, "cfg", {"v": "one"}, 2)
    # the credentials file as Kubernetes mounts a Secret: login -> ..data/login, ..data -> ..2026_1
    secret_dir = tmp_path / "vault-login"
    (secret_dir / "..v1").mkdir(parents=True)
    (secret_dir / "..v1" / "login").write_text(json.dumps({"username": "app", "password": PASSWORD,
                                                           "method": "userpass"}))
    (secret_dir / "..data").symlink_to("..v1")
    (secret_dir / "login").symlink_to("..data/login")
    config = tmp_path / "sidekick.yaml"
    config.write_text(yaml.safe_dump({
        "vault": {"addr": vault_dev.addr},
        "auth": {"method": "userpass", "mount": up, "file": str(secret_dir / "login")},
        "output_dir": str(tmp_path / "out"), "listen": "",
        "resources": [{"name": "cfg", "type": "kv", "path": f"{kv}/cfg", "update": "1s", "format": "json"}]}))
    side = vk.Sidekick([f"--config={config}"], tmp_path)
    try:
        # token TTL 4 s, max 7 s: renewals get capped and the sidekick logs in again, repeatedly
        side.wait_for("three logins", lambda: side.count("logged in to Vault") >= 3, timeout=60)
        assert side.count("token renewed") >= 1
        # rotate: new password in Vault, then the Secret's atomic symlink swap; revoke every old token
        new_password = "second-Pa55word-y"
        vk.set_user(vault_dev, up, pol, new_password, ttl="4s", max_ttl="7s")
        (secret_dir / "..v2").mkdir()
        (secret_dir / "..v2" / "login").write_text(json.dumps({"username": "app", "password": new_password,
                                                               "method": "userpass"}))
        (secret_dir / "..data_tmp").symlink_to("..v2")
        os.replace(secret_dir / "..data_tmp", secret_dir / "..data")
        vault_dev.request("PUT", f"sys/leases/revoke-prefix/auth/{up}/login")
        vk.kv_put(vault_dev, kv, "cfg", {"v": "two"}, 2)
        side.wait_for("the new value", lambda: json.loads((tmp_path / "out" / "cfg").read_text()) ==
                      {"v": "two"}, timeout=60)
        logins_after = side.count("logged in to Vault")
        side.wait_for("another login", lambda: side.count("logged in to Vault") > logins_after, timeout=30)
    finally:
        assert side.stop() == 0
    text = side.log_path.read_text()
    assert PASSWORD not in text and "second-Pa55word-y" not in text


def test_leased_secret_renewal_and_max_ttl(vault_dev: VaultDevServer, vault_path: Callable[[str], str],
                                           tmp_path: pathlib.Path, postgres: Postgres) -> None:
    up, db = vault_path("up"), vault_path("db")
    pol = vk.policy(vault_dev, vault_path("pol"))
    vk.userpass(vault_dev, up, pol, PASSWORD)
    vk.mount_database(vault_dev, db, postgres.url, "app", ttl="6s", max_ttl="14s")
    login = tmp_path / "login"
    login.write_text(json.dumps({"method": "userpass", "username": "app", "password": PASSWORD,
                                 "login_path": f"auth/{up}/login"}))
    out = tmp_path / "out"
    side = vk.Sidekick([f"-vault={vault_dev.addr}", f"-auth={login}", f"-output={out}", "-listen=",
                        f"-cn=database:{db}/creds/app:fmt=env,file=db.env,renew=true"], tmp_path)
    users: set[str] = set()

    def check() -> bool:
        try:
            state = json.loads((out / ".sidekick-state.json").read_text())["resources"]["db.env"]
            env = (out / "db.env").read_text()
        except (FileNotFoundError, KeyError, ValueError):
            return False
        users.add(env)
        # the lease behind the credentials on disk is alive in Vault (a tiny race at a swap is tolerated)
        if vk.lease_alive(vault_dev, state["lease_id"]) <= 0:
            time.sleep(0.3)
            state = json.loads((out / ".sidekick-state.json").read_text())["resources"]["db.env"]
            alive = vk.lease_alive(vault_dev, state["lease_id"])
            assert alive > 0, "credentials on disk outlived their lease"
        return len(users) >= 3

    try:
        side.wait_for("three credentials", check, timeout=90)
        assert side.count("lease renewed", resource="db.env") >= 2
        capped = [r for r in side.logs() if r.get("msg") == "lease renewed" and r.get("capped_by_max_ttl")]
        assert capped, "no renewal was capped by max_ttl"
    finally:
        assert side.stop() == 0


def test_readiness_metrics_and_dry_run(vault_dev: VaultDevServer, vault_path: Callable[[str], str],
                                       tmp_path: pathlib.Path) -> None:
    import urllib.request

    from tests.support.vault import free_port

    kv = vault_path("kv")
    vk.mount_kv(vault_dev, kv, 2)
    vk.kv_put(vault_dev, kv, "a", {"x": "dry-run-value"}, 2)
    env = vk.clean_env(VAULT_TOKEN=vault_dev.token)
    dry = vk.run_once([f"-vault={vault_dev.addr}", f"-output={tmp_path / 'dry'}", "-one-shot", "-dryrun",
                       f"-cn=kv:{kv}/a:fmt=json"], env=env)
    assert dry.returncode == 0 and not (tmp_path / "dry" / "a.kv").exists()
    # what would be written is named, sized and hashed; its content never reaches stdout (container logs)
    assert "dry-run-value" not in dry.stdout + dry.stderr
    assert f"{tmp_path / 'dry' / 'a.kv'} (mode 0600, " in dry.stdout and " bytes, sha256 " in dry.stdout
    port = free_port()
    side = vk.Sidekick([f"-vault={vault_dev.addr}", f"-output={tmp_path / 'o'}", f"-listen=127.0.0.1:{port}",
                        f"-cn=kv:{kv}/a:fmt=json", f"-cn=kv:{kv}/missing:fmt=json"], tmp_path, env=env)

    def fetch(path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()
        except OSError:
            return 0, ""

    try:
        side.wait_for("health", lambda: fetch("/healthz")[0] == 200, timeout=30)
        side.wait_for("a written", lambda: (tmp_path / "o" / "a.kv").exists(), timeout=30)
        assert fetch("/readyz") == (503, "not ready\n")  # the why never goes to the port ...
        logged = [json.loads(line) for line in side.log_path.read_text().splitlines()]
        why = next(line["details"] for line in logged if line["msg"] == "not ready")  # ... but to the log
        assert "missing.kv: not written yet" in why and "404" in why
        _, metrics = fetch("/metrics")
        assert 'sidekick_resource_ready{resource="missing.kv"} 0.0' in metrics
        assert 'sidekick_resource_ready{resource="a.kv"} 1.0' in metrics
        assert 'sidekick_resource_fetches_total{resource="a.kv"} 1' in metrics
        assert 'sidekick_resource_failures_total{resource="missing.kv"}' in metrics
        assert 'sidekick_vault_requests_total{outcome="client_error"}' in metrics
        vk.kv_put(vault_dev, kv, "missing", {"y": "1"}, 2)
        side.wait_for("ready", lambda: fetch("/readyz")[0] == 200, timeout=30)
    finally:
        assert side.stop() == 0


def test_kubernetes_login_with_projected_token(vault_dev: VaultDevServer, vault_path: Callable[[str], str],
                                               tmp_path: pathlib.Path, kube_apiserver: KubeAPIServer,
                                               kube_namespace: str) -> None:
    k8s, kv = vault_path("k8s"), vault_path("kv")
    pol = vk.policy(vault_dev, vault_path("pol"))
    kube_apiserver.create_service_account(kube_namespace, "app")
    vault_dev.request("POST", f"sys/auth/{k8s}", {"type": "kubernetes"})
    vault_dev.request("POST", f"auth/{k8s}/config", {
        "kubernetes_host": kube_apiserver.url, "kubernetes_ca_cert": kube_apiserver.ca_pem,
        "token_reviewer_jwt": kube_apiserver.admin_token(), "disable_local_ca_jwt": True})
    vault_dev.request("POST", f"auth/{k8s}/role/app", {
        "bound_service_account_names": ["app"], "bound_service_account_namespaces": [kube_namespace],
        "token_policies": [pol], "token_ttl": "1h"})
    vk.mount_kv(vault_dev, kv, 2)
    vk.kv_put(vault_dev, kv, "k", {"from": "kubernetes"}, 2)
    token_file = tmp_path / "token"  # what a projected service-account token volume holds
    token_file.write_text(kube_apiserver.request_token(kube_namespace, "app", expiration_seconds=3600))
    config = tmp_path / "sidekick.yaml"
    config.write_text(yaml.safe_dump({
        "vault": {"addr": vault_dev.addr},
        "auth": {"method": "kubernetes", "mount": k8s, "role": "app", "token_file": str(token_file)},
        "output_dir": str(tmp_path / "out"), "one_shot": True,
        "resources": [{"name": "k", "type": "kv", "path": f"{kv}/k"}]}))
    result = vk.run_once([f"--config={config}"])
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "out" / "k").read_text()) == {"from": "kubernetes"}
    assert token_file.read_text() not in result.stderr


def _live_logins(vault: VaultDevServer, mount: str) -> list[str]:
    """Accessors of the tokens still alive that were issued by a login on `mount`."""
    accessors = vault.request("GET", "auth/token/accessors?list=true")["data"]["keys"]
    alive = []
    for accessor in accessors:
        data = vault.request("POST", "auth/token/lookup-accessor", {"accessor": accessor},
                             ok=(200, 400, 403))
        if (data.get("data") or {}).get("path", "").startswith(f"auth/{mount}/login"):
            alive.append(accessor)
    return alive


def test_one_shot_revokes_its_token_unless_kept(vault_dev: VaultDevServer, vault_path: Callable[[str], str],
                                                tmp_path: pathlib.Path) -> None:
    up, kv = vault_path("up"), vault_path("kv")
    pol = vk.policy(vault_dev, vault_path("pol"))
    vk.userpass(vault_dev, up, pol, PASSWORD)
    vk.mount_kv(vault_dev, kv, 1)
    vk.kv_put(vault_dev, kv, "app", {"k": "revoke-test-value"}, 1)
    login = tmp_path / "login"
    login.write_text(json.dumps({"method": "userpass", "username": "app", "password": PASSWORD,
                                 "login_path": f"auth/{up}/login"}))
    base = [f"-vault={vault_dev.addr}", f"-auth={login}", f"-output={tmp_path / 'o'}", "-one-shot",
            f"-cn=secret:{kv}/app:fmt=json,file=app.json"]
    result = vk.run_once(base)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "o" / "app.json").read_text()) == {"k": "revoke-test-value"}
    assert "token revoked" in result.stderr
    assert _live_logins(vault_dev, up) == []  # Vault no longer knows the token it logged in with
    kept = vk.run_once([*base, "-keep-token"])
    assert kept.returncode == 0, kept.stderr
    assert len(_live_logins(vault_dev, up)) == 1  # handed on: still valid


def test_one_shot_wrong_password_fails_at_once(vault_dev: VaultDevServer, vault_path: Callable[[str], str],
                                               tmp_path: pathlib.Path) -> None:
    up = vault_path("up")
    vk.userpass(vault_dev, up, vk.policy(vault_dev, vault_path("pol")), PASSWORD)
    login = tmp_path / "login"
    login.write_text(json.dumps({"method": "userpass", "username": "app", "password": "Not-the-Pa55word",
                                 "login_path": f"auth/{up}/login"}))
    start = time.monotonic()
    result = vk.run_once([f"-vault={vault_dev.addr}", f"-auth={login}", f"-output={tmp_path / 'o'}",
                          "-one-shot"])  # no resources: a failed login still fails
    took = time.monotonic() - start
    assert result.returncode == 1, result.stderr
    assert took < 5.0, took
    failures = [line for line in result.stderr.splitlines() if '"Vault login failed"' in line]
    assert len(failures) == 1, result.stderr  # Vault's 400 is permanent: not retried
    assert "Not-the-Pa55word" not in result.stderr
