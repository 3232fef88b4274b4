"""Vault ACL evaluation: which capabilities a set of policies grants on a path.

This mirrors Vault's own algorithm (vault/acl.go, documented under Policies → "Priority matching") so we can
check, before anything is deployed, that a workload's identity can read the secrets it asks for:

* a path rule is *exact*, a *prefix glob* (trailing ``*``), or a *segment wildcard* (a ``+`` segment, with or
  without a trailing ``*``); a leading ``/`` is ignored and ``+*`` is invalid;
* rules for the same pattern across policies are merged: capabilities are unioned, and ``deny`` anywhere
  replaces everything with ``deny``;
* an exact rule wins outright; for a path ending in ``/`` (a list request) the path without its trailing
  ``/`` is matched first — exact, then globs and wildcards — and the full path only if that finds nothing;
  otherwise the longest matching prefix glob and every matching segment-wildcard rule compete and the
  most specific wins: the later first ``+``/``*``, then not-a-prefix, then fewer ``+`` segments, then the
  longer pattern, then the lexicographically greater;
* no match, or a match that grants nothing, is ``{"deny"}`` (as ``sys/capabilities`` reports it).

Parameter constraints (allowed/denied/required_parameters) are validated here but do not change the
capability set, exactly as in ``sys/capabilities``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
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


# --- evaluation -------------------------------------------------------------------------------------------


def _is_segment_wildcard(path: str) -> bool:
    # Vault's own test (policy.go): "+" alone, any "/+", or a leading "+/".
    return path == "+" or "/+" in path or path.startswith("+/")


def _merge(existing: frozenset[str] | None, caps: tuple[str, ...]) -> frozenset[str]:
    if existing is not None and "deny" in existing:
        return existing
    if "deny" in caps:
        return DENY
    return (existing or frozenset()) | frozenset(caps)


@dataclass
class _Acl:
    exact: dict[str, frozenset[str]] = field(default_factory=dict)
    prefix: dict[str, frozenset[str]] = field(default_factory=dict)
    # Keyed by the full pattern, trailing '*' included (as Vault does).
    wildcard: dict[str, frozenset[str]] = field(default_factory=dict)


def _compile(policies: Sequence[PolicyRules]) -> _Acl:
    if isinstance(policies, Mapping | str):
        raise _fail(
            "acl",
            "policies",
            "expected a list of policies (each a mapping path → rule)",
            "wrap a single policy in a list: [rules]",
        )
    return _table(normalize_policy(f"policy #{index}", policy) for index, policy in enumerate(policies))


def _table(normalized: Iterable[Iterable[PathRule]]) -> _Acl:
    acl = _Acl()
    for rules in normalized:
        for rule in rules:
            path = rule.path
            if _is_segment_wildcard(path):
                table, key = acl.wildcard, path
            elif path.endswith("*"):
                table, key = acl.prefix, path[:-1]
            else:
                table, key = acl.exact, path
            table[key] = _merge(table.get(key), rule.capabilities)
    return acl


@dataclass(frozen=True, order=True)
class _Candidate:
    # Field order is the priority order: compared as a tuple, the greatest wins.
    first_wildcard: int
    not_prefix: bool
    neg_wildcards: int
    length: int
    pattern: str
    caps: frozenset[str] = field(compare=False)
    source: str = field(compare=False, default="")  # the rule's pattern as written (normalized)


@functools.lru_cache(maxsize=4096)
def _split(pattern: str) -> tuple[bool, str, tuple[str, ...]]:
    # split once per pattern, not once per evaluated path (the policy analysis evaluates many paths)
    is_prefix = pattern.endswith("*")
    body = pattern[:-1] if is_prefix else pattern
    return is_prefix, body, tuple(body.split("/"))


def _wildcard_candidate(pattern: str, caps: frozenset[str], parts: list[str]) -> _Candidate | None:
    is_prefix, body, acl_parts = _split(pattern)
    if len(parts) < len(acl_parts) or (not is_prefix and len(parts) != len(acl_parts)):
        return None
    wildcards = 0
    last = len(acl_parts) - 1
    for i, acl_part in enumerate(acl_parts):
        if acl_part == "+":
            wildcards += 1
        elif acl_part == parts[i] or (is_prefix and i == last and parts[i].startswith(acl_part)):
            continue
        else:
            return None
    return _Candidate(pattern.index("+"), not is_prefix, -wildcards, len(body), body, caps, pattern)


def _non_exact(acl: _Acl, path: str) -> _Candidate | None:
    """The most specific prefix-glob or segment-wildcard rule matching `path`, if any."""
    candidates: list[_Candidate] = []
    best_prefix = max((p for p in acl.prefix if path.startswith(p)), key=len, default=None)
    if best_prefix is not None:
        candidates.append(
            _Candidate(
                len(best_prefix),
                False,
                0,
                len(best_prefix),
                best_prefix,
                acl.prefix[best_prefix],
                best_prefix + "*",
            )
        )
    parts = path.split("/")
    for pattern, caps in acl.wildcard.items():
        cand = _wildcard_candidate(pattern, caps, parts)
        if cand is not None:
            candidates.append(cand)
    return max(candidates) if candidates else None


def _winner(acl: _Acl, path: str) -> tuple[str, frozenset[str]] | None:
    """(the winning rule's pattern, its merged capabilities) for `path`, or None."""
    if path in acl.exact:
        return path, acl.exact[path]
    if path.endswith("/"):
        # sys/capabilities evaluates as a list request: Vault tries the path without its trailing '/'
        # first (exact, then globs and wildcards), and only then the full path.
        trimmed = path[:-1]
        if trimmed in acl.exact:
            return trimmed, acl.exact[trimmed]
        found = _non_exact(acl, trimmed)
        if found is not None:
            return found.source, found.caps
    best = _non_exact(acl, path)
    return None if best is None else (best.source, best.caps)


def _match(acl: _Acl, path: str) -> frozenset[str] | None:
    won = _winner(acl, path)
    return None if won is None else won[1]


def winning_pattern(policies: Sequence[PolicyRules], path: str) -> str | None:
    """The (normalized) rule pattern Vault applies to `path`: its parameter constraints are the ones that
    count, merged across the policies holding that same pattern."""
    won = _winner(_compile(policies), path.lstrip("/"))
    return None if won is None else won[0]


def evaluator(policies: Sequence[PolicyRules]) -> Callable[[str], frozenset[str]]:
    """`capabilities` for many paths against the same policies, compiling them once."""
    return _evaluator(_compile(policies))


def normalized_evaluator(policies: Iterable[Sequence[PathRule]]) -> Callable[[str], frozenset[str]]:
    """`evaluator` for policies already validated by normalize_policy (its PathRules, one list per policy):
    the same answers without validating them again."""
    return _evaluator(_table(policies))


def _evaluator(acl: _Acl) -> Callable[[str], frozenset[str]]:
    def evaluate(path: str) -> frozenset[str]:
        caps = _match(acl, path.lstrip("/"))
        return DENY if not caps or "deny" in caps else caps

    return evaluate


def capabilities(policies: Sequence[PolicyRules], path: str) -> frozenset[str]:
    """The capabilities `policies` grant on `path`, as Vault's sys/capabilities would report them."""
    return evaluator(policies)(path)


def allows(policies: Sequence[PolicyRules], path: str, capability: str) -> bool:
    """Whether `policies` grant `capability` on `path` (never true for "deny")."""
    if capability not in VAULT_CAPABILITIES:
        raise _fail(
            "acl",
            "capability",
            f"unknown capability {capability!r}",
            f"use one of {', '.join(VAULT_CAPABILITIES)}",
        )
    return capability != "deny" and capability in capabilities(policies, path)
