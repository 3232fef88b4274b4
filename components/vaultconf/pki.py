"""CertificateAuthority (root or intermediate PKI mount) and PkiRole (a role that issues certificates)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, TypedDict

import pulumi
import pulumi_vault as vault

from vaultconf import names
from vaultconf._base import Component, http_url, require, require_instance, start
from vaultconf.errors import ConfigError
from vaultconf.ttl import check_max, optional_ttl, ttl_string

KEY_BITS = {"rsa": (2048, 3072, 4096, 8192), "ec": (224, 256, 384, 521), "ed25519": (0,)}


def _key(args: Any, who: str, default_type: str, default_bits: int) -> tuple[str, int]:
    key_type = args.get("key_type", default_type)
    if key_type not in KEY_BITS:
        raise ConfigError(
            who, "key_type", f"unknown key type {key_type!r}", f"use one of {', '.join(KEY_BITS)}"
        )
    bits = args.get("key_bits", default_bits if key_type == default_type else KEY_BITS[key_type][0])
    if key_type == "ed25519":
        bits = 0
    if bits not in KEY_BITS[key_type]:
        raise ConfigError(
            who,
            "key_bits",
            f"{bits!r} bits is not valid for {key_type}",
            f"use one of {', '.join(map(str, KEY_BITS[key_type]))}",
        )
    return key_type, bits


class CertificateAuthorityArgs(TypedDict, total=False):
    """Arguments of `CertificateAuthority`. A root CA unless `issuer` is given."""

    path: str
    """Mount path (default: the component's name)."""
    common_name: str
    """CA certificate common name (required)."""
    issuer: CertificateAuthority
    """Sign this CA with that one (CSR → sign → set-signed): an intermediate CA."""
    ttl: int | str
    """CA certificate validity (default 10 years for a root, 5 for an intermediate)."""
    max_lease_ttl: int | str
    """Mount max lease TTL: bounds every certificate it issues (default: the CA ttl)."""
    default_lease_ttl: int | str
    """Mount default lease TTL."""
    key_type: Literal["rsa", "ec", "ed25519"]
    key_bits: int
    organization: str
    vault_addr: str
    """Public Vault address; issuing-certificate and CRL URLs are derived from it."""
    issuing_certificates: Sequence[str]
    """Explicit issuing certificate URLs (instead of derived ones)."""
    crl_distribution_points: Sequence[str]
    description: str
    """Mount description (default "vaultconf CA <common_name>")."""
    adopted: bool
    """The CA exists in Vault already (`vaultconf import`): its key cannot be read, so none is generated; the
    mount and URLs are managed, the CA certificate itself stays as it is (docs/adoption.md)."""


class CertificateAuthority(Component):
    """A PKI secrets mount holding a root CA or an intermediate CA."""

    path: str
    """The mount path (plain: roles and policies are built from it)."""
    certificate: pulumi.Output[str]
    """The CA certificate (PEM)."""
    is_root: bool

    def __init__(
        self, resource_name: str, args: CertificateAuthorityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        who = start(CertificateAuthority, resource_name, args, CertificateAuthorityArgs)
        self.path = names.mount_path(args.get("path", resource_name), who, "path")
        common_name = require(args, "common_name", who, 'set common_name, e.g. "Example Intermediate CA"')
        issuer = require_instance(args, "issuer", CertificateAuthority, who) if "issuer" in args else None
        self.is_root = issuer is None
        ttl = optional_ttl(args.get("ttl", "87600h" if self.is_root else "43800h"), who, "ttl")
        max_lease = optional_ttl(args.get("max_lease_ttl", ttl), who, "max_lease_ttl")
        default_lease = optional_ttl(args.get("default_lease_ttl"), who, "default_lease_ttl")
        check_max(default_lease, max_lease, who, "default_lease_ttl")
        key_type, key_bits = _key(args, who, "rsa", 4096 if self.is_root else 2048)
        urls = self._urls(args, who)
        super().__init__(resource_name, opts)

        mount = vault.Mount(
            self.child(names.MOUNT_CHILD),
            path=self.path,
            type="pki",
            description=args.get("description", f"vaultconf CA {common_name}"),
            max_lease_ttl_seconds=max_lease,
            default_lease_ttl_seconds=default_lease,
            opts=self.opts(),
        )
        subject = {
            "common_name": common_name,
            "organization": args.get("organization"),
            "key_type": key_type,
            "key_bits": key_bits,
        }
        if args.get("adopted", False):
            self.certificate = pulumi.Output.from_input("")  # kept in Vault; read it at <path>/ca/pem
            last: pulumi.Resource = mount
        elif issuer is None:
            root = vault.pkisecret.SecretBackendRootCert(
                self.child("root"),
                backend=mount.path,
                type="internal",
                ttl=f"{ttl}s",
                **subject,
                opts=self.opts(),
            )
            self.certificate = root.certificate
            last = root
        else:
            csr = vault.pkisecret.SecretBackendIntermediateCertRequest(
                self.child("csr"), backend=mount.path, type="internal", **subject, opts=self.opts()
            )
            signed = vault.pkisecret.SecretBackendRootSignIntermediate(
                self.child("signed"),
                backend=issuer.path,
                csr=csr.csr,
                common_name=common_name,
                organization=args.get("organization"),
                ttl=f"{ttl}s",
                format="pem_bundle",
                opts=self.opts(depends_on=[issuer]),
            )
            last = vault.pkisecret.SecretBackendIntermediateSetSigned(
                self.child("set-signed"),
                backend=mount.path,
                certificate=signed.certificate,  # pem_bundle: the cert with its issuer chain
                opts=self.opts(),
            )
            self.certificate = signed.certificate
        if urls:
            vault.pkisecret.SecretBackendConfigUrls(
                self.child(names.URLS_CHILD),
                backend=mount.path,
                issuing_certificates=urls[0],
                crl_distribution_points=urls[1],
                opts=self.opts(depends_on=[last]),
            )
        self.register_outputs({"path": self.path, "certificate": self.certificate})

    def _urls(self, args: Any, who: str) -> tuple[list[str], list[str]] | None:
        issuing = list(args.get("issuing_certificates", []))
        crl = list(args.get("crl_distribution_points", []))
        addr = args.get("vault_addr")
        if addr:
            base = f"{http_url(addr, who, 'vault_addr', 'https://vault.example:8200').rstrip('/')}/v1/{self.path}"
            issuing = issuing or [f"{base}/ca"]
            crl = crl or [f"{base}/crl"]
        return (issuing, crl) if issuing or crl else None


class PkiRoleArgs(TypedDict, total=False):
    """Arguments of `PkiRole`."""

    ca: CertificateAuthority
    """The CertificateAuthority the role issues from (required)."""
    name: str
    """Role name in Vault (default: the component's name)."""
    allowed_domains: Sequence[str]
    allow_subdomains: bool
    allow_bare_domains: bool
    allow_localhost: bool
    allow_ip_sans: bool
    allow_wildcard_certificates: bool
    """Wildcard names (*.example) in certificates (default False; Vault's own default is True)."""
    ttl: int | str
    """Default certificate TTL."""
    max_ttl: int | str
    key_type: Literal["rsa", "ec", "ed25519"]
    key_bits: int
    server_flag: bool
    """Certificates usable by servers (default True)."""
    client_flag: bool
    """Certificates usable by clients (default True)."""


class PkiRole(Component):
    """A role on a CertificateAuthority: who may get which certificates."""

    name: str
    ca_path: str
    issue_path: str
    """`<ca>/issue/<role>`: the path a workload writes to for a certificate (needs "update")."""

    def __init__(
        self, resource_name: str, args: PkiRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        who = start(PkiRole, resource_name, args, PkiRoleArgs)
        ca = require_instance(args, "ca", CertificateAuthority, who)
        self.name = names.vault_name(args.get("name", resource_name), who, "name")
        ttl = optional_ttl(args.get("ttl"), who, "ttl")
        max_ttl = optional_ttl(args.get("max_ttl"), who, "max_ttl")
        check_max(ttl, max_ttl, who, "ttl")
        key_type, key_bits = _key(args, who, "rsa", 2048)
        domains = list(args.get("allowed_domains", []))
        if not domains and not args.get("allow_localhost"):
            raise ConfigError(
                who,
                "allowed_domains",
                "empty: the role could issue nothing",
                'list domains, e.g. ["team-a.svc.cluster.local"]',
            )
        self.ca_path = ca.path
        self.issue_path = f"{ca.path}/issue/{self.name}"
        super().__init__(resource_name, opts)
        vault.pkisecret.SecretBackendRole(
            self.child(names.ROLE_CHILD),
            backend=ca.path,
            name=self.name,
            allowed_domains=domains,
            allow_subdomains=args.get("allow_subdomains", False),
            allow_bare_domains=args.get("allow_bare_domains", False),
            allow_localhost=args.get("allow_localhost", False),
            allow_ip_sans=args.get("allow_ip_sans", False),
            allow_wildcard_certificates=args.get("allow_wildcard_certificates", False),
            ttl=ttl_string(ttl, who, "ttl"),
            max_ttl=ttl_string(max_ttl, who, "max_ttl"),
            key_type=key_type,
            key_bits=key_bits,
            server_flag=args.get("server_flag", True),
            client_flag=args.get("client_flag", True),
            opts=self.opts(depends_on=[ca]),
        )
        self.register_outputs({"name": self.name, "issue_path": self.issue_path})
