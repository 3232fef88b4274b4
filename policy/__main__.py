"""CrossGuard pack: `pulumi preview --policy-pack policy` enforces `vaultconf validate`'s policy lint and
least-privilege rules on what the program actually registers. Validators are thin: the rules are plain
functions in vaultconf.config.lint, tested in the main suite.

Policy config (`--policy-pack-config`): {"vault-policy-lint": {"ignore": {"<policy name>": ["sudo", ...]}}}.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
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


def validate_policy(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != "vault:index/policy:Policy":
        return
    name = lint.prop(args.props, "name") or args.name
    ignore = (_config(args).get("ignore") or {}).get(name, [])
    for issue in lint.policy_resource_issues(args.props, ignore):
        where = f" on {issue.path!r}" if issue.path else ""
        report_violation(
            f"Vault policy {name!r}{where}: {issue.message} (fix: {issue.fix}; rule {issue.rule})", None
        )


def validate_access(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    resources = [(r.resource_type, r.props) for r in args.resources]
    for message in lint.resource_access_violations(resources):
        report_violation(message, None)


PolicyPack(
    name="vaultconf",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        ResourceValidationPolicy(
            name="vault-policy-lint",
            description="No sudo, no wildcard write on sys/ or auth/ (escalation), no root-level '*'.",
            validate=validate_policy,
            config_schema=PolicyConfigSchema(properties={"ignore": {"type": "object"}}),
        ),
        StackValidationPolicy(
            name="workload-least-privilege",
            description="Every secret a Workload's sidekick fetches is granted by its identity's policies.",
            validate=validate_access,
        ),
    ],
)
