"""Vault ACL rules as written in a policy, validated into `PathRule`s (the input of vaultconf.acl's matcher).

What is accepted is what Vault accepts in a `path "..." { ... }` block (vault/policy.go): capability names,
the parameter constraints, a path without control characters and with `*` only at its end. Errors name
the component and field and say what to write.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vaultconf.errors import ConfigError

# Vault's capability names, in the order sys/capabilities reports them.
VAULT_CAPABILITIES: tuple[str, ...] = (
    "create",
    "read",
    "update",
    "patch",
    "delete",
    "list",
    "sudo",
    "deny",
    "subscribe",
    "recover",
)
PARAMETER_FIELDS: tuple[str, ...] = ("allowed_parameters", "denied_parameters", "required_parameters")
DENY: frozenset[str] = frozenset({"deny"})
_RULE_FIELDS = frozenset({"capabilities", *PARAMETER_FIELDS})

# A rule as users write it: ["read", "list"] or {"capabilities": [...], "allowed_parameters": {...}, ...}.
Rule = Sequence[str] | Mapping[str, Any]
PolicyRules = Mapping[str, Rule]



@dataclass(frozen=True)
class PathRule:
    """One validated `path "..." { ... }` block."""

    path: str
    capabilities: tuple[str, ...]
    allowed_parameters: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    denied_parameters: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    required_parameters: tuple[str, ...] = ()


def _fail(component: str, field_name: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(component, field_name, problem, fix)


def _capabilities(component: str, where: str, raw: Any) -> tuple[str, ...]:
    if type(raw) is list or type(raw) is tuple:  # the usual shape: skip the ABC checks
        try:
            known = _canonical(tuple(raw))
        except TypeError:  # an unhashable item: the general path names it
            known = None
        if known is not None:
            return known
    if isinstance(raw, str) or not isinstance(raw, Iterable):
        raise _fail(
            component,
            where,
            f"capabilities must be a list of strings, got {raw!r}",
            'write e.g. ["read", "list"]',
        )
    caps = list(raw)
    for cap in caps:
        if cap not in VAULT_CAPABILITIES:
            raise _fail(
                component, where, f"unknown capability {cap!r}", f"use one of {', '.join(VAULT_CAPABILITIES)}"
            )
    # Canonical order, no duplicates: deterministic HCL and comparisons.
    return tuple(c for c in VAULT_CAPABILITIES if c in caps)


@functools.lru_cache(maxsize=1024)
def _canonical(caps: tuple[Any, ...]) -> tuple[str, ...] | None:
    """Capabilities in canonical order without duplicates, or None when one is not a capability (the
    caller then reports it). Policies repeat a few capability lists: each is ordered once."""
    if not all(cap in VAULT_CAPABILITIES for cap in caps):
        return None
    return tuple(c for c in VAULT_CAPABILITIES if c in caps)


def _parameters(component: str, where: str, raw: Any) -> dict[str, tuple[Any, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _fail(
            component,
            where,
            f"must be a mapping of parameter name to a list of values, got {raw!r}",
            'write e.g. {"ttl": ["1h", "2h"], "*": []}',
        )
    out: dict[str, tuple[Any, ...]] = {}
    for name, values in raw.items():
        if not isinstance(name, str) or not name:
            raise _fail(
                component,
                where,
                f"parameter name {name!r} is not a non-empty string",
                "name each parameter as a string",
            )
        if values is None:
            values = []
        if isinstance(values, str | bytes) or not isinstance(values, Iterable):
            raise _fail(
                component,
                f"{where}.{name}",
                f"values must be a list, got {values!r}",
                "wrap the value in a list ([] allows any value)",
            )
        vals = tuple(values)
        for v in vals:
            if not isinstance(v, str | int | float | bool):
                raise _fail(
                    component,
                    f"{where}.{name}",
                    f"value {v!r} is not a string, number or bool",
                    "use scalar values",
                )
        out[name] = vals
    return out


# whitespace (str.isspace(), which `\s` matches in a str pattern) or a control character
_UNSAFE = re.compile(r"[\s\x00-\x1f]")


def normalize_path(component: str, field_name: str, path: Any) -> str:
    """Validate a policy path pattern and return it without a leading '/'."""
    if not isinstance(path, str) or not path.strip("/"):
        raise _fail(
            component, field_name, f"path {path!r} is empty", 'write a Vault API path such as "kv/data/app"'
        )
    if _UNSAFE.search(path):
        raise _fail(
            component, field_name, f"path {path!r} contains whitespace or control characters", "remove them"
        )
    if "+*" in path:
        raise _fail(
            component,
            field_name,
            f"path {path!r} uses '+*', which Vault rejects",
            "use '+/*' or a single '*' glob",
        )
    if "*" in path[:-1]:
        raise _fail(
            component,
            field_name,
            f"path {path!r} has '*' before the end",
            "Vault globs only at the end of a path; use '+' for one segment",
        )
    return path.lstrip("/")


def normalize_rule(component: str, path: Any, rule: Any, *, strict: bool = False) -> PathRule:
    """Validate one rule. `strict` also rejects rules that grant nothing (a likely mistake in config)."""
    where = f"rules[{path!r}]"
    norm_path = normalize_path(component, where, path)
    if isinstance(rule, Mapping):
        unknown = [] if _RULE_FIELDS.issuperset(rule) else sorted(set(rule) - _RULE_FIELDS)
        if unknown:
            raise _fail(
                component,
                f"{where}.{unknown[0]}",
                f"unknown field {unknown[0]!r}",
                f"use capabilities, {', '.join(PARAMETER_FIELDS)}",
            )
        if "capabilities" not in rule:
            raise _fail(component, f"{where}.capabilities", "missing", 'add capabilities, e.g. ["read"]')
        caps = _capabilities(component, f"{where}.capabilities", rule["capabilities"])
        required = rule.get("required_parameters") or []
        if isinstance(required, str) or not all(isinstance(r, str) and r for r in required):
            raise _fail(
                component,
                f"{where}.required_parameters",
                f"must be a list of names, got {required!r}",
                'write e.g. ["common_name"]',
            )
        allowed = rule.get("allowed_parameters")
        denied = rule.get("denied_parameters")
        result = PathRule(
            norm_path,
            caps,
            {} if allowed is None else _parameters(component, f"{where}.allowed_parameters", allowed),
            {} if denied is None else _parameters(component, f"{where}.denied_parameters", denied),
            tuple(dict.fromkeys(required)),
        )
    else:
        result = PathRule(norm_path, _capabilities(component, f"{where}.capabilities", rule))
    if strict and not result.capabilities:
        raise _fail(
            component,
            f"{where}.capabilities",
            "no capabilities: the rule grants nothing",
            'list capabilities, or ["deny"] to forbid the path explicitly',
        )
    return result


def normalize_policy(component: str, rules: Any, *, strict: bool = False) -> list[PathRule]:
    """Validate a policy (path pattern → rule). `strict` also rejects an empty policy."""
    if not isinstance(rules, Mapping):
        raise _fail(
            component,
            "rules",
            f"must be a mapping of path → capabilities, got {type(rules).__name__}",
            'write e.g. {"kv/data/app/*": ["read"]}',
        )
    if strict and not rules:
        raise _fail(component, "rules", "the policy is empty", "add at least one path rule")
    normalized = [normalize_rule(component, p, r, strict=strict) for p, r in rules.items()]
    seen: set[str] = set()
    for rule in normalized:
        if rule.path in seen:
            raise _fail(
                component,
                f"rules[{rule.path!r}]",
                "the same path appears twice (once with a leading '/')",
                "merge the two rules",
            )
        seen.add(rule.path)
    return normalized
