"""Smoke test of the real Pulumi engine built by `make engines`: CLI, Python language host, providers.

A throwaway Python program in a tmp dir, a local file backend, passphrase secrets: `up` creates the
resources, a second `up` changes nothing, `destroy` removes them. No mocks anywhere.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures.engines import engine_path
from tests.support.pulumi import Workspace, change_summary, write_project

pytestmark = [pytest.mark.engines, pytest.mark.slow]

RANDOM_PROGRAM = """\
import pulumi
import pulumi_random as random

cfg = pulumi.Config()
pw = random.RandomPassword("pw", length=40, special=False,
                           keepers={"rotation": str(cfg.get_int("rotation") or 0)})
pulumi.export("length", pw.length)
pulumi.export("password", pw.result)
"""


def test_version(pulumi_engines: dict[str, pathlib.Path]) -> None:
    import subprocess

    out = subprocess.run([str(pulumi_engines["pulumi"]), "version"], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "v3.274.1"


def test_random_password_up_noop_rotate_destroy(
    tmp_path: pathlib.Path, pulumi_workspace: Callable[..., Workspace]
) -> None:
    engine_path("pulumi-resource-random")
    ws = pulumi_workspace(write_project(tmp_path / "proj", "smoke", RANDOM_PROGRAM))
    ws.stack_init("test")

    preview = ws.preview()
    assert change_summary(preview) == {"create": 2}  # the stack and the password

    first = ws.up()
    assert change_summary(first) == {"create": 2}
    outputs = ws.outputs(show_secrets=True)
    assert outputs["length"] == 40
    assert len(outputs["password"]) == 40 and outputs["password"].isalnum()
    # The password is a secret: without --show-secrets it is masked, and the state holds it encrypted.
    assert ws.outputs()["password"] == "[secret]"
    assert outputs["password"] not in ws.export().__repr__()

    again = ws.up()
    assert change_summary(again) == {}, "a second up must change nothing"
    assert ws.outputs(show_secrets=True)["password"] == outputs["password"]

    ws.config_set("rotation", "1")
    rotated = ws.up()
    assert change_summary(rotated) == {"replace": 1}
    assert ws.outputs(show_secrets=True)["password"] != outputs["password"]

    ws.destroy()
    assert [r for r in ws.resources() if r["type"] != "pulumi:pulumi:Stack"] == []


VAULT_PROGRAM = """\
import pulumi
import pulumi_random as random
import pulumi_vault as vault

cfg = pulumi.Config()
mount = cfg.require("mount")
provider = vault.Provider("vault", address=cfg.require("address"), token=cfg.require_secret("token"))
opts = pulumi.ResourceOptions(provider=provider)

policy = vault.Policy("reader", name=f"{mount}-reader",
                      policy=f'path "secret/data/{mount}/*" {{ capabilities = ["read"] }}', opts=opts)
auth = vault.AuthBackend("userpass", type="userpass", path=mount, opts=opts)
rotation = cfg.get_int("rotation") or 0
pw = random.RandomPassword("pw", length=32, special=False, keepers={"rotation": str(rotation)})
user = vault.UserpassAuthBackendUser("alice", mount=auth.path, username="alice", password_wo=pw.result,
                                     password_wo_version=rotation + 1, token_policies=[policy.name],
                                     opts=opts)
pulumi.export("password", pw.result)
pulumi.export("accessor", auth.accessor)
"""


def _login(vault_addr: str, mount: str, password: str) -> dict[str, Any]:
    import hvac

    client = hvac.Client(url=vault_addr, timeout=30)
    return dict(client.auth.userpass.login(username="alice", password=password, mount_point=mount)["auth"])


def test_vault_policy_and_userpass_user(
    tmp_path: pathlib.Path, pulumi_workspace: Callable[..., Workspace], vault_dev: Any, vault_path: Any
) -> None:
    engine_path("pulumi-resource-random")
    engine_path("pulumi-resource-vault")
    mount = vault_path("up")
    ws = pulumi_workspace(write_project(tmp_path / "proj", "vaultsmoke", VAULT_PROGRAM))
    ws.stack_init("test")
    ws.config_set("address", vault_dev.addr)
    ws.config_set("token", vault_dev.token, secret=True)
    ws.config_set("mount", mount)

    first = ws.up()
    assert change_summary(first) == {"create": 6}  # stack, provider, policy, mount, password, user
    client = vault_dev.new_client()
    assert f"{mount}/" in client.sys.list_auth_methods()["data"]
    assert f"{mount}-reader" in client.sys.list_acl_policies()["data"]["keys"]
    password = ws.outputs(show_secrets=True)["password"]
    auth = _login(vault_dev.addr, mount, password)
    assert f"{mount}-reader" in auth["policies"]
    assert ws.outputs()["accessor"] == client.sys.list_auth_methods()["data"][f"{mount}/"]["accessor"]
    # The root token and the password never reach the state in clear text.
    exported = repr(ws.export())
    assert vault_dev.token not in exported and password not in exported

    assert change_summary(ws.up()) == {}, "a second up must change nothing"

    ws.config_set("rotation", "1")
    rotated = ws.up()
    assert change_summary(rotated) == {"replace": 1, "update": 1}  # new password, user updated in place
    new_password = ws.outputs(show_secrets=True)["password"]
    assert new_password != password
    _login(vault_dev.addr, mount, new_password)
    import hvac

    with pytest.raises(hvac.exceptions.InvalidRequest):
        _login(vault_dev.addr, mount, password)

    ws.destroy()
    assert f"{mount}/" not in client.sys.list_auth_methods()["data"]
    assert f"{mount}-reader" not in client.sys.list_acl_policies()["data"]["keys"]
