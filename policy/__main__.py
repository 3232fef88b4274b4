"""CrossGuard pack: `pulumi preview --policy-pack policy` enforces `vaultconf validate`'s policy lint and
least-privilege rules on what the program actually registers. Validators are thin: the rules are plain
functions in vaultconf.config.lint, tested in the main suite.

Policy config (`--policy-pack-config`): {"vault-policy-lint": {"ignore": {"<policy name>": ["sudo", ...]}}}.
Escalations are not ignorable here: a break-glass policy carries its reason (the Policy component's `admin`
argument writes it as the HCL's first line), and is then let through.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)
from rules import load_lint

lint = load_lint()


def _config(args: Any) -> dict[str, Any]:
    try:
        return dict(args.get_config() or {})
    except Exception:  # no config given
        return {}


def _policies(args: StackValidationArgs) -> Any:
    """(resource, policy name, ignore list, mounts) for every Vault policy the stack registers. A stack
    policy, not a resource one: the analysis needs the stack's mounts (a KV store's `config` is no
    engine's)."""
    resources = list(args.resources)
    mounts = lint.resource_mounts([(r.resource_type, r.props) for r in resources])
    ignores = _config(args).get("ignore") or {}
    for r in resources:
        if r.resource_type == "vault:index/policy:Policy":
            name = lint.prop(r.props, "name") or r.name
            yield r, name, ignores.get(name, []), mounts


def validate_policy(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for r, name, ignore, mounts in _policies(args):
        for issue in lint.policy_resource_issues(r.props, ignore, mounts):
            if issue.severity == "error":  # an allowance: validate prints it, the pack lets it through
                _report(name, issue, report_violation, r.urn)


def validate_wide_reads(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for r, name, ignore, mounts in _policies(args):
        for issue in lint.policy_resource_warnings(r.props, ignore, mounts):
            _report(name, issue, report_violation, r.urn)


def _report(name: str, issue: Any, report_violation: ReportViolation, urn: Any) -> None:
    where = f" on {issue.path!r}" if issue.path else ""
    family = f", family {issue.family}" if issue.family else ""
    report_violation(
        f"Vault policy {name!r}{where}: {issue.message} (fix: {issue.fix}; rule {issue.rule}{family})", urn
    )


def validate_access(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    resources = [(r.resource_type, r.props) for r in args.resources]
    for message in lint.resource_access_violations(resources):
        report_violation(message, None)


PolicyPack(
    name="vaultconf",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        StackValidationPolicy(
            name="vault-policy-lint",
            description="No privilege escalation (docs/policy-analysis.md), no sudo, no root-level '*'.",
            validate=validate_policy,
            config_schema=PolicyConfigSchema(properties={"ignore": {"type": "object"}}),
        ),
        StackValidationPolicy(
            name="vault-policy-wide-read",
            description="Reads over + or * at the mount or team segment span several teams' secrets.",
            validate=validate_wide_reads,
            enforcement_level=EnforcementLevel.ADVISORY,
            config_schema=PolicyConfigSchema(properties={"ignore": {"type": "object"}}),
        ),
        StackValidationPolicy(
            name="workload-least-privilege",
            description="Every secret a Workload's sidekick fetches is granted by its identity's policies.",
            validate=validate_access,
        ),
    ],
)
