"""moto's server mode on 127.0.0.1 as the AWS IAM/STS endpoint of a real Vault's AWS secrets engine.

`python -m moto.server` (moto[server], requirements-dev.txt) in a child process: one port serves every AWS
service (moto routes by the service name in the request's SigV4 credential scope), accepts any access key,
and keeps its state in memory. Vault's AWS engine is pointed at it with `iam_endpoint`/`sts_endpoint`
(aws/config/root; builtin/logical/aws/path_config_root.go and client.go in hashicorp/vault), so Vault
really creates, and on revocation deletes, IAM users here. `iam_users()` lets a test check both.

Plain Python (no pytest): the AWS tests, the e2e stack and `make demo` share it. The child dies with the
test process (PR_SET_PDEATHSIG) and gets no AWS_* or VAULT_* variable of the caller.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from tests.support.vault import _die_with_parent, _tail, free_port

ACCOUNT = "123456789012"  # moto's default account id
# Root keys for Vault's aws/config/root: moto checks no signature (without INITIAL_NO_AUTH_ACTION_COUNT)
ROOT_ACCESS_KEY = "AKIAMOTOROOT00000000"
ROOT_SECRET_KEY = "moto-root-secret-key-not-a-secret-000000"


class MotoError(RuntimeError):
    """moto could not be started; the message names the log to read."""


class MotoServer:
    """A running `moto.server`; `url` is the endpoint for IAM and STS alike."""

    def __init__(self, popen: subprocess.Popen[bytes], port: int, log: pathlib.Path, workdir: pathlib.Path,
                 own_workdir: bool) -> None:
        self.popen, self.port, self.log = popen, port, log
        self._workdir, self._own = workdir, own_workdir

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str) -> Any:
        """A boto3 client of SERVICE against this server (test side only: boto3 comes with moto)."""
        import boto3

        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=ROOT_ACCESS_KEY, aws_secret_access_key=ROOT_SECRET_KEY)

    def iam_users(self) -> list[str]:
        users = self.client("iam").get_paginator("list_users").paginate()
        return sorted(u["UserName"] for page in users for u in page["Users"])

    def access_keys(self, user: str) -> list[str]:
        keys = self.client("iam").list_access_keys(UserName=user)["AccessKeyMetadata"]
        return sorted(k["AccessKeyId"] for k in keys)

    def create_role(self, name: str) -> str:
        """An IAM role anyone in the account may assume; returns its ARN (for an assumed_role Vault role)."""
        trust = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",'
                 f'"Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}}}}]}}')
        role = self.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        return str(role["Role"]["Arn"])

    def running(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        if self._own:
            import shutil

            shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> MotoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _answers(port: int) -> bool:
    """True once the server answers HTTP on PORT (any status)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return sock.recv(12).startswith(b"HTTP/")
    except OSError:
        return False


def start_moto(*, workdir: pathlib.Path | None = None, timeout: float = 60.0) -> MotoServer:
    """Start moto's server on a free loopback port; MotoError if it does not answer within TIMEOUT."""
    own = workdir is None
    work = pathlib.Path(tempfile.mkdtemp(prefix="moto-")) if workdir is None else workdir
    work.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VAULT_", "MOTO_"))}
    for _ in range(3):  # the port was free a moment ago; another process may have taken it meanwhile
        port = free_port()
        log = work / f"moto-{port}.log"
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
            popen = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=fd, stderr=fd, cwd=work,
                                     preexec_fn=_die_with_parent)
        finally:
            os.close(fd)
        server = MotoServer(popen, port, log, work, own)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and popen.poll() is None:
            if _answers(port):
                return server
            time.sleep(0.1)
        in_use = popen.poll() is not None and "already in use" in _tail(log, 10)
        popen.kill()
        popen.wait(10)
        if not in_use:
            break
    raise MotoError(f"moto server did not answer on 127.0.0.1:{port} within {timeout:.0f}s; last lines of "
                    f"{log}:\n{_tail(log)}")


@contextlib.contextmanager
def moto_server(**kwargs: Any) -> Iterator[MotoServer]:
    server = start_moto(**kwargs)
    try:
        yield server
    finally:
        server.stop()


def configure_vault_aws(vault: Any, mount: str, moto: MotoServer, *, default_ttl: str = "1h",
                        max_ttl: str = "2h") -> None:
    """Mount Vault's AWS engine at MOUNT with moto as its IAM and STS endpoint (VAULT: a VaultBase)."""
    vault.request("POST", f"sys/mounts/{mount}", {
        "type": "aws", "config": {"default_lease_ttl": default_ttl, "max_lease_ttl": max_ttl}})
    vault.request("POST", f"{mount}/config/root", {
        "access_key": ROOT_ACCESS_KEY, "secret_key": ROOT_SECRET_KEY, "region": "us-east-1",
        "iam_endpoint": moto.url, "sts_endpoint": moto.url, "sts_region": "us-east-1"})
