"""How the sidekick revokes a lease: the lease id in the URL, so a policy can grant exactly this secret's
leases (sys/leases/revoke/<path>/*, what `vaultconf validate` advises); the body form when Vault refuses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sidekick.errors import VaultRequestError
from sidekick.sources import Sources
from sidekick.vault import VaultHttp
from vaultconf.config.rules import revoke_scope

from tests.sidekick import vaultkit as vk
from tests.support.vault import VaultDevServer


class Client:
    """Answers the URL form with `url_status` (0: accepted) and records every call."""

    def __init__(self, url_status: int = 0) -> None:
        self.url_status = url_status
        self.calls: list[tuple[str, str, Any]] = []

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> None:
        self.calls.append((method, path, body))
        if path != "sys/leases/revoke" and self.url_status:
            raise VaultRequestError(f"{method} {path}: HTTP {self.url_status}", self.url_status, path)


def test_the_lease_id_goes_in_the_url() -> None:
    client = Client()
    Sources(client).revoke("aws/creds/app-s3/AbC123")  # type: ignore[arg-type]
    assert client.calls == [("PUT", "sys/leases/revoke/aws/creds/app-s3/AbC123", None)]


@pytest.mark.parametrize("status", [403, 404, 405, 400])
def test_refused_url_form_falls_back_to_the_body(status: int) -> None:
    client = Client(status)
    Sources(client).revoke("aws/creds/app-s3/AbC123")  # type: ignore[arg-type]
    assert client.calls[-1] == ("PUT", "sys/leases/revoke", {"lease_id": "aws/creds/app-s3/AbC123"})
    assert len(client.calls) == 2


def test_a_transient_error_is_not_hidden_by_the_fallback() -> None:
    client = Client(503)
    with pytest.raises(VaultRequestError):
        Sources(client).revoke("aws/creds/app-s3/AbC123")  # type: ignore[arg-type]
    assert len(client.calls) == 1


def test_a_lease_id_with_dot_dot_never_becomes_a_url_path() -> None:
    client = Client()
    Sources(client).revoke("aws/../../sys/seal")  # type: ignore[arg-type]
    assert client.calls == [("PUT", "sys/leases/revoke", {"lease_id": "aws/../../sys/seal"})]


# --- against a real Vault: the advised grant is exactly enough -----------------------------------------


def _leased_certificate(vault: VaultDevServer, pki: str, role: str, token: str) -> str:
    """A certificate issued with `generate_lease` (a lease like any dynamic secret's): its lease id."""
    issued = vault.request("POST", f"{pki}/issue/{role}", {"common_name": "a.example.com"}, token=token)
    lease = str(issued.get("lease_id") or "")
    assert lease.startswith(f"{pki}/issue/{role}/"), issued.get("lease_id")
    return lease


@pytest.mark.engines
def test_the_scoped_grant_lets_the_sidekick_revoke_its_own_leases_only(
        vault_dev: VaultDevServer, vault_path: Callable[[str], str]) -> None:
    pki = vault_path("pki")
    vk.mount_pki(vault_dev, pki, role="web")
    for role in ("web", "other"):
        vault_dev.request("POST", f"{pki}/roles/{role}", {"generate_lease": True, "max_ttl": "1h",
                                                          "allowed_domains": "example.com",
                                                          "allow_subdomains": True})
    scope = revoke_scope(f"{pki}/issue/web")  # what `vaultconf validate` advises for this secret
    rules = (f'path "{pki}/issue/web" {{ capabilities = ["update"] }}\n'
             f'path "{scope}" {{ capabilities = ["update"] }}\n')
    vault_dev.request("PUT", f"sys/policies/acl/{pki}-app", {"policy": rules})
    token = vault_dev.request("POST", "auth/token/create", {"policies": [f"{pki}-app"], "ttl": "10m"})
    app_token = token["auth"]["client_token"]
    own = _leased_certificate(vault_dev, pki, "web", app_token)
    foreign = _leased_certificate(vault_dev, pki, "other", vault_dev.token)

    client = VaultHttp(vault_dev.addr)
    client.token = app_token
    Sources(client).revoke(own)
    assert vk.lease_alive(vault_dev, own) < 0  # gone
    with pytest.raises(VaultRequestError) as refused:
        Sources(client).revoke(foreign)  # another secret's lease: neither form is allowed
    assert refused.value.status == 403
    assert vk.lease_alive(vault_dev, foreign) > 0
