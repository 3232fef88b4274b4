"""End to end: `pulumi preview`/`up`/`destroy` of the real infra/ program with the shipped example config,
against a real Vault dev server and a real kube-apiserver (tests/e2e/stack.py sets them up).

Implemented here: preview plans creates; `preview --policy-pack policy` passes the shipped config and blocks
a deliberately bad one; up; Vault holds the declared policies, userpass users and mounts; the API server holds
each user's credentials Secret (with the contract's keys, a password that logs in to Vault) and each
workload's Deployment/Job; the sidekick, fed from the pod spec, delivers every secret a workload declares,
also after logging in with a service-account token (TokenReview by the API server); a second up changes
nothing; bumping a rotation counter changes the password in Vault and the Secret and the running sidekick
logs in with it; removing a user from the YAML removes it from Vault and its Secrets; destroy leaves no
managed object behind.
"""

from __future__ import annotations

import base64
import configparser
import json
import os
import pathlib
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import hvac
import pytest
from vaultconf.kubernetes_auth import DEFAULT_AUDIENCE

from tests.e2e.stack import (
    OVERLAY,
    StackEnv,
    configure,
    deliver_with_sidekick,
    mount_pod,
    output_files,
    sidekick_command,
    stack_env,
)
from tests.fixtures.engines import engine_path
from tests.support.kube import SERVICE_ACCOUNT_ISSUER
from tests.support.pulumi import REQUIRED_ENGINES, ROOT, change_summary

pytestmark = [pytest.mark.engines, pytest.mark.slow]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackEnv]:
    for name in (*REQUIRED_ENGINES, "vault", "etcd", "kube-apiserver", "kube-controller-manager"):
        engine_path(name)
    with stack_env(tmp_path_factory.mktemp("stack")) as e:
        configure(e)
        yield e
        e.ws.destroy()


def _declared(env: StackEnv) -> Any:
    from vaultconf.config import validate

    cfg = validate(env.config_dir, OVERLAY).config
    assert cfg is not None
    return cfg


def _secret(env: StackEnv, namespace: str, name: str) -> dict[str, str] | None:
    path = f"/api/v1/namespaces/{namespace}/secrets/{name}"
    if not env.kube.exists(path):
        return None
    data = env.kube.get(path).get("data") or {}
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def _user_secrets(env: StackEnv, namespace: str, username: str) -> list[dict[str, str]]:
    items = env.kube.get(f"/api/v1/namespaces/{namespace}/secrets").get("items") or []
    found = []
    for item in items:
        data = {k: base64.b64decode(v).decode() for k, v in (item.get("data") or {}).items()}
        if data.get("username") == username:
            found.append(data)
    return found


def test_preview_plans_creates(env: StackEnv) -> None:
    plan = change_summary(env.ws.preview())
    assert set(plan) == {"create"} and plan["create"] > 10


POLICY_PACK = ROOT / "policy"


def _preview_with_policy_pack(env: StackEnv) -> subprocess.CompletedProcess[str]:
    if not (POLICY_PACK / "venv" / "bin" / "python").exists():
        pytest.fail(f"the policy pack's venv is missing ({POLICY_PACK / 'venv'}): run `make policy-venv`")
    return env.ws.run("preview", "--policy-pack", str(POLICY_PACK), check=False)


