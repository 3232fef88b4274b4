"""A Vault configured by hand through its HTTP API, as a team would have done before vaultconf, and a snapshot
of every object in it (for "nothing changed" checks).

Plain Python: tests/e2e/test_adopt.py and tests/e2e/test_drift.py use it on a real dev Vault. Passwords and KV
data are random per run and returned to the caller (memory only).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

# Hand-written HCL, formatted the way people write it (not as vaultconf renders it): adoption must keep it.
APP_POLICY = """# billing app: read its secrets
path "kv/data/billing/*" {
    capabilities = ["read", "list"]
}
path "pki/issue/web" {
    capabilities = ["update"]
    # its own name only: unbound, any holder could get every name the role allows (docs/policy-analysis.md)
    allowed_parameters = { "common_name" = ["billing.billing.svc.cluster.local"] }
}
"""
OPS_POLICY = 'path "kv/metadata/*" {\n  capabilities = ["list"]\n}\n'
IAM_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::billing/*"}],
}

# Token parameters beyond policies and TTLs, and auth mount descriptions: adoption must keep them (issue 13:
# a cleared token_bound_cidrs would let the user log in from anywhere). The tests log in from 127.0.0.1.
USER_TOKEN_FIELDS: dict[str, dict[str, Any]] = {
    "ops": {
        "token_bound_cidrs": ["127.0.0.1/32", "10.0.0.0/8"],
        "token_explicit_max_ttl": 7200,
        "token_no_default_policy": True,
        "token_num_uses": 50,
    },
    "billing-api": {"token_period": 1800, "token_type": "service"},
}
USERPASS_DESCRIPTION = "humans and legacy apps"
APPROLE_DESCRIPTION = "batch jobs"


class Api(Protocol):
    addr: str

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        ok: tuple[int, ...] = (200, 204),
    ) -> Any: ...


@dataclass
class HandMade:
    """What was configured, with the secrets only the test knows."""

    passwords: dict[str, str] = field(default_factory=dict)
    kv_data: dict[str, dict[str, str]] = field(default_factory=dict)


def configure_by_hand(vault: Api, kube_url: str, kube_ca_pem: str) -> HandMade:
    """Policies, userpass users, KV v2 with data, PKI root + role + URLs, AWS engine + role (no AWS call),
    kubernetes auth config + role, AppRole role: every kind `vaultconf import` adopts."""
    made = HandMade()
    put = vault.request
    put("PUT", "sys/policies/acl/billing-app", {"policy": APP_POLICY})
    put("PUT", "sys/policies/acl/ops-lister", {"policy": OPS_POLICY})

    put("POST", "sys/auth/userpass", {"type": "userpass", "description": USERPASS_DESCRIPTION})
    for user, policies, ttl in (
        ("billing-api", ["billing-app"], 3600),
        ("ops", ["ops-lister", "default"], 0),
    ):
        made.passwords[user] = secrets.token_urlsafe(24)
        body: dict[str, Any] = {"password": made.passwords[user], "token_policies": policies}
        if ttl:
            body["token_ttl"] = ttl
        put("POST", f"auth/userpass/users/{user}", body | USER_TOKEN_FIELDS.get(user, {}))

    put("POST", "sys/mounts/kv", {"type": "kv", "options": {"version": "2"}, "description": "team secrets"})
    put("POST", "kv/config", {"max_versions": 5})
    for name in ("billing/db", "billing/smtp"):
        made.kv_data[name] = {"username": f"u-{secrets.token_hex(4)}", "password": secrets.token_urlsafe(16)}
        put("POST", f"kv/data/{name}", {"data": made.kv_data[name]})

    put("POST", "sys/mounts/pki", {"type": "pki", "config": {"max_lease_ttl": "87600h"}})
    put(
        "POST",
        "pki/root/generate/internal",
        {"common_name": "Hand Made Root", "ttl": "87600h", "key_type": "rsa", "key_bits": 2048},
    )
    put(
        "POST",
        "pki/config/urls",
        {
            "issuing_certificates": [f"{vault.addr}/v1/pki/ca"],
            "crl_distribution_points": [f"{vault.addr}/v1/pki/crl"],
        },
    )
    put(
        "POST",
        "pki/roles/web",
        {
            "allowed_domains": ["billing.svc.cluster.local"],
            "allow_subdomains": True,
            "allow_ip_sans": False,
            "allow_localhost": False,
            "ttl": "72h",
            "max_ttl": "720h",
            "key_type": "rsa",
            "key_bits": 2048,
        },
    )

    put("POST", "sys/mounts/aws", {"type": "aws"})
    put(
        "POST",
        "aws/config/root",
        {"access_key": "AKIAHANDMADE0000", "secret_key": "hand-made-secret-key", "region": "eu-west-1"},
    )
    put(
        "POST",
        "aws/roles/billing-s3",
        {"credential_type": "iam_user", "policy_document": json.dumps(IAM_POLICY)},
    )

    put("POST", "sys/auth/kubernetes", {"type": "kubernetes"})
    put(
        "POST",
        "auth/kubernetes/config",
        {"kubernetes_host": kube_url, "kubernetes_ca_cert": kube_ca_pem, "disable_local_ca_jwt": True},
    )
    put(
        "POST",
        "auth/kubernetes/role/billing",
        {
            "bound_service_account_names": ["billing"],
            "bound_service_account_namespaces": ["billing"],
            "token_policies": ["billing-app"],
            "token_ttl": 1200,
            "audience": "vault",
        },
    )

    put("POST", "sys/auth/approle", {"type": "approle", "description": APPROLE_DESCRIPTION})
    put(
        "POST",
        "auth/approle/role/batch",
        {"token_policies": ["ops-lister"], "token_ttl": 600, "secret_id_ttl": 0},
    )
    return made


# Every object the hand configuration made, by the path it is read at (secrets excluded: KV data is
# compared through `kv_data`, passwords through a login).
SNAPSHOT_PATHS = (
    "sys/policies/acl/billing-app",
    "sys/policies/acl/ops-lister",
    "sys/auth/userpass",
    "auth/userpass/users/billing-api",
    "auth/userpass/users/ops",
    "sys/mounts/kv",
    "kv/config",
    "sys/mounts/pki",
    "pki/cert/ca",
    "pki/config/urls",
    "pki/roles/web",
    "sys/mounts/aws",
    "aws/config/root",
    "aws/roles/billing-s3",
    "sys/auth/kubernetes",
    "auth/kubernetes/config",
    "auth/kubernetes/role/billing",
    "sys/auth/approle",
    "auth/approle/role/batch",
    "auth/approle/role/batch/role-id",
)


def snapshot(vault: Api) -> dict[str, Any]:
    """Every object above as Vault returns it (data only; request IDs and lease fields dropped)."""
    out: dict[str, Any] = {}
    for path in SNAPSHOT_PATHS:
        data = vault.request("GET", path, ok=(200, 404))
        out[path] = data.get("data", data) if isinstance(data, dict) else data
    for name in ("billing/db", "billing/smtp"):
        data = vault.request("GET", f"kv/data/{name}")["data"]
        out[f"kv/data/{name}"] = {"data": data["data"], "version": data["metadata"]["version"]}
    return out


def login(addr: str, vault: Api, user: str, password: str) -> bool:
    """Whether `user` can log in with `password` (userpass)."""
    data = vault.request(
        "POST", f"auth/userpass/login/{user}", {"password": password}, token="", ok=(200, 400, 403)
    )
    return bool(isinstance(data, dict) and (data.get("auth") or {}).get("client_token"))
