"""User: a userpass user with a generated, rotatable password published as Kubernetes Secrets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import pulumi
import pulumi_random as random
import pulumi_vault as vault

from vaultconf import names
from vaultconf._base import Component, count, start
from vaultconf._k8s import canonical_json, opaque_secret
from vaultconf._types import Input
from vaultconf.acl import PolicyRules
from vaultconf.auth import SidekickAuth, token_limits
from vaultconf.errors import ConfigError
from vaultconf.policy import Policy, known_rules, policy_names
from vaultconf.ttl import check_max, optional_ttl

MIN_PASSWORD_LENGTH = 32


class UserArgs(TypedDict, total=False):
    """Arguments of `User`."""

    username: str
    """Vault username (default: the component's name)."""
    mount: str
    """Path of the userpass auth mount (default "userpass")."""
    create_mount: bool
    """Create the userpass mount here (default False: reuse an existing one)."""
    policies: Sequence[Policy | str | pulumi.Output[str]]
    """Token policies: Policy components (their rules are then known, for Workload checks) or names."""
    token_ttl: int | str
    """Token TTL: seconds or a duration such as "1h"."""
    token_max_ttl: int | str
    """Maximum token TTL."""
    token_bound_cidrs: Sequence[str]
    """CIDR blocks tokens may be used from (default: anywhere)."""
    token_explicit_max_ttl: int | str
    """Hard cap of a token's life, renewals included (default: none)."""
    token_no_default_policy: bool
    """Tokens do not get the `default` policy (default False)."""
    token_num_uses: int
    """Uses per token (default 0: unlimited)."""
    token_period: int | str
    """Periodic tokens with this period (default: not periodic)."""
    token_type: str
    """One of `vaultconf.auth.TOKEN_TYPES` (default: the mount's)."""
    mount_description: str
    """With `create_mount`: the mount's description."""
    rotation: int
    """Rotation counter (default 0). Bumping it generates a new password and writes it to Vault and to every
    Secret."""
    password_length: int
    """Generated password length (default and minimum 32)."""
    namespaces: Sequence[str]
    """Kubernetes namespaces that get the credentials Secret."""
    secret_name: str
    """Name of the credentials Secret (default "vault-<username>")."""
    vault_addr: Input[str]
    """Vault address the workloads use, written to the Secret as VAULT_ADDR."""
    adopted: bool
    """The user existed before this stack (`vaultconf import`): while `rotation` is 0 its live password is
    kept and never sent to Vault; bumping `rotation` generates one as for any user. See docs/adoption.md."""
    current_password: Input[str]
    """Adopted users: the live password, supplied by the operator as a Pulumi secret, so the credentials
    Secret can be published before the first rotation. Never sent to Vault."""


class User(Component):
    """A Vault userpass user and its credentials Secret in each namespace."""

    username: pulumi.Output[str]
    password: pulumi.Output[str]
    """Secret."""
    password_version: pulumi.Output[int]
    """`password_wo_version` sent to Vault: rotation + 1 (0 for an adopted user keeping its live password)."""
    mount: str
    secret_name: str
    """Name of the credentials Secret (same in every namespace)."""
    namespaces: list[str]
    policy_rules: list[PolicyRules] | None
    """Plain rules of the user's policies, or None if some are only known by name."""

    def __init__(
        self, resource_name: str, args: UserArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        who = start(User, resource_name, args, UserArgs)
        username = names.vault_name(args.get("username", resource_name), who, "username", lowercase=True)
        self.mount = names.mount_path(args.get("mount", "userpass"), who, "mount")
        rotation = count(args.get("rotation", 0), who, "rotation")
        length = args.get("password_length", MIN_PASSWORD_LENGTH)
        if isinstance(length, bool) or not isinstance(length, int) or length < MIN_PASSWORD_LENGTH:
            raise ConfigError(
                who, "password_length", f"{length!r} is too short", f"use at least {MIN_PASSWORD_LENGTH}"
            )
        token_ttl = optional_ttl(args.get("token_ttl"), who, "token_ttl")
        token_max_ttl = optional_ttl(args.get("token_max_ttl"), who, "token_max_ttl")
        check_max(token_ttl, token_max_ttl, who, "token_ttl")
        limits = token_limits(args, who)
        self.namespaces = [names.dns_label(ns, who, "namespaces") for ns in args.get("namespaces", [])]
        self.secret_name = names.dns_subdomain(
            args.get("secret_name", names.k8s_name("vault", username)), who, "secret_name"
        )
        if self.namespaces and not args.get("vault_addr"):
            raise ConfigError(
                who,
                "vault_addr",
                "missing: the credentials Secret carries VAULT_ADDR",
                'set vault_addr, e.g. "https://vault.vault.svc:8200"',
            )
        policies = args.get("policies", [])
        token_policies = policy_names(policies, who)
        self.policy_rules = known_rules(policies)
        super().__init__(resource_name, opts)

        mount_dep: list[pulumi.Resource] = []
        if args.get("create_mount", False):
            mount_dep.append(
                vault.AuthBackend(
                    self.child("userpass"),
                    type="userpass",
                    path=self.mount,
                    description=args.get("mount_description"),
                    opts=self.opts(),
                )
            )
        # An adopted user keeps the password Vault holds until its first rotation: no password is generated
        # and none is sent (the provider sends password_wo only with a password_wo_version).
        keep_live = bool(args.get("adopted", False)) and rotation == 0
        password: Input[str] | None = None
        version: int | None = None
        if keep_live:
            password = args.get("current_password")
        else:
            generated = random.RandomPassword(
                self.child("password"),
                length=length,
                special=False,  # survives shells, URLs and env files unquoted; 32+ alphanumerics is ~190 bits
                keepers={"rotation": str(rotation), "username": username},
                opts=self.opts(),
            )
            password = generated.result
            version = rotation + 1
        self.password = pulumi.Output.secret(password if password is not None else "")
        user = vault.UserpassAuthBackendUser(
            self.child(names.USER_CHILD),
            mount=self.mount,
            username=username,
            password_wo=None if version is None else self.password,
            password_wo_version=version,
            token_policies=token_policies,
            token_ttl=token_ttl,
            token_max_ttl=token_max_ttl,
            **limits,
            opts=self.opts(depends_on=mount_dep),
        )
        self.username = user.username
        self.password_version = pulumi.Output.from_input(version or 0)
        vault_addr = pulumi.Output.from_input(args.get("vault_addr", ""))
        contents = pulumi.Output.all(self.username, self.password, vault_addr).apply(
            lambda v: login_secret_values(v[0], v[1], v[2])
        )
        # an adopted user's Secret waits for its password: the operator's current one, or the first rotation
        for ns in self.namespaces if password is not None else []:
            opaque_secret(
                self.child(f"secret-{ns}"), self.secret_name, ns, contents, self.opts(depends_on=[user])
            )
        self.register_outputs(
            {
                "username": self.username,
                "password": self.password,
                "password_version": self.password_version,
                "secret_name": self.secret_name,
            }
        )

    def sidekick_auth(self) -> SidekickAuth:
        """The sidekick login for this user (the credentials Secret's `login` key)."""
        return SidekickAuth(
            method="userpass",
            mount=self.mount,
            secret_name=self.secret_name,
            namespaces=tuple(self.namespaces),
            policy_rules=self.policy_rules,
        )


def login_secret_values(username: str, password: str, vault_addr: str) -> dict[str, str]:
    """The credentials Secret contract (docs/architecture.md); `login` is vault-sidekick's -auth file."""
    return {
        "username": username,
        "password": password,
        "method": "userpass",
        "VAULT_ADDR": vault_addr,
        "login": canonical_json({"username": username, "password": password, "method": "userpass"}),
    }
