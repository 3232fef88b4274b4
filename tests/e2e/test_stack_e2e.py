"""End to end: `pulumi preview`/`up`/`destroy` of the real infra/ program with the shipped example config,
against a real Vault dev server and a real kube-apiserver (tests/e2e/stack.py sets them up).

Implemented here: preview plans creates; up; Vault holds the declared policies, userpass users and mounts;
the API server holds each user's credentials Secret (with the contract's keys, a password that logs in to
Vault) and each workload's Deployment/Job; a second up changes nothing; removing a user from the YAML removes
it from Vault and its Secrets; destroy leaves no managed object behind.
"""

from __future__ import annotations

import base64
import json
import pathlib
import re
from collections.abc import Iterator
from typing import Any

import hvac
import pytest

from tests.e2e.stack import OVERLAY, StackEnv, configure, deliver_with_sidekick, stack_env
from tests.fixtures.engines import engine_path
from tests.support.pulumi import REQUIRED_ENGINES, change_summary

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


def test_project_copy_is_isolated(env: StackEnv) -> None:
    assert env.project != pathlib.Path(__file__).resolve().parents[2]
