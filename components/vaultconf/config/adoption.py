"""What `vaultconf import` knows besides the walk (config/importer.py): built-in objects, the upstream type
tokens of what the components register, the notes on what cannot be adopted, and value helpers."""

from __future__ import annotations

import contextlib
from typing import Any

from vaultconf.errors import ConfigError

BUILTIN_MOUNTS = frozenset({"sys", "cubbyhole", "identity"})
BUILTIN_AUTH = frozenset({"token"})
BUILTIN_POLICIES = frozenset({"root", "default"})

# A userpass user's token parameters beyond policies and TTLs, with Vault's default (what a user read returns
# when nobody set them): `vaultconf import` writes each that differs into the user's YAML.
USER_TOKEN_DEFAULTS: dict[str, Any] = {
    "token_bound_cidrs": [],
    "token_explicit_max_ttl": 0,
    "token_no_default_policy": False,
    "token_num_uses": 0,
    "token_period": 0,
    "token_type": "default",
}

# upstream resource type tokens (pulumi-vault 7.x) of what the components register
T_POLICY = "vault:index/policy:Policy"
T_AUTH = "vault:index/authBackend:AuthBackend"
T_MOUNT = "vault:index/mount:Mount"
T_USER = "vault:index/userpassAuthBackendUser:UserpassAuthBackendUser"
T_KV_CONFIG = "vault:kv/secretBackendV2:SecretBackendV2"
T_PKI_URLS = "vault:pkiSecret/secretBackendConfigUrls:SecretBackendConfigUrls"
T_PKI_ROLE = "vault:pkiSecret/secretBackendRole:SecretBackendRole"
T_AWS = "vault:aws/secretBackend:SecretBackend"
T_AWS_ROLE = "vault:aws/secretBackendRole:SecretBackendRole"
T_K8S_CONFIG = "vault:kubernetes/authBackendConfig:AuthBackendConfig"
T_K8S_ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
T_APPROLE_ROLE = "vault:appRole/authBackendRole:AuthBackendRole"

# What cannot be adopted, or is left out, and what the first `pulumi up` does about it (docs/adoption.md).
NOTES = {
    "policy-hcl": "policy {name}: kept as its exact HCL (structured rules would rewrite the text on the "
    "first up); convert it to `rules` when you accept that change",
    "kv": "kv store {path}: its secrets and their values stay in Vault, unmanaged and untouched",
    "pki-urls": "pki {path}: no URLs configured; the first up sets them from the Vault address",
    "pki-ca": "pki {path}: the CA's private key cannot be read or adopted; `adopted: true` keeps the live CA "
    "and the stack never generates one (remove it to let Pulumi issue a new CA)",
    "pki-no-ca": "pki {path}: holds no CA yet; the first up generates one (review common_name, key_type)",
    "aws-groups": "aws role {role}: iam_groups cannot be expressed; the first up clears them",
    "aws": "aws: the root secret key cannot be read; `adopted: true` keeps the one Vault holds and never "
    "sends one. Set `pulumi config set --secret vaultconf:awsAccessKey` to the access key Vault holds "
    "(`vault read {path}/config/root`); to rotate, remove `adopted` and set vaultconf:awsSecretKey too",
    "user": "user {name}: its password cannot be read and is kept (`adopted: true`); Vault is not touched "
    "until you bump `rotation`. To publish its credentials Secret now, add `namespaces` and run "
    "`pulumi config set --secret vaultconf:{key}` with its current password",
    "kubernetes": "kubernetes auth: the CA comes from `pulumi config set vaultconf:kubernetesCaCert` and the "
    "token reviewer JWT cannot be read; set them to the current values",
    "approle": "approle role {name}: existing secret IDs cannot be read; they keep working (`adopted: "
    "true`): none is issued or published until you bump `rotation`",
    "next": "next: `pulumi up --target {provider}` (a new stack needs its provider first), then `pulumi "
    "import --file pulumi-import.json --protect=false --generate-code=false`, then `pulumi preview`",
}


def _ttl(value: Any) -> int | None:
    """Whole seconds of a live TTL (Vault answers numbers, or "0s"-style text for a few fields)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and value.strip():
        from vaultconf.ttl import parse_ttl

        with contextlib.suppress(ConfigError):
            return parse_ttl(value, "import", "ttl")
    return None


def _nonzero(value: Any) -> int | None:
    seconds = _ttl(value)
    return seconds or None


def _clean(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v is not None and v != [] and v != {}}


def _mounts(client: Any, path: str) -> dict[str, dict[str, Any]]:
    data = client.read(path) or {}
    return {k.rstrip("/"): v for k, v in data.items() if isinstance(v, dict) and "type" in v}


def _ca_subject(pem: str) -> tuple[str | None, str | None, int | None]:
    """Common name, key type and bits of a CA certificate (public data)."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
        from cryptography.x509.oid import NameOID

        cert = x509.load_pem_x509_certificate(pem.encode())
    except Exception:
        return None, None, None
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(cns[0].value) if cns else None
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return cn, "rsa", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return cn, "ec", key.curve.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return cn, "ed25519", 0
    return cn, None, None
