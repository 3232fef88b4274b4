"""The component library's error hierarchy: every exception it raises on purpose is a `VaultconfError`.

    VaultconfError
    ├── ConfigError            bad input to a component (also a ValueError)
    ├── UnusableInput          input validate cannot load at all: exit 2 (config/findings.py)
    │   └── VaultApiError      Vault refused or could not be reached (config/vault_http.py)
    ├── PolicySyntaxError      unparsable policy HCL (config/policytext.py; also a ValueError)
    └── UsageError             bad command line or environment: exit 2 (cli_support.py)

The names differ from the sidekick's (`SidekickError`, `SidekickConfigError`, `VaultRequestError`), so a
traceback or an `except` clause says which package it means. Every message names the component, the field
and the fix on one line, so a `pulumi up` (or `vaultconf validate`) shows something actionable instead of a
traceback from inside the SDK.
"""

from __future__ import annotations


class VaultconfError(Exception):
    """Base of every error the vaultconf library and CLI raise on purpose."""


class ConfigError(VaultconfError, ValueError):
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
