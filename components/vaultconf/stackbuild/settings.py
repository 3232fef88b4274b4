"""Per-stack values that are not in the YAML: the stack program reads them from Pulumi config."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pulumi


@dataclasses.dataclass
class StackSettings:
    """Per-stack values that are not in the YAML (Pulumi config)."""

    vault_addr: str
    """Vault address as pods reach it (credentials Secrets, sidekick config, CA URLs)."""
    sidekick_image: str
    secret: Callable[[str], pulumi.Output[str]]
    """Reads a required Pulumi secret by key (config.require_secret); only called for what the YAML uses."""
    vault_ca_secret: str | None = None
    create_namespaces: bool = True
    enforce_policy_analysis: bool = True
    """False only with `validation: warn` (a policy-pack demo): Policy components log their escalations
    instead of refusing them, so `pulumi preview --policy-pack policy` is what blocks."""
    optional_secret: Callable[[str], pulumi.Output[str] | None] = lambda key: pulumi.Config().get_secret(key)
    """Reads an optional Pulumi secret (an adopted user's current password)."""
    kubernetes_ca_cert: str | None = None
    """PEM of the cluster CA for Vault's kubernetes auth; needed when Vault runs outside the cluster (Vault
    otherwise reads the in-pod CA file, and refuses the config when there is none)."""
