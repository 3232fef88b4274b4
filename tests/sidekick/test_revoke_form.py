"""How the sidekick revokes a lease: the lease id in the URL, so a policy can grant exactly this secret's
leases (sys/leases/revoke/<path>/*, what `vaultconf validate` advises); the body form when Vault refuses."""

from __future__ import annotations

from typing import Any

import pytest
from sidekick.errors import VaultError
from sidekick.sources import Sources


class Client:
    """Answers the URL form with `url_status` (0: accepted) and records every call."""

    def __init__(self, url_status: int = 0) -> None:
        self.url_status = url_status
        self.calls: list[tuple[str, str, Any]] = []

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> None:
        self.calls.append((method, path, body))
        if path != "sys/leases/revoke" and self.url_status:
            raise VaultError(f"{method} {path}: HTTP {self.url_status}", self.url_status, path)


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
    with pytest.raises(VaultError):
        Sources(client).revoke("aws/creds/app-s3/AbC123")  # type: ignore[arg-type]
    assert len(client.calls) == 1


def test_a_lease_id_with_dot_dot_never_becomes_a_url_path() -> None:
    client = Client()
    Sources(client).revoke("aws/../../sys/seal")  # type: ignore[arg-type]
    assert client.calls == [("PUT", "sys/leases/revoke", {"lease_id": "aws/../../sys/seal"})]