def test_policy_pack_passes_the_shipped_config(env: StackEnv) -> None:
    result = _preview_with_policy_pack(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"(local: {POLICY_PACK})" in result.stdout, result.stdout  # the pack ran and reported


def test_policy_pack_blocks_a_bad_config(env: StackEnv) -> None:
    """A policy granting sudo on sys/* slips past `vaultconf validate` only with validation: warn; the pack
    (run by the real engine through the language host) still blocks the preview."""
    policies = env.config_dir / "base" / "policies.yaml"
    good = policies.read_text(encoding="utf-8")
    bad = good + "\n  - name: breakglass\n    rules:\n      sys/*: [read, update, sudo]\n"
    policies.write_text(bad, encoding="utf-8")
    env.ws.config_set("vaultconf:validation", "warn")
    try:
        result = _preview_with_policy_pack(env)
    finally:
        policies.write_text(good, encoding="utf-8")
        env.ws.run("config", "rm", "vaultconf:validation")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"(local: {POLICY_PACK})" in output and "error: preview failed" in output, output
    assert "Vault policy 'breakglass' on 'sys/*': grants sudo" in output, output


def test_up_converges_vault_and_kubernetes(env: StackEnv) -> None:
    env.ws.up()
    cfg = _declared(env)
    client = env.vault.new_client()
    policies = set(client.sys.list_acl_policies()["data"]["keys"])
    assert {p.name for p in cfg.policies} <= policies
    users = set(client.list(f"auth/{cfg.userpass_mount}/users")["data"]["keys"])
    assert users == {u.name for u in cfg.users}
    mounts = client.sys.list_mounted_secrets_engines()["data"]
    for store in cfg.kv:
        assert f"{store.name}/" in mounts
    for ca in cfg.cas:
        assert f"{ca.mount or ca.name}/" in mounts

    for user in cfg.users:
        for ns in user.namespaces:
            (data,) = _user_secrets(env, ns, user.name)
            assert {"username", "password", "method", "VAULT_ADDR", "login"} <= set(data)
            assert json.loads(data["login"]) == {"username": user.name, "password": data["password"],
                                                 "method": "userpass"}
            assert data["VAULT_ADDR"] == env.vault.addr
            login = hvac.Client(url=env.vault.addr, timeout=30).auth.userpass.login(
                username=user.name, password=data["password"], mount_point=cfg.userpass_mount)
            assert set(user.policies) <= set(login["auth"]["policies"])

    for wl in cfg.workloads:
        collection = "jobs" if wl.kind == "Job" else "deployments"
        group = "batch" if wl.kind == "Job" else "apps"
        items = env.kube.get(f"/apis/{group}/v1/namespaces/{wl.namespace}/{collection}").get("items") or []
        assert any(re.search(re.escape(wl.name), i["metadata"]["name"]) for i in items), wl.name


def test_sidekick_delivers_every_workload_secret(env: StackEnv, tmp_path: pathlib.Path) -> None:
    """The sidekick, fed the workload's own Secret and rendered config, writes what the workload declares."""
    cfg = _declared(env)
    client = env.vault.new_client()
    for wl in cfg.workloads:
        got = deliver_with_sidekick(env, wl.namespace, wl.kind, wl.name, tmp_path / wl.name)
        assert got.returncode == 0, got.log
        declared = {s.name for s in wl.secrets}
        assert set(got.files) | set(got.skipped) == declared
        assert set(got.skipped) <= {s.name for s in wl.secrets if s.type == "aws"}
        assert got.skipped == []  # AWS too: Vault's AWS engine creates the IAM users in moto
        for secret in wl.secrets:
            if secret.name in got.skipped:
                continue
            path = got.files[secret.name]
            assert path.is_file(), f"{wl.name}: {secret.name} was not written ({path})"
            mode = path.stat().st_mode & 0o777
            assert mode & 0o007 == 0, f"{path.name} is readable by others: {oct(mode)}"
            if secret.mode:
                assert mode == int(secret.mode, 8), (path.name, oct(mode))
            if secret.type == "kv" and secret.format == "json":
                mount, _, rest = secret.path.partition("/data/")
                stored = client.secrets.kv.v2.read_secret_version(path=rest, mount_point=mount,
                                                                   raise_on_deleted_version=True)
                assert json.loads(path.read_text()) == stored["data"]["data"]
            if secret.type == "pki":
                assert path.read_text().startswith("-----BEGIN CERTIFICATE-----")
                assert path.with_suffix(".key").read_text().startswith("-----BEGIN")
            if secret.type == "aws":
                creds = configparser.ConfigParser(interpolation=None)
                creds.read_string(path.read_text())
                key_id = creds["default"]["aws_access_key_id"]
                secret_key = creds["default"]["aws_secret_access_key"]
                owners = [u for u in env.moto.iam_users() if key_id in env.moto.access_keys(u)]
                assert len(owners) == 1, f"{wl.name}: no IAM user in moto holds {key_id}"
                assert secret_key not in got.log
        for value in _all_values(got.output_dir):
            assert value not in got.log


def _all_values(directory: pathlib.Path) -> list[str]:
    """Secret strings the sidekick wrote (long enough to be meaningful), to check the log never has them."""
    found = []
    for f in directory.rglob("*"):
        if f.is_file() and f.suffix == ".json":
            found += [v for v in json.loads(f.read_text()).values() if isinstance(v, str) and len(v) >= 12]
    return found


def test_second_up_changes_nothing(env: StackEnv) -> None:
    assert change_summary(env.ws.up()) == {}


def _wait(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.3)


def _log_records(text: str) -> list[dict[str, Any]]:
    """The sidekick's JSON log lines."""
    records = []
    for line in text.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def test_rotation_changes_the_password_and_the_running_sidekick_logs_in_with_it(
    env: StackEnv, tmp_path: pathlib.Path
) -> None:
    cfg = _declared(env)
    (wl,) = [w for w in cfg.workloads if w.name == "billing-api"]
    assert wl.identity.kind == "user"
    user = wl.identity.name
    (before,) = _user_secrets(env, wl.namespace, user)
    mounts = mount_pod(env, wl.namespace, wl.kind, wl.name, tmp_path / "pod")
    config_file = mounts.write_config(listen="")
    log_path = tmp_path / "sidekick.log"
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(sidekick_command(config_file), stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "VAULT_TOKEN": ""})
    try:
        files = output_files(mounts.config)
        _wait("the first delivery", lambda: all(p.exists() for p in files.values()), 60)

        overlay = env.config_dir / OVERLAY / "overlay.yaml"
        text = overlay.read_text(encoding="utf-8")
        entry = f"  - name: {user}\n"
        assert entry in text, f"the {OVERLAY} overlay no longer lists {user}; update this test"
        overlay.write_text(text.replace(entry, entry + "    rotation: 1\n", 1), encoding="utf-8")
        changes = change_summary(env.ws.up())
        assert changes.get("update", 0) + changes.get("replace", 0) >= 2, changes

        (after,) = _user_secrets(env, wl.namespace, user)
        assert after["password"] != before["password"] and len(after["password"]) >= 32
        assert json.loads(after["login"])["password"] == after["password"]
        login = hvac.Client(url=env.vault.addr, timeout=30).auth.userpass.login
        with pytest.raises(hvac.exceptions.VaultError):
            login(username=user, password=before["password"], mount_point=cfg.userpass_mount)
        login(username=user, password=after["password"], mount_point=cfg.userpass_mount)

        def logins() -> int:
            records = _log_records(log_path.read_text(encoding="utf-8"))
            return sum(r.get("msg") == "logged in to Vault" for r in records)

        first = logins()
        mounts.sync_secrets()  # kubelet's update of the Secret volume
        _wait("a login with the rotated password", lambda: logins() > first, 30)
        records = _log_records(log_path.read_text(encoding="utf-8"))
        assert any(r.get("msg") == "credentials file changed; logging in again" for r in records)
        assert not [r for r in records if r.get("msg") == "Vault login failed"]
        assert proc.poll() is None, "the sidekick exited"
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    text = log_path.read_text(encoding="utf-8")
    assert before["password"] not in text and after["password"] not in text


