"""KubernetesAuth: a kubernetes auth mount, its config, and roles binding service accounts to policies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import pulumi
import pulumi_vault as vault

from vaultconf import names
from vaultconf._base import Component, label, require, start
from vaultconf.acl import PolicyRules
from vaultconf.auth import SidekickAuth, binding, input_list, secret_input, token_settings
from vaultconf.errors import ConfigError
from vaultconf.policy import Policy


class KubernetesRoleSpec(TypedDict, total=False):
    """One role of a `KubernetesAuth`."""

    service_accounts: Sequence[str]
    """Bound service account names ("*" = any; required)."""
    namespaces: Sequence[str]
    """Bound namespaces ("*" = any; required)."""
    policies: Sequence[Policy | str | pulumi.Output[str]]
    token_ttl: int | str
    token_max_ttl: int | str
    audience: str
    """Required audience of the service-account token (recommended: "vault")."""


class KubernetesAuthArgs(TypedDict, total=False):
    """Arguments of `KubernetesAuth`."""

    path: str
    """Mount path (default "kubernetes")."""
    kubernetes_host: pulumi.Input[str]
    """API server URL as Vault reaches it (required)."""
    kubernetes_ca_cert: pulumi.Input[str]
    token_reviewer_jwt: pulumi.Input[str]
    """JWT Vault uses for TokenReview (secret); default: the caller's own token (Vault in-cluster)."""
    issuer: str
    disable_local_ca_jwt: bool
    roles: Mapping[str, KubernetesRoleSpec]
    """Role name → binding."""


class KubernetesAuth(Component):
    """Kubernetes service-account login for workloads (no passwords to rotate)."""

    path: str
    roles: dict[str, KubernetesRoleSpec]

    def __init__(
        self, resource_name: str, args: KubernetesAuthArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        who = start(KubernetesAuth, resource_name, args, KubernetesAuthArgs)
        self.path = names.mount_path(args.get("path", "kubernetes"), who, "path")
        host = require(
            args, "kubernetes_host", who, 'set the API server URL, e.g. "https://kubernetes.default.svc"'
        )
        self.roles = dict(args.get("roles", {}))
        self._bindings: dict[str, tuple[list[str], list[str], list[PolicyRules] | None]] = {}
        role_settings: dict[str, dict[str, Any]] = {}
        for role, spec in self.roles.items():
            field = f"roles[{role!r}]"
            names.vault_name(role, who, field)
            accounts = [
                sa if sa == "*" else names.dns_subdomain(sa, who, f"{field}.service_accounts")
                for sa in input_list(spec.get("service_accounts"), who, f"{field}.service_accounts")
            ]
            namespaces = [
                ns if ns == "*" else names.dns_label(ns, who, f"{field}.namespaces")
                for ns in input_list(spec.get("namespaces"), who, f"{field}.namespaces")
            ]
            if not accounts or not namespaces:
                raise ConfigError(
                    who,
                    f"{field}.service_accounts" if not accounts else f"{field}.namespaces",
                    "empty: the role would bind nothing",
                    'list names, or ["*"] for any',
                )
            settings, rules = token_settings(spec, who, field)
            self._bindings[role] = (accounts, namespaces, rules)
            role_settings[role] = {
                **settings,
                "bound_service_account_names": accounts,
                "bound_service_account_namespaces": namespaces,
                "audience": spec.get("audience"),
            }
        super().__init__(resource_name, opts)
        backend = vault.AuthBackend(
            self.child("backend"), type="kubernetes", path=self.path, opts=self.opts()
        )
        config = vault.kubernetes.AuthBackendConfig(
            self.child("config"),
            backend=backend.path,
            kubernetes_host=host,
            kubernetes_ca_cert=args.get("kubernetes_ca_cert"),
            token_reviewer_jwt=secret_input(args.get("token_reviewer_jwt")),
            issuer=args.get("issuer"),
            disable_local_ca_jwt=args.get("disable_local_ca_jwt"),
            opts=self.opts(),
        )
        for role, settings in sorted(role_settings.items()):
            vault.kubernetes.AuthBackendRole(
                self.child(f"role-{names.k8s_name(role)}"),
                backend=backend.path,
                role_name=role,
                **settings,
                opts=self.opts(depends_on=[config]),
            )
        self.register_outputs({"path": self.path, "roles": sorted(self.roles)})

    def sidekick_auth(self, role: str) -> SidekickAuth:
        """The sidekick login for `role` (projected service-account token)."""
        accounts, namespaces, rules = binding(
            self._bindings, role, label(KubernetesAuth, self._resource_name)
        )
        return SidekickAuth(
            method="kubernetes",
            mount=self.path,
            role=role,
            namespaces=None if "*" in namespaces else tuple(namespaces),
            service_accounts=None if "*" in accounts else tuple(accounts),
            audience=self.roles[role].get("audience"),
            policy_rules=rules,
        )
