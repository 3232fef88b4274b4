"""Structured policy rules → Vault policy HCL.

Output is deterministic (paths sorted, capabilities in Vault's canonical order, parameter names sorted) so a
re-run never shows a diff, and every string is escaped so no path or value can break out of its quotes or
start an HCL interpolation.
"""

from __future__ import annotations

import json
from typing import Any

from vaultconf.acl import PathRule, normalize_policy


def hcl_string(value: str) -> str:
    """A double-quoted HCL string literal for any text."""
    # JSON escaping (\\, \", \n, \uXXXX for control characters) is valid HCL; '${' would still open an
    # interpolation in the HCL lexer, so its '$' is written as the \u0024 escape.
    return json.dumps(value, ensure_ascii=False).replace("${", "\\u0024{")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return hcl_string(str(value))


def _list(values: tuple[Any, ...]) -> str:
    return "[" + ", ".join(_scalar(v) for v in values) + "]"


def _block(rule: PathRule) -> list[str]:
    lines = [f"path {hcl_string(rule.path)} {{", f"  capabilities = {_list(rule.capabilities)}"]
    for name, params in (
        ("allowed_parameters", rule.allowed_parameters),
        ("denied_parameters", rule.denied_parameters),
    ):
        if params:
            lines.append(f"  {name} = {{")
            lines.extend(f"    {hcl_string(k)} = {_list(params[k])}" for k in sorted(params))
            lines.append("  }")
    if rule.required_parameters:
        lines.append(f"  required_parameters = {_list(rule.required_parameters)}")
    lines.append("}")
    return lines


def render_policy(rules: Any, *, component: str = "policy") -> str:
    """HCL for one policy given as path pattern → ["read", ...] or {"capabilities": [...], ...}.

    Raises ConfigError (naming `component`) for an empty policy, an unknown capability or a malformed rule.
    """
    blocks = [
        _block(rule) for rule in sorted(normalize_policy(component, rules, strict=True), key=lambda r: r.path)
    ]
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"
