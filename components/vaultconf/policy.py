"""Policy: a Vault ACL policy from structured rules (rendered to HCL) or from raw HCL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict

import pulumi
import pulumi_vault as vault

from vaultconf import names, policy_analysis
from vaultconf._base import Component, start
from vaultconf._types import Input
from vaultconf.acl import PolicyRules
from vaultconf.errors import ConfigError
from vaultconf.hcl import render_policy


class PolicyArgs(TypedDict, total=False):
    """Arguments of `Policy`. Exactly one of `rules` and `hcl`."""

    name: str
    """Policy name in Vault (default: the component's name)."""
    rules: Mapping[str, Any]
    """Plain structured rules: path pattern → ["read", ...] or {"capabilities": [...],
    "allowed_parameters": {...}, "denied_parameters": {...}, "required_parameters": [...]}. Plain (not an
    Output) so capabilities are checked, and workloads' reads verified, before anything is deployed."""
    hcl: Input[str]
    """Raw policy HCL. Plain text is analysed like rules; an Output cannot be (workloads cannot be verified
    against raw HCL either)."""
    analysis: Literal["enforce", "warn"]
    """"enforce" (default): an escalation or another policy-lint error fails construction. "warn" logs it
    instead; only for demonstrating that the CrossGuard pack blocks what got this far."""
    mounts: Mapping[str, str]
    """What the analysis may know about mounts: path -> type ("pki", "aws", "kv-v1", "kv-v2"). The stack
    passes the mounts its config declares, so the component judges exactly as `vaultconf validate`."""
    lint_ignore: Sequence[str]
    """Lint rules acknowledged for this policy: "sudo", "root-wildcard", "wide-read" (never an escalation)."""
    admin: Mapping[str, str]
    """A break-glass admin policy: {"reason": "..."}. Its escalations are allowed (logged, and written as the
    HCL's first line so the CrossGuard pack sees the allowance); without it they fail construction."""


class Policy(Component):
    """An ACL policy in Vault."""

    name: pulumi.Output[str]
    """The policy name, to list in token policies."""
    hcl: pulumi.Output[str]
    """The policy document."""
    rules: PolicyRules | None
    """The structured rules (None for raw HCL): plain, for ACL checks such as Workload's."""

    def __init__(
        self, resource_name: str, args: PolicyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        who = start(Policy, resource_name, args, PolicyArgs)
        policy_name = names.vault_name(args.get("name", resource_name), who, "name", lowercase=True)
        if ("rules" in args) == ("hcl" in args):
            raise ConfigError(
                who,
                "rules",
                "give exactly one of rules and hcl",
                "use rules (structured, checked) unless you need raw HCL",
            )
        admin = _admin_reason(args.get("admin"), who)
        ignore = list(args.get("lint_ignore", []))
        enforce = args.get("analysis", "enforce") != "warn"
        mounts = _mounts(args.get("mounts", {}), who)
        document: Input[str]
        if "rules" in args:
            self.rules = args["rules"]
            document = render_policy(self.rules, component=who)
            judge(self.rules, admin, who, "rules", ignore, enforce, mounts)
        else:
            self.rules = None
            document = args["hcl"]
            if isinstance(document, str) and not document.strip():
                raise ConfigError(who, "hcl", "the policy is empty", "add at least one path block")
            if isinstance(document, str):
                judge(_parse_hcl(document, who), admin, who, "hcl", ignore, enforce, mounts)
        if admin is not None:
            marker = policy_analysis.admin_marker(admin)
            if isinstance(document, str):
                document = marker + document
            else:
                document = pulumi.Output.concat(marker, document)
        super().__init__(resource_name, opts)
        policy = vault.Policy(
            self.child(names.POLICY_CHILD), name=policy_name, policy=document, opts=self.opts()
        )
        self.name = policy.name
        self.hcl = policy.policy
        self.register_outputs({"name": self.name, "hcl": self.hcl})


def _admin_reason(admin: Any, who: str) -> str | None:
    if admin is None:
        return None
    if not isinstance(admin, Mapping) or set(admin) != {"reason"}:
        raise ConfigError(
            who, "admin", f"expected {{'reason': '...'}}, got {admin!r}", "say why it may escalate"
        )
    return policy_analysis.clean_reason(admin["reason"], who)


def _mounts(mounts: Any, who: str) -> policy_analysis.Mounts:
    if not isinstance(mounts, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in mounts.items()
    ):
        raise ConfigError(
            who,
            "mounts",
            f"expected a mapping of mount path to type, got {mounts!r}",
            'write e.g. {"apps": "kv-v2"}',
        )
    return policy_analysis.Mounts.of(mounts.items())


def _parse_hcl(text: str, who: str) -> dict[str, Any]:
    from vaultconf.config.policytext import PolicySyntaxError, parse_policy

    try:
        return parse_policy(text)
    except PolicySyntaxError as exc:
        raise ConfigError(who, "hcl", f"cannot read the policy HCL: {exc}", "fix the HCL") from None


def judge(
    rules: Mapping[str, Any],
    admin: str | None,
    who: str,
    field: str,
    ignore: Sequence[str] = (),
    enforce: bool = True,
    mounts: policy_analysis.Mounts = policy_analysis.NO_MOUNTS,
) -> None:
    """The policy analysis at construction: the first error raises (the message `vaultconf validate` and the
    CrossGuard pack print), warnings and an admin allowance are logged."""
    issues = policy_analysis.analyze(rules, admin=admin, ignore=ignore, mounts=mounts)
    errors = sorted(
        (i for i in issues if i.severity == "error"), key=lambda i: i.rule != "escalation"
    )  # the escalation first: it is what the holder could do
    for issue in errors[:1] if enforce else ():
        where = f"{field}[{issue.path!r}]" if issue.path and field == "rules" else field
        raise ConfigError(who, where, issue.message, issue.fix)
    for issue in issues:
        text = f"{who}: {issue.message} (fix: {issue.fix})"
        if issue.severity in ("error", "warning"):  # an error here: analysis "warn", left to the pack
            pulumi.log.warn(text)
        else:
            pulumi.log.info(text)


def policy_names(policies: Any, who: str, field: str = "policies") -> list[Input[str]]:
    """Token policy names from a list of Policy components, names or Outputs."""
    if policies is None:
        return []
    if isinstance(policies, str) or not isinstance(policies, list | tuple):
        raise ConfigError(
            who, field, f"expected a list of policies, got {policies!r}", 'write e.g. [app_policy, "default"]'
        )
    out: list[Input[str]] = []
    for p in policies:
        if isinstance(p, Policy):
            out.append(p.name)
        elif isinstance(p, str):
            out.append(names.vault_name(p, who, field, lowercase=True))
        elif isinstance(p, pulumi.Output):
            out.append(p)
        else:
            raise ConfigError(
                who, field, f"{p!r} is not a Policy or a policy name", "pass Policy objects or names"
            )
    return out


def known_rules(policies: Any) -> list[PolicyRules] | None:
    """The plain rules behind `policies`, or None if any of them is opaque (a bare name or raw HCL)."""
    rules: list[PolicyRules] = []
    for p in policies or []:
        if p == "default":  # Vault's built-in token self-service policy: grants no secret paths
            continue
        if not isinstance(p, Policy) or p.rules is None:
            return None
        rules.append(p.rules)
    return rules
