"""The capability table (sidekick.contract.CAPABILITIES) against a real Vault: for every type of secret, a
token holding exactly the listed capability on the path gets past Vault's ACL when the sidekick fetches it,
and a token holding every other capability is refused (403). The lint (`vaultconf validate`) and the
component library's access check read the same table, so this is the oracle for all three."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sidekick import contract
from sidekick.config import Resource
from sidekick.errors import VaultRequestError
from sidekick.sources import Sources
from sidekick.vault import VaultHttp

from tests.sidekick import vaultkit as vk
from tests.support.vault import VaultDevServer

ALL = ["create", "read", "update", "patch", "delete", "list"]


def _fetch_status(vault: VaultDevServer, res: Resource, caps: list[str], name: str) -> int:
    """The HTTP status the sidekick's fetch gets with a token holding `caps` on the path (0: success)."""
    vault.request("PUT", f"sys/policies/acl/{name}",
                  {"policy": f'path "{res.path}" {{ capabilities = {caps!r} }}'.replace("'", '"')})
    token = vault.request("POST", "auth/token/create", {"policies": [name], "ttl": "5m"})
    client = VaultHttp(vault.addr)
    client.token = token["auth"]["client_token"]
    try:
        Sources(client).fetch(res)
    except VaultRequestError as exc:
        return exc.status
    finally:
        client.close()
    return 0


def _resources(vault: VaultDevServer, unique: Callable[[str], str]) -> dict[str, Resource]:
    kv1, kv2, pki, aws = unique("kv1"), unique("kv2"), unique("pki"), unique("aws")
    vk.mount_kv(vault, kv1, 1)
    vk.mount_kv(vault, kv2, 2)
    vk.kv_put(vault, kv1, "app", {"a": "1"}, 1)
    vk.kv_put(vault, kv2, "app", {"a": "1"}, 2)
    vk.mount_pki(vault, pki, role="web")
    vault.request("POST", "sys/mounts/" + aws, {"type": "aws"})
    # endpoints nobody answers: Vault passes its ACL, then fails to reach "AWS" (not a 403)
    vault.request("POST", f"{aws}/config/root", {"access_key": "AKIAEXAMPLE", "secret_key": "s",
                                                 "region": "us-east-1", "iam_endpoint": "http://127.0.0.1:9",
                                                 "sts_endpoint": "http://127.0.0.1:9", "max_retries": 0})
    vault.request("POST", f"{aws}/roles/app", {"credential_type": "federation_token",
                                               "policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]})
    cases = {
        "kv": Resource("kv", "kv", f"{kv2}/data/app"),
        "secret": Resource("secret", "secret", f"{kv1}/app"),
        "raw": Resource("raw", "raw", f"{kv1}/app"),
        "pki": Resource("pki", "pki", f"{pki}/issue/web"),
        "write": Resource("write", "write", f"{kv1}/app"),  # exists: update (a new path needs create)
        "aws-creds": Resource("aws-creds", "aws", f"{aws}/creds/app"),
        "aws-sts": Resource("aws-sts", "aws", f"{aws}/sts/app"),
    }
    cases["kv"].kv_version = 2
    cases["pki"].params = {"common_name": "a.example.com"}
    cases["write"].params = {"value": "x"}
    cases["aws-sts"].params = {"ttl": "15m"}  # a read with params: the query
    return cases


@pytest.mark.engines
def test_each_type_needs_exactly_its_capability(vault_dev: VaultDevServer,
                                                vault_path: Callable[[str], str]) -> None:
    resources = _resources(vault_dev, vault_path)
    assert {r.type for r in resources.values()} == set(contract.CAPABILITIES)
    for label, res in resources.items():
        for cap in contract.capabilities(res.type):
            if cap == "create":  # Vault asks create, not update, of a write to a path holding nothing yet
                res = Resource(res.name, res.type, f"{res.path}-{vault_path('new')}")
                res.params = {"value": "x"}
            status = _fetch_status(vault_dev, res, [cap], vault_path(label))
            assert status != 403, (label, cap, status)  # the ACL let it through
            # past the ACL is what we learn; AWS itself is unreachable here, and a KV v1 write answers
            # 204 (no secret to write out)
            if res.type not in ("aws", "write"):
                assert status == 0, (label, cap, status)
        others = [c for c in ALL if c not in contract.capabilities(res.type)]
        assert _fetch_status(vault_dev, res, others, vault_path(label)) == 403, label
