"""The one exception type the component library raises for bad input.

Every message names the component, the field and the fix on one line, so a `pulumi up` (or `vaultconf
validate`) shows something actionable instead of a traceback from inside the SDK.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """Bad input to a component: `component` (e.g. "User 'alice'"), `field` ("ttl"), `problem`, `fix`."""

    def __init__(self, component: str, field: str, problem: str, fix: str) -> None:
        self.component = component
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{component}: field '{field}': {problem}. Fix: {fix}")


def component_label(kind: str, name: str) -> str:
    """How errors name a component instance: `User 'alice'`."""
    return f"{kind} '{name}'"
