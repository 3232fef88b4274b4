"""Least privilege for certificates: a workload may obtain certificates for its own names only.

A PKI role decides which names a certificate may carry (`allowed_domains`, subdomains); every identity that
may write `<pki>/issue/<role>` can ask for any of them, another workload's included. vaultconf's choice
(docs/policy-analysis.md): the policy binds the names with Vault's `allowed_parameters` on the issue path:

    pki-int/issue/internal:
      capabilities: [update]
      allowed_parameters:
        common_name: [billing-api.billing.internal.example]
        alt_names: [...]            # only if the workload asks for alt names

With `allowed_parameters` set, Vault refuses any parameter not listed (unless `"*"` is listed), and a listed
one must carry a listed value (vault/acl.go, `allowed_parameters`; values may end or start with a `*` glob,
which is why such values do not count as bound here). One role per workload would also work, but multiplies
roles and CA configuration; a binding keeps one role and puts the names beside the grant they limit.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from vaultconf import acl

from .patterns import Pattern, head, intersect, parse, witness

# ip_sans, uri_sans and other_sans also name a certificate's holder, but vaultconf's roles refuse them
# (allow_ip_sans false, no allowed_uri_sans / allowed_other_sans), so the names that matter are these two
NAME_PARAMETERS = ("common_name", "alt_names")


def _allowed(rule: Any) -> Mapping[str, Any] | None:
    if isinstance(rule, Mapping):
        allowed = rule.get("allowed_parameters")
        return allowed if isinstance(allowed, Mapping) and allowed else None
    return None


def _values(allowed: Mapping[str, Any], name: str) -> list[Any] | None:
    """The values Vault lets `name` carry under `allowed` ([] any value), None when it refuses the name."""
    if name in allowed:
        return list(allowed[name] or [])
    if "*" in allowed:
        return list(allowed["*"] or [])
    return None


def _bound(allowed: Mapping[str, Any] | None, name: str) -> bool:
    """Whether the parameter `name` can carry only listed, glob-free values (or cannot be sent at all)."""
    if allowed is None:
        return False
    values = _values(allowed, name)
    return values is None or (bool(values) and all(isinstance(v, str) and "*" not in v for v in values))


def _refused(allowed: Mapping[str, Any] | None, params: Mapping[str, Any]) -> list[str]:
    """The request parameters Vault would refuse under `allowed` (None: no constraint)."""
    if allowed is None:
        return []
    out = []
    for key, value in params.items():
        values = _values(allowed, key)
        if values is None or (values and not any(_value_matches(str(v), str(value)) for v in values)):
            out.append(key)
    return out


def _value_matches(allowed: str, value: str) -> bool:
    if allowed.endswith("*"):
        return value.startswith(allowed[:-1])
    if allowed.startswith("*"):
        return value.endswith(allowed[1:])
    return allowed == value


def certificate_problems(
    policies: Sequence[Mapping[str, Any]], path: str, params: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """(problem, fix) for one workload's certificate request `params` on `path` (`<pki>/issue/<role>`)
    through an identity holding `policies`. Empty when the grant binds the names to what it asks for."""
    pattern = acl.winning_pattern(list(policies), path)
    if pattern is None:
        return []  # not granted at all: least privilege reports that
    rules = [rule for policy in policies for p, rule in policy.items() if p.lstrip("/") == pattern]
    out: list[tuple[str, str]] = []
    names = {k: params[k] for k in NAME_PARAMETERS if k in params}
    binding = "{" + ", ".join(f"{k}: [{v}]" for k, v in names.items()) + "}"
    for rule in rules:
        allowed = _allowed(rule)
        loose = [n for n in NAME_PARAMETERS if not _bound(allowed, n)]
        if loose:
            out.append(
                (
                    f"the rule {pattern} leaves {', '.join(loose)} open: the identity can obtain "
                    "certificates for any name the role allows, other workloads' names included",
                    f"bind the names on that rule: allowed_parameters: {binding}",
                )
            )
        refused = _refused(allowed, params)
        if refused:
            out.append(
                (
                    f"the rule {pattern} does not allow the {', '.join(refused)} this workload sends: Vault "
                    "will refuse its certificate",
                    f"list them in allowed_parameters: {binding}",
                )
            )
    return out


ISSUE_CAPS = frozenset({"create", "update"})


@functools.lru_cache(maxsize=16)
def _issue_targets(
    pki_mounts: tuple[str, ...],
) -> tuple[tuple[Pattern, ...], tuple[Pattern, ...], dict[str, tuple[Pattern, ...]]]:
    """Each mount's `issue/*` pattern; those whose first segment varies; and by first segment, the ones a
    rule starting with it can meet (in mount order): other first segments share no path with the rule."""
    targets = tuple(parse(f"{m.strip('/')}/issue/*") for m in pki_mounts)
    heads = [head(t) for t in targets]
    varying = tuple(t for t, h in zip(targets, heads, strict=True) if h is None)
    by_head = {
        h: tuple(t for t, other in zip(targets, heads, strict=True) if other in (h, None))
        for h in dict.fromkeys(heads)
        if h is not None
    }
    return targets, varying, by_head


def unbound_issue_grants(rules: Mapping[str, Any], pki_mounts: Iterable[str]) -> list[tuple[str, str, str]]:
    """(path, problem, fix) for each rule of one policy (path -> rule, already valid) that lets its holder
    issue from a declared PKI mount's `issue/<role>` with `common_name` or `alt_names` unbound. For
    identities no workload uses: with no request to compare against, any open name is too much."""
    normalized = acl.normalize_policy("policy #0", dict(rules))  # what acl.evaluator would raise
    evaluate = acl.normalized_evaluator([normalized])
    mounts = tuple(pki_mounts)
    try:
        targets, varying, by_head = _issue_targets(mounts)
    except TypeError:  # an unhashable mount: not cached (and refused by str.strip as before)
        targets, varying, by_head = _issue_targets.__wrapped__(mounts)
    out: list[tuple[str, str, str]] = []
    for (path, rule), norm in zip(rules.items(), normalized, strict=True):
        caps = frozenset(norm.capabilities)
        if "deny" in caps or not caps & ISSUE_CAPS:
            continue
        pattern = parse(norm.path)
        first = head(pattern)
        for target in targets if first is None else by_head.get(first, varying):
            inter = intersect(pattern, target)
            # the whole policy decides: a more specific deny or narrower rule takes the path away
            if inter is None or not caps & ISSUE_CAPS & evaluate(witness(inter)):
                continue
            loose = [n for n in NAME_PARAMETERS if not _bound(_allowed(rule), n)]
            if loose:
                out.append(
                    (
                        str(path),
                        f"the rule {path} leaves {', '.join(loose)} open on {inter.show()}: the identity "
                        "can obtain certificates for any name the role allows, other workloads' names "
                        "included",
                        "bind the names on that rule: allowed_parameters: {common_name: [<its own name>]} "
                        "(alt_names only if it needs them), or remove the grant",
                    )
                )
            break
    return out
