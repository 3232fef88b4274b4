"""AppRole: an approle mount and roles, each secret_id published as a Kubernetes Secret for the sidekick.

secret_ids expire by default (`DEFAULT_SECRET_ID_TTL`, 30 days), so a leaked one stops working on its own.
So that a valid one is always published, every `pulumi up` in a new third of that lifetime issues a fresh
secret_id (the old one is destroyed) into the same Secret; kubelet updates the mounted file and the sidekick's
next login reads it. Run `pulumi up` at least every `secret_id_ttl / 3` (10 days by default, e.g. from a
scheduled CI job), or set `secret_id_ttl: 0` for ids that never expire and change only with `rotation`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import pulumi
import pulumi_vault as vault

from vaultconf import names
from vaultconf._base import Component, count, label, refuse_foreign_mount_settings, start
from vaultconf._k8s import opaque_secret
from vaultconf._types import Input
from vaultconf.acl import PolicyRules
from vaultconf.auth import SidekickAuth, binding, cidrs, input_list, token_settings
from vaultconf.errors import ConfigError
from vaultconf.policy import Policy
from vaultconf.ttl import parse_ttl

DEFAULT_SECRET_ID_TTL = 30 * 86400
"""Lifetime of a secret_id unless the role sets `secret_id_ttl` (0: never expires)."""


class AppRoleSpec(TypedDict, total=False):
    """One role of an `AppRole`."""

    policies: Sequence[Policy | str | pulumi.Output[str]]
    token_ttl: int | str
    token_max_ttl: int | str
    secret_id_ttl: int | str
    """secret_id lifetime (default 30 days, re-issued by `pulumi up` after a third of it; 0: no expiry)."""
    secret_id_num_uses: int
    """Logins one secret_id allows (default 0: unlimited; each pod start and re-login uses one)."""
    secret_id_bound_cidrs: Sequence[str]
    """Networks a secret_id may log in from (CIDRs, e.g. the pod network)."""
    token_bound_cidrs: Sequence[str]
    """Networks tokens issued at login may be used from (CIDRs)."""
    namespaces: Sequence[str]
    """Namespaces that get the Secret with role_id and secret_id."""
    secret_name: str
    """Name of that Secret (default "approle-<role>")."""
    rotation: int
    """Bump to issue a new secret_id (the old one is destroyed)."""
    adopted: bool
    """The role existed before this stack (`vaultconf import`): its secret IDs cannot be read, and apps use
    them; while `rotation` is 0 none is issued and no Secret published (docs/adoption.md)."""


class AppRoleArgs(TypedDict, total=False):
    """Arguments of `AppRole`."""

    path: str
    """Mount path (default "approle")."""
    description: str
    """The auth mount's description (default: none)."""
    roles: Mapping[str, AppRoleSpec]
    vault_addr: Input[str]
    """Written to the Secrets as VAULT_ADDR."""
    create_mount: bool
    """False: the mount exists (another stack owns it, docs/scaling.md); only the roles are registered."""


