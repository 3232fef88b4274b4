"""The policy lint of `vaultconf validate`: every policy through vaultconf.policy_analysis, with locations.

Also the location helpers the other validate rules share (rules.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from vaultconf import acl
from vaultconf.errors import ConfigError
from vaultconf.policy_analysis.certificates import unbound_issue_grants

from . import lint
from .findings import Finding, Loc, Severity
from .model import Config, Obj, Policy
from .policytext import PolicySyntaxError, parse_policy


def _err(rule: str, obj: Obj, key: str, message: str, fix: str, loc: Loc | None = None) -> Finding:
    field = f"{obj.field}.{key}" if key else obj.field
    return Finding(rule, loc or (obj.at(key) if key else obj.loc), field, message, fix)


def _warn(rule: str, obj: Obj, key: str, message: str, fix: str, loc: Loc | None = None) -> Finding:
    f = _err(rule, obj, key, message, fix, loc)
    return Finding(f.rule, f.loc, f.field, f.message, f.fix, Severity.WARNING)


def _policy_rules(policy: Policy) -> tuple[dict[str, Any] | None, Finding | None]:
    if policy.hcl is None:
        return policy.acl_rules(), None
    try:
        return parse_policy(policy.hcl), None
    except PolicySyntaxError as exc:
        loc = policy.at("hcl")
        return None, _err(
            "policy-syntax",
            policy,
            "hcl",
            f"cannot read HCL: {exc}",
            "fix the HCL, or write structured rules",
            Loc(loc.file, loc.line + exc.line),
        )


def _rule_syntax(policy: Policy, rules: dict[str, Any], problem: str) -> Finding:
    """The first rule Vault would reject, at its own key's line, with acl's fix (what to write)."""
    for path, rule in rules.items():
        try:
            acl.normalize_rule("policy", path, rule)
        except ConfigError as exc:
            loc = policy.node["rules"].locate(path) if policy.hcl is None else policy.at("hcl")
            return _err("policy-syntax", policy, f"rules.{path}", exc.problem, exc.fix, loc)
    return _err("policy-syntax", policy, "rules", problem, "merge or remove the conflicting rules")


def mounts_of(cfg: Config) -> lint.Mounts:
    """The secrets mounts the config declares, by type: the analysis names them and knows their shapes."""
    pairs = [(c.mount, "pki") for c in cfg.cas] + [(s.name, "kv-v2") for s in cfg.kv]
    if cfg.aws_engine is not None:
        pairs.append((cfg.aws_engine.mount, "aws"))
    return lint.Mounts.of(pairs)


SEVERITY = {"error": Severity.ERROR, "warning": Severity.WARNING, "allowance": Severity.ALLOWANCE}
UNPREFIXED = frozenset({"policy-syntax", "admin-allowance"})


def policy_lint(cfg: Config) -> list[Finding]:
    out: list[Finding] = []
    mounts = mounts_of(cfg)
    for policy in cfg.policies:
        rules, problem = _policy_rules(policy)
        if problem:
            out.append(problem)
            continue
        assert rules is not None
        invalid = lint.policy_errors(rules)
        if invalid:
            out.append(_rule_syntax(policy, rules, invalid))
            continue
        admin = policy.admin.get("reason") if policy.admin else None
        for issue in lint.lint_policy(rules, policy.lint_ignore, mounts=mounts, admin=admin):
            if policy.hcl is None and issue.path:
                loc, key = policy.node["rules"].locate(issue.path), f"rules.{issue.path}"
            elif issue.rule == "admin-allowance":
                loc, key = policy.at("admin"), "admin"
            else:
                loc, key = policy.at("hcl") if policy.hcl is not None else policy.loc, "hcl"
            rule = issue.rule if issue.rule in UNPREFIXED else f"lint-{issue.rule}"
            finding = _err(rule, policy, key, issue.message, issue.fix, loc)
            out.append(
                dataclasses.replace(
                    finding,
                    severity=SEVERITY[issue.severity],
                    policy=policy.name,
                    path=issue.path or None,
                    family=issue.family,
                )
            )
    return out + idle_certificate_grants(cfg)


def idle_certificate_grants(cfg: Config) -> list[Finding]:
    """`least-privilege-certificate` for identities no workload uses (a workload's own certificate is
    checked against its request in rules.least_privilege): an unbound `<pki>/issue/<role>` lets the user,
    kubernetes role or approle obtain certificates for every workload's names."""
    pki = [c.mount for c in cfg.cas]
    used = {(wl.identity.kind, wl.identity.name) for wl in cfg.workloads}
    holders: dict[str, list[str]] = {}
    for kind, pool in (("user", cfg.users), ("kubernetes_role", cfg.kubernetes_roles),
                       ("approle", cfg.approle_roles)):
        for ident in pool:
            if (kind, ident.name) not in used:
                for name in ident.policies:
                    holders.setdefault(name, []).append(f"{kind} '{ident.name}'")
    out: list[Finding] = []
    for policy in cfg.policies:
        if not pki or policy.name not in holders:
            continue
        rules, problem = _policy_rules(policy)
        if rules is None or problem is not None:
            continue  # reported by policy_lint
        try:
            grants = unbound_issue_grants(rules, pki)
        except ConfigError:
            continue  # a rule acl.py rejects: reported by policy_lint
        who = ", ".join(holders[policy.name])
        for path, trouble, fix in grants:
            loc = policy.node["rules"].locate(path) if policy.hcl is None else policy.at("hcl")
            key = f"rules.{path}" if policy.hcl is None else "hcl"
            message = f"{who} (no workload): {trouble}"
            finding = _err("least-privilege-certificate", policy, key, message, fix, loc)
            out.append(dataclasses.replace(finding, policy=policy.name, path=path))
    return out
