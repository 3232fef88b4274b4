"""How a workload's sidekick logs in to Vault, and the token settings shared by auth roles."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import pulumi

from vaultconf._base import count
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


# Vault's token_type values for auth roles and users (sdk/logical/token.go: TokenType; "default-*" let the
# mount's tune decide), as the upstream token schema takes them (util/token_fields.go)
TOKEN_TYPES = ("default", "service", "batch", "default-service", "default-batch")


def token_limits(spec: Mapping[str, Any], who: str) -> dict[str, Any]:
    """Vault's token parameters beyond policies and TTLs, as the upstream resources take them; each is
    None when unset, so the provider sends nothing and Vault keeps its default (or, on an adopted object,
    the state keeps what `pulumi import` read: an unset field would clear it)."""
    token_type = spec.get("token_type")
    if token_type is not None and token_type not in TOKEN_TYPES:
        raise ConfigError(
            who, "token_type", f"{token_type!r} is not a token type", f"use one of {', '.join(TOKEN_TYPES)}"
        )
    no_default = spec.get("token_no_default_policy")
    if no_default is not None and not isinstance(no_default, bool):
        raise ConfigError(
            who, "token_no_default_policy", f"{no_default!r} is not a boolean", "use true or false"
        )
    num_uses = spec.get("token_num_uses")
    explicit_max = spec.get("token_explicit_max_ttl")
    return {
        "token_bound_cidrs": cidrs(spec.get("token_bound_cidrs"), who, "token_bound_cidrs"),
        "token_explicit_max_ttl": optional_ttl(explicit_max, who, "token_explicit_max_ttl"),
        "token_no_default_policy": no_default,
        "token_num_uses": None if num_uses is None else count(num_uses, who, "token_num_uses"),
        "token_period": optional_ttl(spec.get("token_period"), who, "token_period"),
        "token_type": token_type,
    }


def cidrs(values: Any, who: str, field: str) -> list[str] | None:
    """CIDR blocks (or single addresses) as Vault takes them; None when unset."""
    if values is None:
        return None
    out = []
    for value in input_list(values, who, field):
        try:
            ipaddress.ip_network(value, strict=False)
        except (TypeError, ValueError):
            raise ConfigError(
                who, field, f"{value!r} is not a CIDR block", 'use e.g. "10.0.0.0/8" or "192.0.2.7/32"'
            ) from None
        out.append(value)
    return out


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