class AppRole(Component):
    """Machine login with role_id + secret_id."""

    path: str
    role_ids: dict[str, pulumi.Output[str]]
    secret_ids: dict[str, pulumi.Output[str]]
    """Secret."""

    def __init__(
        self, resource_name: str, args: AppRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        who = start(AppRole, resource_name, args, AppRoleArgs)
        self.path = names.mount_path(args.get("path", "approle"), who, "path")
        prepared: dict[str, tuple[dict[str, Any], list[str], str, str | None]] = {}
        self._bindings: dict[str, tuple[list[str], str, list[PolicyRules] | None]] = {}
        for role, spec in dict(args.get("roles", {})).items():
            field = f"roles[{role!r}]"
            names.vault_name(role, who, field)
            settings, rules = token_settings(spec, who, field)
            namespaces = [
                names.dns_label(ns, who, f"{field}.namespaces")
                for ns in input_list(spec.get("namespaces"), who, f"{field}.namespaces")
            ]
            secret_name = names.dns_subdomain(
                spec.get("secret_name", names.k8s_name("approle", role)), who, f"{field}.secret_name"
            )
            rotation = count(spec.get("rotation", 0), who, f"{field}.rotation")
            secret_ttl = parse_ttl(
                spec.get("secret_id_ttl", DEFAULT_SECRET_ID_TTL), who, f"{field}.secret_id_ttl"
            )
            settings.update(
                secret_id_ttl=secret_ttl,
                secret_id_num_uses=count(
                    spec.get("secret_id_num_uses", 0), who, f"{field}.secret_id_num_uses"
                ),
                secret_id_bound_cidrs=cidrs(
                    spec.get("secret_id_bound_cidrs"), who, f"{field}.secret_id_bound_cidrs"
                ),
                token_bound_cidrs=cidrs(spec.get("token_bound_cidrs"), who, f"{field}.token_bound_cidrs"),
            )
            keep_live = bool(spec.get("adopted", False)) and rotation == 0  # no new secret ID yet
            issue = None if keep_live else _issue_key(rotation, secret_ttl)
            prepared[role] = (settings, namespaces, secret_name, issue)
            self._bindings[role] = (namespaces, secret_name, rules)
        if any(p[1] for p in prepared.values()) and not args.get("vault_addr"):
            raise ConfigError(
                who,
                "vault_addr",
                "missing: the published Secrets carry VAULT_ADDR",
                'set vault_addr, e.g. "https://vault.vault.svc:8200"',
            )
        create_mount = refuse_foreign_mount_settings(args, who, ("description",))
        super().__init__(resource_name, opts)
        mount: Input[str] = self.path
        if create_mount:
            mount = vault.AuthBackend(
                self.child(names.BACKEND_CHILD),
                type="approle",
                path=self.path,
                description=args.get("description"),
                opts=self.opts(),
            ).path
        vault_addr = pulumi.Output.from_input(args.get("vault_addr", ""))
        self.role_ids, self.secret_ids = {}, {}
        for role, (settings, namespaces, secret_name, issue_key) in sorted(prepared.items()):
            slug = names.k8s_name(role)
            vrole = vault.approle.AuthBackendRole(
                self.child(names.auth_role_child(role)),
                backend=mount,
                role_name=role,
                **settings,
                opts=self.opts(),
            )
            self.role_ids[role] = vrole.role_id
            if issue_key is None:
                continue
            sid = vault.approle.AuthBackendRoleSecretId(
                self.child(f"secret-id-{slug}"),
                backend=mount,
                role_name=vrole.role_name,
                metadata=issue_key,
                opts=self.opts(),
            )
            self.secret_ids[role] = pulumi.Output.secret(sid.secret_id)
            values = pulumi.Output.all(vrole.role_id, self.secret_ids[role], vault_addr).apply(
                lambda v: {"role_id": v[0], "secret_id": v[1], "VAULT_ADDR": v[2]}
            )
            for ns in namespaces:
                opaque_secret(self.child(f"secret-{slug}-{ns}"), secret_name, ns, values, self.opts())
        self.register_outputs({"path": self.path, "role_ids": self.role_ids, "secret_ids": self.secret_ids})

    def sidekick_auth(self, role: str) -> SidekickAuth:
        """The sidekick login for `role` (role_id and secret_id from the published Secret)."""
        namespaces, secret_name, rules = binding(self._bindings, role, label(AppRole, self._resource_name))
        return SidekickAuth(
            method="approle",
            mount=self.path,
            role=role,
            secret_name=secret_name,
            namespaces=tuple(namespaces),
            policy_rules=rules,
        )


def _issue_key(rotation: int, ttl: int) -> str:
    """The secret_id's metadata; a change replaces it. With a finite TTL it names the current third of
    that lifetime, so an `up` in the next third issues a fresh id well before the old one expires."""
    if not ttl:
        return f'{{"rotation":"{rotation}"}}'
    return f'{{"rotation":"{rotation}","window":"{int(time.time()) // max(ttl // 3, 1)}"}}'
