"""Policy lint and least-privilege rules as plain functions over plain data.

`vaultconf validate` calls them with locations attached (rules.py); the CrossGuard pack in policy/ calls them
on the resources a `pulumi preview` would register. Evaluation is vaultconf.acl's (Vault's own matching).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from vaultconf import acl
from vaultconf.errors import ConfigError

WRITE_CAPABILITIES = frozenset({"create", "update", "patch", "delete", "sudo", "recover"})

# Paths a glob must not grant write on: policy and auth administration let a token raise its own privileges.
SENSITIVE_PROBES: tuple[tuple[str, str], ...] = (
    ("sys/policies/acl/vaultconf-probe", "sys/policies/acl/*"),
    ("sys/policy/vaultconf-probe", "sys/*"),
    ("sys/auth/vaultconf-probe", "sys/*"),
    ("sys/mounts/vaultconf-probe", "sys/*"),
    ("auth/userpass/users/vaultconf-probe", "auth/*/users/*"),
    ("auth/vaultconf-probe/users/vaultconf-probe", "auth/*/users/*"),
    ("auth/kubernetes/role/vaultconf-probe", "auth/*"),
    ("auth/approle/role/vaultconf-probe", "auth/*"),
    ("auth/token/create", "auth/*"),
)


@dataclasses.dataclass(frozen=True)
class Issue:
    """One lint result: `rule` is the id users put in `lint_ignore`."""

    rule: str
    path: str
    message: str
    fix: str


def _caps(rule: Any) -> list[str]:
    if isinstance(rule, Mapping):
        return list(rule.get("capabilities") or [])
    return list(rule or [])


def _is_glob(path: str) -> bool:
    return path.endswith("*") or path == "+" or "/+" in path or path.startswith("+")


def lint_policy(rules: Mapping[str, Any], ignore: Iterable[str] = ()) -> list[Issue]:
    """Dangerous grants in one policy (path -> rule): sudo, privileged wildcards, root-level `*`."""
    skip = set(ignore)
    issues: list[Issue] = []
    for path, rule in rules.items():
        caps = set(_caps(rule))
        if "deny" in caps:
            continue
        norm = path.lstrip("/")
        if "sudo" in caps and "sudo" not in skip:
            issues.append(
                Issue(
                    "sudo",
                    path,
                    "grants sudo (root-protected endpoints)",
                    "drop sudo, or add `lint_ignore: [sudo]` to an operator policy that needs it",
                )
            )
        if norm in ("*", "+", "+/*") or (
            norm.startswith("+/") and norm.count("/") == 1 and norm.endswith("*")
        ):
            if "root-wildcard" not in skip:
                issues.append(
                    Issue(
                        "root-wildcard",
                        path,
                        "root-level wildcard grants every path in Vault",
                        "grant the specific mounts the identity needs, e.g. kv/data/<team>/*",
                    )
                )
            continue
        writes = sorted(caps & WRITE_CAPABILITIES)
        if not writes or not _is_glob(norm) or "privileged-wildcard" in skip:
            continue
        single = [{norm: {"capabilities": sorted(caps)}}]
        hits = sorted(
            {area for probe, area in SENSITIVE_PROBES if acl.capabilities(single, probe) & set(writes)}
        )
        if hits:
            issues.append(
                Issue(
                    "privileged-wildcard",
                    path,
                    f"wildcard grants {', '.join(writes)} on {', '.join(hits)} (privilege escalation)",
                    "list the exact administrative paths instead of a wildcard",
                )
            )
    return issues


def required_capability(secret_type: str, path: str) -> str:
    """The capability the sidekick needs for one declared secret."""
    if secret_type in ("pki", "write"):
        return "update"  # pki/issue/<role> and generic writes are POSTs
    if secret_type == "aws" and "/sts/" in f"/{path}":
        return "update"
    return "read"  # kv, secret, aws/creds


def policy_errors(rules: Mapping[str, Any]) -> str | None:
    """Why acl.py rejects a policy, or None."""
    try:
        acl.normalize_policy("policy", dict(rules))
    except ConfigError as exc:
        return f"{exc.field}: {exc.problem}"
    return None


def granted(policies: Sequence[Mapping[str, Any]], path: str) -> frozenset[str]:
    return acl.capabilities([dict(p) for p in policies], path)


def allowed(policies: Sequence[Mapping[str, Any]], path: str, capability: str) -> bool:
    return acl.allows([dict(p) for p in policies], path, capability)


@dataclasses.dataclass(frozen=True)
class Consumption:
    """A workload's need: `capability` on `path` through an identity holding `policies`."""

    workload: str
    secret: str
    path: str
    capability: str


def unused_grants(
    policy_rules: Mapping[str, Any],
    needs: Sequence[Consumption],
) -> list[tuple[str, list[str]]]:
    """(path, never-used capabilities) for rules of one policy that the identity's workloads never exercise.

    A rule's capability counts as used when some need's path matches that rule pattern (judged by Vault's
    matching against the single rule) and needs that capability.
    """
    out: list[tuple[str, list[str]]] = []
    for path, rule in policy_rules.items():
        caps = [c for c in _caps(rule) if c != "deny"]
        if not caps or "deny" in _caps(rule):
            continue
        single = [{path: {"capabilities": caps}}]
        used = {n.capability for n in needs if n.capability in acl.capabilities(single, n.path)}
        spare = [c for c in caps if c not in used]
        if spare:
            out.append((path, spare))
    return out
