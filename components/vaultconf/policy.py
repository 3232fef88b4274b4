"""Policy: a Vault ACL policy from structured rules (rendered to HCL) or from raw HCL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

import pulumi
import pulumi_vault as vault

from vaultconf import names
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
    """Raw policy HCL, taken as is (not checked; workloads cannot be verified against it)."""


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
        document: Input[str]
        if "rules" in args:
            self.rules = args["rules"]
            document = render_policy(self.rules, component=who)
        else:
            self.rules = None
            document = args["hcl"]
            if isinstance(document, str) and not document.strip():
                raise ConfigError(who, "hcl", "the policy is empty", "add at least one path block")
        super().__init__(resource_name, opts)
        policy = vault.Policy(self.child("policy"), name=policy_name, policy=document, opts=self.opts())
        self.name = policy.name
        self.hcl = policy.policy
        self.register_outputs({"name": self.name, "hcl": self.hcl})


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
