"""vaultconf: Vault configuration as code for Kubernetes workloads, as Pulumi components.

import vaultconf
reader = vaultconf.Policy("app-read", {"rules": {"kv/data/app/*": ["read"]}})
user = vaultconf.User("app", {"policies": [reader], "namespaces": ["team-a"], "vault_addr": addr})
"""

# Components import the Pulumi provider SDKs (seconds of start-up); `vaultconf validate` and the policy
# pack need only the pure modules, so every public name is loaded on first use (PEP 562).

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

# The sidekick package owns the sidekick's configuration contract (its JSON Schema and capability table), and
# the components emit against it. It is not on PyPI under a name we own, so it is not declared as a
# dependency (a name resolved from the index could be anyone's): without it, say once what to install.
if importlib.util.find_spec("sidekick") is None:
    raise ModuleNotFoundError(
        "vaultconf needs the sidekick package, which defines the sidekick's configuration contract: install "
        "it beside vaultconf (`pip install -e sidekick_image` in a checkout, or "
        "`pip install \"vault-sidekick-py @ git+<this repository>#subdirectory=sidekick_image\"`)",
        name="sidekick",
    )

if TYPE_CHECKING:
    from vaultconf.acl import VAULT_CAPABILITIES, allows, capabilities
    from vaultconf.approle import AppRole, AppRoleArgs, AppRoleSpec
    from vaultconf.auth import SidekickAuth
    from vaultconf.aws import AwsRole, AwsRoleArgs, AwsSecretsEngine, AwsSecretsEngineArgs
    from vaultconf.errors import ConfigError
    from vaultconf.hcl import render_policy
    from vaultconf.kubernetes_auth import KubernetesAuth, KubernetesAuthArgs, KubernetesRoleSpec
    from vaultconf.kv import KvStore, KvStoreArgs
    from vaultconf.pki import CertificateAuthority, CertificateAuthorityArgs, PkiRole, PkiRoleArgs
    from vaultconf.policy import Policy, PolicyArgs
    from vaultconf.sidecar import SidekickParts, SidekickSecret, sidekick_container
    from vaultconf.ttl import parse_ttl
    from vaultconf.user import User, UserArgs
    from vaultconf.workload import Workload, WorkloadArgs

_LAZY: dict[str, str] = {
    "VAULT_CAPABILITIES": "vaultconf.acl",
    "allows": "vaultconf.acl",
    "capabilities": "vaultconf.acl",
    "AppRole": "vaultconf.approle",
    "AppRoleArgs": "vaultconf.approle",
    "AppRoleSpec": "vaultconf.approle",
    "SidekickAuth": "vaultconf.auth",
    "AwsRole": "vaultconf.aws",
    "AwsRoleArgs": "vaultconf.aws",
    "AwsSecretsEngine": "vaultconf.aws",
    "AwsSecretsEngineArgs": "vaultconf.aws",
    "ConfigError": "vaultconf.errors",
    "render_policy": "vaultconf.hcl",
    "KubernetesAuth": "vaultconf.kubernetes_auth",
    "KubernetesAuthArgs": "vaultconf.kubernetes_auth",
    "KubernetesRoleSpec": "vaultconf.kubernetes_auth",
    "KvStore": "vaultconf.kv",
    "KvStoreArgs": "vaultconf.kv",
    "CertificateAuthority": "vaultconf.pki",
    "CertificateAuthorityArgs": "vaultconf.pki",
    "PkiRole": "vaultconf.pki",
    "PkiRoleArgs": "vaultconf.pki",
    "Policy": "vaultconf.policy",
    "PolicyArgs": "vaultconf.policy",
    "SidekickParts": "vaultconf.sidecar",
    "SidekickSecret": "vaultconf.sidecar",
    "sidekick_container": "vaultconf.sidecar",
    "parse_ttl": "vaultconf.ttl",
    "User": "vaultconf.user",
    "UserArgs": "vaultconf.user",
    "Workload": "vaultconf.workload",
    "WorkloadArgs": "vaultconf.workload",
}

_COMPONENT_NAMES = (
    "Policy",
    "User",
    "CertificateAuthority",
    "PkiRole",
    "AwsSecretsEngine",
    "AwsRole",
    "KvStore",
    "KubernetesAuth",
    "AppRole",
    "Workload",
)


def __getattr__(name: str) -> Any:
    if name == "COMPONENTS":
        value: Any = tuple(__getattr__(n) for n in _COMPONENT_NAMES)
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "COMPONENTS",
    "VAULT_CAPABILITIES",
    "AppRole",
    "AppRoleArgs",
    "AppRoleSpec",
    "AwsRole",
    "AwsRoleArgs",
    "AwsSecretsEngine",
    "AwsSecretsEngineArgs",
    "CertificateAuthority",
    "CertificateAuthorityArgs",
    "ConfigError",
    "KubernetesAuth",
    "KubernetesAuthArgs",
    "KubernetesRoleSpec",
    "KvStore",
    "KvStoreArgs",
    "PkiRole",
    "PkiRoleArgs",
    "Policy",
    "PolicyArgs",
    "SidekickAuth",
    "SidekickParts",
    "SidekickSecret",
    "User",
    "UserArgs",
    "Workload",
    "WorkloadArgs",
    "allows",
    "capabilities",
    "parse_ttl",
    "render_policy",
    "sidekick_container",
]
