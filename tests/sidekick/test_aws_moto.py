"""The sidekick's AWS path end to end: a real Vault's AWS engine with moto's server (tests/support/moto.py) as
its IAM/STS endpoint. Vault really creates an IAM user (and its access key) per lease in moto; the sidekick
process fetches the keys (formats `aws` and `env`), renews the leases, replaces them at max_ttl, revokes the
replaced and, at shutdown, the current ones: each revocation deletes the user in moto. STS: an assumed_role
credential works against moto's STS as the role."""

from __future__ import annotations

import configparser
import json
import pathlib
import shlex
import subprocess
from collections.abc import Callable, Iterator

import pytest

from tests.sidekick import vaultkit as vk
from tests.support.moto import MotoServer, configure_vault_aws, start_moto
from tests.support.vault import VaultDevServer

pytestmark = pytest.mark.engines

PASSWORD = "aws-Pa55word-xyz"
POLICY_DOCUMENT = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::example-app-data/*"]}]})


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    server = start_moto()
    try:
        yield server
    finally:
        server.stop()


def _login(vault: VaultDevServer, vault_path: Callable[[str], str], tmp_path: pathlib.Path) -> pathlib.Path:
    up = vault_path("up")
    vk.userpass(vault, up, vk.policy(vault, vault_path("pol")), PASSWORD)
    login = tmp_path / "login"
    login.write_text(json.dumps({"method": "userpass", "username": "app", "password": PASSWORD,
                                 "login_path": f"auth/{up}/login"}))
    return login


def _credentials(path: pathlib.Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(path.read_text())
    return dict(parser["default"])


def _env_file(path: pathlib.Path) -> dict[str, str]:
    """The env file as a shell reads it (`set -a; . FILE` in an empty environment)."""
    if not path.exists():
        raise FileNotFoundError(path)  # bash would go on without it
    out = subprocess.run(["bash", "-c", f"set -ae; . {shlex.quote(str(path))}; env -0"], env={},
                         capture_output=True, check=True).stdout.decode()
    return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)


def _users_with_key(moto: MotoServer, key_id: str) -> list[str]:
    return [user for user in moto.iam_users() if key_id in moto.access_keys(user)]


def test_iam_user_keys_fetched_renewed_replaced_and_revoked(
        vault_dev: VaultDevServer, vault_path: Callable[[str], str], tmp_path: pathlib.Path,
        moto: MotoServer) -> None:
    aws = vault_path("aws")
    configure_vault_aws(vault_dev, aws, moto, default_ttl="6s", max_ttl="16s")
    vault_dev.request("POST", f"{aws}/roles/app", {"credential_type": "iam_user",
                                                   "policy_document": POLICY_DOCUMENT})
    before = set(moto.iam_users())
    out = tmp_path / "out"
    opts = "renew=true,revoke=true"
    side = vk.Sidekick([f"-vault={vault_dev.addr}", f"-auth={_login(vault_dev, vault_path, tmp_path)}",
                        f"-output={out}", "-listen=",
                        f"-cn=aws:{aws}/creds/app:fmt=aws,file=aws-credentials,{opts}",
                        f"-cn=aws:{aws}/creds/app:fmt=env,file=aws.env,{opts}"], tmp_path)
    seen_keys: set[str] = set()
    secrets_seen: set[str] = set()

    def on_disk() -> tuple[str, str] | None:
        try:
            creds, env = _credentials(out / "aws-credentials"), _env_file(out / "aws.env")
        except (FileNotFoundError, KeyError, configparser.Error):
            return None
        for key in (creds["aws_access_key_id"], env["ACCESS_KEY"]):
            seen_keys.add(key)
        secrets_seen.update((creds["aws_secret_access_key"], env["SECRET_KEY"]))
        return creds["aws_access_key_id"], env["ACCESS_KEY"]

    try:
        side.wait_for("both files", lambda: on_disk() is not None, timeout=60)
        first = on_disk()
        assert first is not None and first[0] != first[1]  # one lease, one IAM user per resource
        creds = _credentials(out / "aws-credentials")
        assert set(creds) == {"aws_access_key_id", "aws_secret_access_key"}  # an IAM user: no session token
        assert (out / "aws-credentials").stat().st_mode & 0o777 == 0o600
        # Vault really created the users in moto, each with the key on disk
        for key in first:
            (user,) = _users_with_key(moto, key)
            assert user not in before and user.startswith("vault-")
        # renewed (6 s leases), then replaced when max_ttl (16 s) caps them: new keys, new users
        side.wait_for("renewals", lambda: side.count("lease renewed", resource="aws-credentials") >= 1
                      and side.count("lease renewed", resource="aws.env") >= 1, timeout=30)
        side.wait_for("replaced keys", lambda: (now := on_disk()) is not None and now[0] != first[0]
                      and now[1] != first[1], timeout=45)
        # the replaced leases were revoked: their users are gone from moto (revoke=true, delay 0)
        side.wait_for("old users deleted", lambda: not _users_with_key(moto, first[0])
                      and not _users_with_key(moto, first[1]), timeout=30)
        current = on_disk()
        assert current is not None
        live = [u for k in current for u in _users_with_key(moto, k)]
        assert len(live) == 2
    finally:
        assert side.stop() == 0
    # shutdown revoked the current leases: every user Vault created is gone from moto
    assert set(moto.iam_users()) == before
    logs = side.log_path.read_text()
    assert side.count("old lease revoked") >= 4 and side.count("lease revoke failed") == 0
    for secret in secrets_seen | {PASSWORD}:
        assert secret not in logs  # keys never reach the log
    assert len(seen_keys) >= 4


def test_assumed_role_sts_credentials_one_shot(vault_dev: VaultDevServer, vault_path: Callable[[str], str],
                                               tmp_path: pathlib.Path, moto: MotoServer) -> None:
    aws = vault_path("aws")
    configure_vault_aws(vault_dev, aws, moto)
    role_arn = moto.create_role(vault_path("app-role"))
    vault_dev.request("POST", f"{aws}/roles/sts-app", {"credential_type": "assumed_role",
                                                       "role_arns": [role_arn]})
    out = tmp_path / "out"
    result = vk.run_once([f"-vault={vault_dev.addr}", f"-auth={_login(vault_dev, vault_path, tmp_path)}",
                          f"-output={out}", "-one-shot",
                          f"-cn=aws:{aws}/sts/sts-app:fmt=aws,file=sts-credentials,ttl=15m",
                          f"-cn=aws:{aws}/creds/sts-app:fmt=env,file=sts.env"])
    assert result.returncode == 0, result.stderr
    creds = _credentials(out / "sts-credentials")
    assert creds["aws_session_token"] and creds["aws_session_token"] == creds["aws_security_token"]
    env = _env_file(out / "sts.env")
    assert env["SESSION_TOKEN"] or env["SECURITY_TOKEN"]
    # the keys on disk are an assumed-role session of that role in moto's STS
    import boto3

    sts = boto3.client("sts", endpoint_url=moto.url, region_name="us-east-1",
                       aws_access_key_id=creds["aws_access_key_id"],
                       aws_secret_access_key=creds["aws_secret_access_key"],
                       aws_session_token=creds["aws_session_token"])
    arn = sts.get_caller_identity()["Arn"]
    assert ":assumed-role/" in arn and role_arn.rsplit("/", 1)[1] in arn
    for secret in (creds["aws_secret_access_key"], creds["aws_session_token"]):
        assert secret not in result.stderr and secret not in result.stdout
