"""Names: child resource names, Kubernetes DNS-1123 names, Vault mount paths."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from vaultconf.errors import ConfigError

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_MOUNT = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
_VAULT_NAME = re.compile(r"^[A-Za-z0-9_.@-]+$")


def child(parent: str, suffix: str) -> str:
    """Pulumi name of a child: unique per parent, stable across runs."""
    return f"{parent}-{suffix}"


def dns_label(value: Any, component: str, field: str) -> str:
    """A Kubernetes namespace/label-style name (DNS-1123 label), or ConfigError."""
    if not isinstance(value, str) or len(value) > 63 or not _LABEL.match(value):
        raise ConfigError(
            component,
            field,
            f"{value!r} is not a DNS-1123 label",
            "use at most 63 lowercase letters, digits and '-', starting and ending alphanumeric",
        )
    return value


def dns_subdomain(value: Any, component: str, field: str) -> str:
    """A Kubernetes object name (DNS-1123 subdomain), or ConfigError."""
    if not isinstance(value, str) or len(value) > 253 or not all(_LABEL.match(p) for p in value.split(".")):
        raise ConfigError(
            component,
            field,
            f"{value!r} is not a valid Kubernetes object name",
            "use lowercase letters, digits, '-' and '.', starting and ending alphanumeric",
        )
    return value


def k8s_name(*parts: str, limit: int = 63) -> str:
    """A DNS-1123 label derived from arbitrary text; long names keep a hash so they stay unique."""
    raw = "-".join(parts)
    name = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-") or "x"
    if len(name) > limit or name != raw:
        digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
        name = f"{name[: limit - 9].rstrip('-')}-{digest}"
    return name


def _matching(value: Any, pattern: re.Pattern[str], component: str, field: str, what: str, fix: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise ConfigError(component, field, f"{value!r} is not a usable {what}", fix)
    return value


def mount_path(value: Any, component: str, field: str) -> str:
    """A Vault mount path (plain string, no leading or trailing '/'), or ConfigError."""
    fix = 'use a plain string of letters, digits, "_", ".", "-" and "/", e.g. "pki-int"'
    return _matching(value, _MOUNT, component, field, "Vault mount path", fix)


def vault_name(value: Any, component: str, field: str, *, lowercase: bool = False) -> str:
    """A Vault object name (user, role, policy), or ConfigError. `lowercase`: Vault lowercases these names
    (policies, userpass users), so a capital letter would show a diff on every run."""
    fix = 'use letters, digits, "_", ".", "@" and "-"'
    name = _matching(value, _VAULT_NAME, component, field, "Vault name", fix)
    if lowercase and name != name.lower():
        raise ConfigError(
            component, field, f"{name!r} has capitals, which Vault lowercases", f"use {name.lower()!r}"
        )
    return name


# --- the stack program's resource names ------------------------------------------------------------------
# One definition for everyone who names a resource of the stack: the stack builder names its components
# with these, each component names its children with `child(<component name>, <suffix>)`, and `vaultconf
# import` writes the same names, types and parents into the `pulumi import` file (config/live.py). A test
# runs the stack builder under mocks on an imported config and compares the two (tests/e2e/test_adopt.py
# does it on the real engine).

COMPONENT_TYPE = "vaultconf:index:{}"
"""Type token of a component: `Component` fills in the class name."""

VAULT_PROVIDER = "vault"
"""infra/__main__.py registers its explicit Vault provider under this name."""
USERPASS_BACKEND = "userpass"
AWS_ENGINE = "aws"
KUBERNETES_AUTH = "kubernetes-auth"
APPROLE = "approle"

# child suffixes, per component (Component.child)
POLICY_CHILD = "policy"
USER_CHILD = "user"
MOUNT_CHILD = "mount"  # KvStore and CertificateAuthority mounts
KV_CONFIG_CHILD = "config"
URLS_CHILD = "urls"
ROLE_CHILD = "role"  # PkiRole, AwsRole
BACKEND_CHILD = "backend"  # AwsSecretsEngine, KubernetesAuth, AppRole
AUTH_CONFIG_CHILD = "config"  # KubernetesAuth
SERVICE_ACCOUNT_CHILD = "service-account"  # Workload: the pod's ServiceAccount
LOGIN_VOLUME = "vault-login"
"""The pod volume holding the sidekick's login file (the sidecar builder mounts it, the lint looks for it)."""


def component_type(cls_name: str) -> str:
    return COMPONENT_TYPE.format(cls_name)


def _prefixed(prefix: str) -> Callable[[str], str]:
    """The name of one kind of the stack's objects: `<prefix>-<YAML name>`."""

    def name(value: str) -> str:
        return f"{prefix}-{value}"

    name.__doc__ = f"`{prefix}-<name>`: a stack's {prefix} component (or resource)."
    return name


policy = _prefixed("policy")
user = _prefixed("user")
ca = _prefixed("ca")
pki_role = _prefixed("pki-role")
aws_role = _prefixed("aws-role")
kv_store = _prefixed("kv")
namespace = _prefixed("ns")  # a Kubernetes Namespace the stack creates


def legacy_service_account(namespace: str, name: str) -> str:
    """Where stacks built before the Workload created its own ServiceAccount registered it (top level); the
    Workload aliases its child to this name so such stacks keep the account."""
    return f"sa-{namespace}-{name}"


def auth_role_child(role: str) -> str:
    """Suffix of a KubernetesAuth or AppRole role child: Vault role names may hold characters Pulumi names
    should not, so the child is named by the DNS-label form."""
    return f"role-{k8s_name(role)}"
