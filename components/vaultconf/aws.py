"""AwsSecretsEngine (an AWS secrets mount) and AwsRole (credentials Vault generates on demand)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict

import pulumi
import pulumi_vault as vault

from vaultconf import names
from vaultconf._base import Component, require, require_instance, start
from vaultconf._types import Input
from vaultconf.errors import ConfigError
from vaultconf.ttl import check_max, optional_ttl

CREDENTIAL_TYPES = ("iam_user", "assumed_role", "federation_token")


class AwsSecretsEngineArgs(TypedDict, total=False):
    """Arguments of `AwsSecretsEngine`."""

    path: str
    """Mount path (default "aws")."""
    access_key: Input[str]
    """Root access key id, from stack secrets (required)."""
    secret_key: Input[str]
    """Root secret access key, from stack secrets (required; kept secret)."""
    region: str
    iam_endpoint: str
    sts_endpoint: str
    default_lease_ttl: int | str
    max_lease_ttl: int | str
    adopted: bool
    """The engine existed before this stack (`vaultconf import`): the root secret key Vault holds is kept and
    never sent (it cannot be read back); `secret_key` is then not needed. See docs/adoption.md."""


class AwsSecretsEngine(Component):
    """An AWS secrets engine mount with its root credentials."""

    path: str

    def __init__(
        self, resource_name: str, args: AwsSecretsEngineArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        who = start(AwsSecretsEngine, resource_name, args, AwsSecretsEngineArgs)
        self.path = names.mount_path(args.get("path", "aws"), who, "path")
        access_key = require(args, "access_key", who, "pass the root access key id from stack secrets")
        adopted = bool(args.get("adopted", False))
        secret_key = None if adopted else require(
            args,
            "secret_key",
            who,
            'pass the root secret key from stack secrets (config.require_secret("awsSecretKey"))',
        )
        default_lease = optional_ttl(args.get("default_lease_ttl"), who, "default_lease_ttl")
        max_lease = optional_ttl(args.get("max_lease_ttl"), who, "max_lease_ttl")
        check_max(default_lease, max_lease, who, "default_lease_ttl")
        for field in ("iam_endpoint", "sts_endpoint"):
            url = args.get(field)
            if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
                raise ConfigError(
                    who, field, f"{url!r} is not an http(s) URL", "use e.g. https://sts.amazonaws.com"
                )
        super().__init__(resource_name, opts)
        vault.aws.SecretBackend(
            self.child(names.BACKEND_CHILD),
            path=self.path,
            access_key=access_key,
            secret_key=None if secret_key is None else pulumi.Output.secret(secret_key),
            region=args.get("region"),
            iam_endpoint=args.get("iam_endpoint"),
            sts_endpoint=args.get("sts_endpoint"),
            default_lease_ttl_seconds=default_lease,
            max_lease_ttl_seconds=max_lease,
            opts=self.opts(),
        )
        self.register_outputs({"path": self.path})


class AwsRoleArgs(TypedDict, total=False):
    """Arguments of `AwsRole`."""

    engine: AwsSecretsEngine
    """The engine the role belongs to (required)."""
    name: str
    """Role name in Vault (default: the component's name)."""
    credential_type: Literal["iam_user", "assumed_role", "federation_token"]
    policy_document: str | Mapping[str, Any]
    """IAM policy (JSON text or a mapping)."""
    policy_arns: Sequence[str]
    role_arns: Sequence[str]
    """assumed_role: the roles Vault may assume."""
    iam_groups: Sequence[str]
    default_sts_ttl: int | str
    max_sts_ttl: int | str


class AwsRole(Component):
    """An AWS secrets engine role."""

    name: str
    creds_path: str
    """Where a workload reads credentials: `<engine>/creds/<role>` (iam_user) or `<engine>/sts/<role>`."""

    def __init__(
        self, resource_name: str, args: AwsRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        who = start(AwsRole, resource_name, args, AwsRoleArgs)
        engine = require_instance(args, "engine", AwsSecretsEngine, who)
        self.name = names.vault_name(args.get("name", resource_name), who, "name")
        credential_type = args.get("credential_type", "iam_user")
        if credential_type not in CREDENTIAL_TYPES:
            raise ConfigError(
                who,
                "credential_type",
                f"unknown credential type {credential_type!r}",
                f"use one of {', '.join(CREDENTIAL_TYPES)}",
            )
        document = args.get("policy_document")
        if isinstance(document, Mapping):
            document = json.dumps(document, sort_keys=True)
        elif isinstance(document, str):
            try:
                json.loads(document)
            except ValueError as exc:
                raise ConfigError(
                    who,
                    "policy_document",
                    "is not valid JSON",
                    "give the IAM policy as JSON text or a mapping",
                ) from exc
        role_arns = list(args.get("role_arns", []))
        policy_arns = list(args.get("policy_arns", []))
        if credential_type == "assumed_role" and not role_arns:
            raise ConfigError(
                who,
                "role_arns",
                "an assumed_role role needs the roles to assume",
                'list them, e.g. ["arn:aws:iam::123456789012:role/app"]',
            )
        if credential_type != "assumed_role" and not (document or policy_arns or args.get("iam_groups")):
            raise ConfigError(
                who,
                "policy_document",
                f"a {credential_type} role needs permissions",
                "set policy_document, policy_arns or iam_groups",
            )
        sts = credential_type != "iam_user"
        default_sts = optional_ttl(args.get("default_sts_ttl"), who, "default_sts_ttl")
        max_sts = optional_ttl(args.get("max_sts_ttl"), who, "max_sts_ttl")
        check_max(default_sts, max_sts, who, "default_sts_ttl")
        if not sts and (default_sts is not None or max_sts is not None):
            raise ConfigError(
                who,
                "default_sts_ttl",
                "STS TTLs apply only to assumed_role and federation_token",
                "remove them or change credential_type",
            )
        self.creds_path = f"{engine.path}/{'sts' if sts else 'creds'}/{self.name}"
        super().__init__(resource_name, opts)
        vault.aws.SecretBackendRole(
            self.child(names.ROLE_CHILD),
            backend=engine.path,
            name=self.name,
            credential_type=credential_type,
            policy_document=document,
            policy_arns=policy_arns or None,
            role_arns=role_arns or None,
            iam_groups=list(args.get("iam_groups", [])) or None,
            default_sts_ttl=default_sts,
            max_sts_ttl=max_sts,
            opts=self.opts(depends_on=[engine]),
        )
        self.register_outputs({"name": self.name, "creds_path": self.creds_path})
