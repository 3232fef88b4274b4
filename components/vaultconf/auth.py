"""How a workload's sidekick logs in to Vault, and the token settings shared by auth roles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import pulumi

from vaultconf.acl import PolicyRules
from vaultconf.errors import ConfigError
from vaultconf.policy import known_rules, policy_names
from vaultconf.ttl import check_max, optional_ttl

V = TypeVar("V")
AuthMethod = Literal["userpass", "kubernetes", "approle", "token"]


@dataclass(frozen=True)
class SidekickAuth:
    """A login for the sidekick: get one from `User.sidekick_auth()`, `KubernetesAuth.sidekick_auth(role)`
    or `AppRole.sidekick_auth(role)`, or build one for a token in a Secret (`method="token"`)."""

    method: AuthMethod
    mount: str
    role: str | None = None
    secret_name: str | None = None
    """userpass: the credentials Secret (key `login`); approle: keys role_id/secret_id; token: key `token`."""
    namespaces: tuple[str, ...] | None = None
    """Where this login works (the Secret exists / the role binds); None = anywhere."""
    service_accounts: tuple[str, ...] | None = None
    """kubernetes: service accounts the role binds ("*" = any)."""
    audience: str | None = None
    """kubernetes: audience of the projected service-account token."""
    policy_rules: Sequence[PolicyRules] | None = None
    """Plain rules of the identity's policies, for read checks; None = unknown (no check possible)."""


def token_settings(
    spec: Mapping[str, Any], who: str, field: str
) -> tuple[dict[str, Any], list[PolicyRules] | None]:
    """token_policies/token_ttl/token_max_ttl for an auth role, plus the policies' plain rules."""
    policies = spec.get("policies", [])
    if not policies:
        raise ConfigError(
            who,
            f"{field}.policies",
            "empty: a login would grant nothing",
            "list the Policy components (or names) the role grants",
        )
    ttl = optional_ttl(spec.get("token_ttl"), who, f"{field}.token_ttl")
    max_ttl = optional_ttl(spec.get("token_max_ttl"), who, f"{field}.token_max_ttl")
    check_max(ttl, max_ttl, who, f"{field}.token_ttl")
    settings: dict[str, Any] = {
        "token_policies": policy_names(policies, who, f"{field}.policies"),
        "token_ttl": ttl,
        "token_max_ttl": max_ttl,
    }
    return settings, known_rules(policies)


def input_list(values: Any, who: str, field: str) -> list[Any]:
    """A list argument (a bare string is a common slip for a one-element list)."""
    if values is None:
        return []
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise ConfigError(who, field, f"expected a list, got {values!r}", f"write [{values!r}]")
    return list(values)


def binding(bindings: Mapping[str, V], role: str, who: str) -> V:
    """The binding of `role` on an auth component, or one clear error listing the defined roles."""
    if role not in bindings:
        raise ConfigError(
            who, "roles", f"no role {role!r}", f"use one of {', '.join(sorted(bindings)) or '(none defined)'}"
        )
    return bindings[role]


def secret_input(value: pulumi.Input[str] | None) -> pulumi.Output[str] | None:
    return None if value is None else pulumi.Output.secret(value)
