"""vaultconf: Vault configuration as code for Kubernetes workloads, as Pulumi components.

import vaultconf
reader = vaultconf.Policy("app-read", {"rules": {"kv/data/app/*": ["read"]}})
user = vaultconf.User("app", {"policies": [reader], "namespaces": ["team-a"], "vault_addr": addr})
"""

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

COMPONENTS = (
    Policy,
    User,
    CertificateAuthority,
    PkiRole,
    AwsSecretsEngine,
    AwsRole,
    KvStore,
    KubernetesAuth,
    AppRole,
    Workload,
)

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
