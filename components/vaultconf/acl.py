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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

# the rules as written, validated: their own module; re-exported here, the one public face of ACLs
from vaultconf.acl_rules import (
    DENY,
    PARAMETER_FIELDS,
    VAULT_CAPABILITIES,
    PathRule,
    PolicyRules,
    Rule,
    _fail,
    normalize_path,
    normalize_policy,
    normalize_rule,
)

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


__all__ = [
    "DENY",
    "PARAMETER_FIELDS",
    "VAULT_CAPABILITIES",
    "PathRule",
    "PolicyRules",
    "Rule",
    "allows",
    "capabilities",
    "evaluator",
    "normalize_path",
    "normalize_policy",
    "normalize_rule",
    "normalized_evaluator",
    "winning_pattern",
]
