"""Fixtures for the fault suite: a provisioned file-storage Vault and a sidekick factory that cleans up."""

from __future__ import annotations

import pathlib
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.faults.harness import (
    COLLECTED_TEXTS,
    CREATED_SECRETS,
    Credentials,
    Provisioned,
    Sidekick,
    Watcher,
    expected_files,
    provision,
    resources,
    tempdir,
)
from tests.support.vault import VaultFileServer


class Scenario:
    """One fault scenario: Vault, what was provisioned, the credentials mount, sidekicks and watchers."""

    def __init__(self, vault: VaultFileServer, prov: Provisioned) -> None:
        self.vault = vault
        self.prov = prov
        self.dir = tempdir("faults-")
        self.creds = Credentials(self.dir / "creds", prov.username, prov.password)
        self.sidekicks: list[Sidekick] = []
        self.watchers: list[Watcher] = []

    def sidekick(self, name: str = "sk", *, otp_revoke: bool = False, timing: dict[str, Any] | None = None,
                 extra: dict[str, Any] | None = None, res: list[dict[str, Any]] | None = None,
                 out: pathlib.Path | None = None) -> Sidekick:
        work = self.dir / name
        work.mkdir(exist_ok=True)
        work.chmod(0o755)
        sk = Sidekick(work, self.vault.addr, self.creds.path,
                      res if res is not None else resources(self.prov, otp_revoke=otp_revoke),
                      timing=timing, extra=extra, out=out)
        self.sidekicks.append(sk)
        return sk

    def watch(self, sk: Sidekick) -> Watcher:
        watcher = Watcher(expected_files(sk.out))
        watcher.start()
        self.watchers.append(watcher)
        return watcher

    def close(self) -> None:
        for watcher in self.watchers:
            watcher.stop()
        for sk in self.sidekicks:
            sk.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def _scenario(vault: VaultFileServer, **kwargs: Any) -> Iterator[Scenario]:
    scenario = Scenario(vault, provision(vault, **kwargs))
    try:
        yield scenario
    finally:
        scenario.close()
        _assert_no_leak(scenario)


def _assert_no_leak(scenario: Scenario) -> None:
    """Every scenario ends with its own leak scan; tests/security scans the whole session again."""
    texts = [text for _, text in COLLECTED_TEXTS]
    leaked = sorted({s for s in CREATED_SECRETS if any(s in t for t in texts)})
    assert not leaked, f"{len(leaked)} secret values appear in sidekick logs or /metrics"


@pytest.fixture
def scenario(vault_file_server: VaultFileServer) -> Iterator[Scenario]:
    """Vault provisioned with 20 s certificates and leases; a 60 s login token."""
    yield from _scenario(vault_file_server)


@pytest.fixture
def short_token_scenario(vault_file_server: VaultFileServer) -> Iterator[Scenario]:
    """Like `scenario` but the login token lives 4 s and can be renewed up to 10 s (max_ttl)."""
    yield from _scenario(vault_file_server, token_ttl="4s", token_max_ttl="10s")


ScenarioFactory = Callable[..., Scenario]