def test_sidekick_logs_in_with_a_service_account_token(env: StackEnv, tmp_path: pathlib.Path) -> None:
    """The shipped kubernetes auth role (billing-api's ServiceAccount in billing): Vault asks the API
    server (TokenReview, the client's own token as reviewer, so the account is an auth-delegator)."""
    cfg = _declared(env)
    (role,) = [r for r in cfg.kubernetes_roles if r.name == "billing-api"]
    (wl,) = [w for w in cfg.workloads if w.name == "billing-api"]
    namespace, account = role.namespaces[0], role.service_accounts[0]
    binding = f"e2e-{account}-auth-delegator"
    env.kube.create_service_account(namespace, account)
    env.kube.bind_cluster_role(binding, "system:auth-delegator", namespace, account)
    try:
        token_file = tmp_path / "sa-token"
        # The role's audience (vaultconf's default "vault") for Vault, plus the API server's own: with no
        # dedicated reviewer, Vault presents this same token to the API server as the TokenReview bearer.
        audiences = [role.audience or DEFAULT_AUDIENCE, SERVICE_ACCOUNT_ISSUER]
        token = env.kube.request_token(namespace, account, audiences=audiences, expiration_seconds=600)
        token_file.write_text(token)
        token_file.chmod(0o600)
        auth = {"method": "kubernetes", "mount": cfg.kubernetes_mount, "role": role.name,
                "token_file": str(token_file)}
        got = deliver_with_sidekick(env, wl.namespace, wl.kind, wl.name, tmp_path / "pod", auth=auth)
        assert got.returncode == 0, got.log
        assert got.files and all(p.is_file() for p in got.files.values()), got.files
        logins = [r for r in _log_records(got.log) if r.get("msg") == "logged in to Vault"]
        assert logins and logins[0].get("method") == "kubernetes", got.log
        assert token_file.read_text() not in got.log
    finally:
        env.kube.delete(f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{binding}")


def test_removing_a_user_removes_it_from_vault_and_kubernetes(env: StackEnv) -> None:
    overlay = env.config_dir / OVERLAY / "overlay.yaml"
    text = overlay.read_text(encoding="utf-8")
    # dev-alice is declared only in the dev overlay: drop its entry.
    pattern = re.compile(r"  - name: dev-alice\n(?:    .*\n)*")
    assert pattern.search(text), "the dev overlay no longer declares dev-alice; update this test"
    overlay.write_text(pattern.sub("", text), encoding="utf-8")
    cfg = _declared(env)
    assert "dev-alice" not in {u.name for u in cfg.users}
    env.ws.up()
    client = env.vault.new_client()
    users = set(client.list(f"auth/{cfg.userpass_mount}/users")["data"]["keys"])
    assert "dev-alice" not in users
    for ns in {n for u in cfg.users for n in u.namespaces} | {"billing"}:
        assert _user_secrets(env, ns, "dev-alice") == []


def test_destroy_leaves_nothing(env: StackEnv) -> None:
    cfg = _declared(env)
    env.ws.destroy()
    client = env.vault.new_client()
    assert not ({p.name for p in cfg.policies} & set(client.sys.list_acl_policies()["data"]["keys"]))
    assert f"{cfg.userpass_mount}/" not in client.sys.list_auth_methods()["data"]
    for user in cfg.users:
        for ns in user.namespaces:
            assert _user_secrets(env, ns, user.name) == []
    assert [r for r in env.ws.resources() if r["type"] != "pulumi:pulumi:Stack"] == []
    assert env.moto.iam_users() == []  # unmounting the AWS engine revoked its leases: the users are deleted


def test_project_copy_is_isolated(env: StackEnv) -> None:
    assert env.project != pathlib.Path(__file__).resolve().parents[2]
