"""KubernetesAuth: a kubernetes auth mount, its config, and roles binding service accounts to policies.

Every role carries an `audience` (default "vault"): Vault checks the JWT's `aud` claim and asks the API
server's TokenReview for that audience (hashicorp/vault-plugin-auth-kubernetes token_review.go passes the
role's audience as `spec.audiences`), and the sidekick's projected token requests it, so a token minted for
another service cannot be replayed here. Vault 1.20+ logs a warning for roles without one.

Who asks the API server: by default Vault uses the logging-in client's own JWT as the TokenReview bearer, so
every workload's service account needs a cluster-wide `system:auth-delegator` binding. With `token_reviewer`
the component creates one dedicated ServiceAccount, a long-lived token Secret for it and the one
ClusterRoleBinding, and hands that token to Vault; workloads then need no binding at all.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vault as vault

from vaultconf import names
from vaultconf._base import Component, label, refuse_foreign_mount_settings, require, start
from vaultconf._k8s import MANAGED_BY
from vaultconf._types import Input
from vaultconf.acl import PolicyRules
from vaultconf.auth import SidekickAuth, binding, input_list, secret_input, token_settings
from vaultconf.errors import ConfigError
from vaultconf.policy import Policy

DEFAULT_AUDIENCE = "vault"
"""Audience of every role (and of the sidekick's projected token) unless the role or the mount sets one."""
# printable ASCII without spaces: it becomes a JWT claim and a YAML value
_AUDIENCE = re.compile(r"^[!-~]{1,253}$")


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
    """Required audience of the service-account token (default: the mount's `audience`, "vault")."""


class TokenReviewerSpec(TypedDict, total=False):
    """A dedicated TokenReview identity: ServiceAccount + long-lived token Secret + auth-delegator binding."""

    namespace: str
    """Namespace of the ServiceAccount (required; must exist, e.g. "vault")."""
    service_account: str
    """Its name (default "vault-token-reviewer")."""


class KubernetesAuthArgs(TypedDict, total=False):
    """Arguments of `KubernetesAuth`."""

    path: str
    """Mount path (default "kubernetes")."""
    description: str
    """The auth mount's description (default: none)."""
    kubernetes_host: Input[str]
    """API server URL as Vault reaches it (required)."""
    kubernetes_ca_cert: Input[str]
    token_reviewer_jwt: Input[str]
    """JWT Vault uses for TokenReview (secret); default: the caller's own token (each workload's service
    account then needs `system:auth-delegator`). Exclusive with `token_reviewer`."""
    token_reviewer: TokenReviewerSpec
    """Create a dedicated reviewer ServiceAccount and use its token (needs a Kubernetes provider)."""
    audience: str
    """Default audience of the roles (default "vault")."""
    issuer: str
    disable_local_ca_jwt: bool
    roles: Mapping[str, KubernetesRoleSpec]
    """Role name → binding."""
    create_mount: bool
    """False: the mount and its config exist (another stack owns them, docs/scaling.md); only the roles are
    registered, and the mount's own arguments (host, CA, reviewer, issuer, description) are refused."""


MOUNT_ARGS = ("description", "kubernetes_host", "kubernetes_ca_cert", "token_reviewer_jwt", "token_reviewer",
              "issuer", "disable_local_ca_jwt")


class KubernetesAuth(Component):
    """Kubernetes service-account login for workloads (no passwords to rotate)."""

    path: str
    roles: dict[str, KubernetesRoleSpec]

    def __init__(
        self, resource_name: str, args: KubernetesAuthArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        who = start(KubernetesAuth, resource_name, args, KubernetesAuthArgs)
        self.path = names.mount_path(args.get("path", "kubernetes"), who, "path")
        create_mount = refuse_foreign_mount_settings(args, who, MOUNT_ARGS)
        host = require(
            args, "kubernetes_host", who, 'set the API server URL, e.g. "https://kubernetes.default.svc"'
        ) if create_mount else None
        self.roles = dict(args.get("roles", {}))
        default_audience = _audience(args.get("audience", DEFAULT_AUDIENCE), who, "audience")
        reviewer = _reviewer(args, who)
        self._bindings: dict[str, tuple[list[str], list[str], list[PolicyRules] | None]] = {}
        self._audiences: dict[str, str] = {}
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
            audience = spec.get("audience", default_audience)
            self._audiences[role] = _audience(audience, who, f"{field}.audience")
            role_settings[role] = {
                **settings,
                "bound_service_account_names": accounts,
                "bound_service_account_namespaces": namespaces,
                "audience": self._audiences[role],
            }
        super().__init__(resource_name, opts)
        mount: Input[str] = self.path
        after: list[pulumi.Resource] = []
        if create_mount:
            backend = vault.AuthBackend(
                self.child(names.BACKEND_CHILD),
                type="kubernetes",
                path=self.path,
                description=args.get("description"),
                opts=self.opts(),
            )
            reviewer_jwt = (
                self._reviewer_token(*reviewer) if reviewer else secret_input(args.get("token_reviewer_jwt"))
            )
            config = vault.kubernetes.AuthBackendConfig(
                self.child(names.AUTH_CONFIG_CHILD),
                backend=backend.path,
                kubernetes_host=host,
                kubernetes_ca_cert=args.get("kubernetes_ca_cert"),
                token_reviewer_jwt=reviewer_jwt,
                issuer=args.get("issuer"),
                disable_local_ca_jwt=args.get("disable_local_ca_jwt"),
                opts=self.opts(),
            )
            mount, after = backend.path, [config]
        for role, settings in sorted(role_settings.items()):
            vault.kubernetes.AuthBackendRole(
                self.child(names.auth_role_child(role)),
                backend=mount,
                role_name=role,
                **settings,
                opts=self.opts(depends_on=after),
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
            audience=self._audiences[role],
            policy_rules=rules,
        )

    def _reviewer_token(self, namespace: str, account: str) -> pulumi.Output[str]:
        """The dedicated reviewer: its ServiceAccount, a long-lived token Secret (filled in by the cluster's
        token controller; pulumi-kubernetes waits for it), and the one system:auth-delegator binding."""
        meta = {"namespace": namespace, "labels": dict(MANAGED_BY)}
        sa = k8s.core.v1.ServiceAccount(
            self.child("token-reviewer"),
            metadata={**meta, "name": account},
            automount_service_account_token=False,
            opts=self.opts(),
        )
        secret = k8s.core.v1.Secret(
            self.child("token-reviewer-token"),
            metadata={
                **meta,
                "name": names.k8s_name(account, "token"),
                "annotations": {"kubernetes.io/service-account.name": account},
            },
            type="kubernetes.io/service-account-token",
            opts=self.opts(depends_on=[sa]),  # the token controller ignores a Secret whose account is missing
        )
        k8s.rbac.v1.ClusterRoleBinding(
            self.child("token-reviewer-auth-delegator"),
            metadata={
                "name": names.k8s_name("vaultconf", namespace, account, "auth-delegator"),
                "labels": dict(MANAGED_BY),
            },
            role_ref={
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:auth-delegator",
            },
            subjects=[{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
            opts=self.opts(depends_on=[sa]),
        )
        where = f"{namespace}/{names.k8s_name(account, 'token')}"
        who = label(KubernetesAuth, self._resource_name)
        return pulumi.Output.secret(secret.data.apply(lambda data: _token(data, where, who)))


def _audience(value: Any, who: str, field: str) -> str:
    if not isinstance(value, str) or not _AUDIENCE.match(value):
        raise ConfigError(
            who, field, f"{value!r} is not a token audience", 'use a short name without spaces, e.g. "vault"'
        )
    return value


def _reviewer(args: Mapping[str, Any], who: str) -> tuple[str, str] | None:
    spec = args.get("token_reviewer")
    if spec is None:
        return None
    if args.get("token_reviewer_jwt") is not None:
        raise ConfigError(
            who, "token_reviewer", "set together with token_reviewer_jwt", "keep one way of reviewing tokens"
        )
    if not isinstance(spec, Mapping) or set(spec) - {"namespace", "service_account"}:
        raise ConfigError(
            who,
            "token_reviewer",
            f"{spec!r} is not {{namespace, service_account}}",
            'write e.g. {"namespace": "vault", "service_account": "vault-token-reviewer"}',
        )
    namespace = names.dns_label(spec.get("namespace"), who, "token_reviewer.namespace")
    account = names.dns_subdomain(
        spec.get("service_account", "vault-token-reviewer"), who, "token_reviewer.service_account"
    )
    return namespace, account


def _token(data: Mapping[str, str] | None, where: str, who: str) -> str:
    token = (data or {}).get("token")
    if not token:
        if pulumi.runtime.is_dry_run():
            return ""  # a preview: the token controller has not run yet
        raise ConfigError(
            who,
            "token_reviewer",
            f"Secret {where} holds no token",
            "run kube-controller-manager (its token controller fills the Secret), then `pulumi up` again",
        )
    return base64.b64decode(token).decode()
