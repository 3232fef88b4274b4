"""The sensitive path families: where a write lets a token raise its own (or anyone's) privileges.

Each family lists path patterns in Vault's own pattern language, the capabilities that are dangerous there,
whether Vault also demands `sudo` (its root-protected paths, vault/logical_system.go `PathsSpecial.Root`:
`auth/*`, `audit/*`, `raw/*`, `plugins/catalog/*`, `leases/revoke-prefix/*`, ...; without sudo Vault refuses
the request, so the grant is not an escalation), and patterns excluded from the family (lookups that are
POSTs but change nothing).

Mount paths are arbitrary, so the secrets-engine families use generic shapes (`+/roles/*`, `+/config/*`):
they reach every mount, declared or not. `Mounts` adds what only makes sense for a mount whose type the
config declares (a PKI mount's `keys/` and `sign/`), and names the mount in messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .patterns import Pattern, parse

WRITE = frozenset({"create", "update"})
WRITE_PATCH = WRITE | {"patch"}
WRITE_DELETE = WRITE | {"delete"}
NOT_MOUNTS = ("sys/*", "auth/*", "identity/*", "cubbyhole/*")  # not secrets engines: own families


@dataclass(frozen=True)
class Family:
    id: str
    title: str
    patterns: tuple[str, ...]
    impact: str
    fix: str
    caps: frozenset[str] = WRITE
    sudo: bool = False
    excludes: tuple[str, ...] = ()
    self_ok: tuple[str, ...] = ()
    """Patterns where a templated segment means the holder's own object, which is no escalation (a user
    changing its own password)."""
    not_on: tuple[str, ...] = ()
    """Mount types (Mounts) this family does not apply to: a KV store's `config` or `roles/x` is a secret or
    the store's own settings, not an engine's roles or credentials."""

    def parsed(self) -> tuple[tuple[str, Pattern], ...]:
        return tuple((p, parse(p)) for p in self.patterns)


FAMILIES: tuple[Family, ...] = (
    Family(
        "acl-policies",
        "ACL policies",
        ("sys/policies/acl/+", "sys/policy/+"),
        "can rewrite any policy, including its own, and so grant itself anything",
        "manage policies with vaultconf (pulumi up), not with a token",
    ),
    Family(
        "auth-methods",
        "enabling, tuning or disabling auth methods",
        ("sys/auth/*",),
        "can mount a new auth method it controls, or re-tune and disable existing ones",
        "manage auth mounts with vaultconf, not with a token",
        WRITE_DELETE,
        sudo=True,
    ),
    Family(
        "secrets-engines",
        "enabling, tuning, moving or disabling secrets engines",
        ("sys/mounts/*",),
        "can mount, re-tune, move or disable secrets engines (disabling one destroys its secrets)",
        "manage mounts with vaultconf, not with a token",
        WRITE_DELETE,
    ),
    Family(
        "secrets-engines",
        "moving secrets engines",
        ("sys/remount",),
        "can move a mount (another team's secrets) under a path it can read",
        "manage mounts with vaultconf, not with a token",
        sudo=True,
    ),
    Family(
        "audit-devices",
        "audit devices",
        ("sys/audit/*", "sys/config/auditing/*"),
        "can disable or re-point the audit log and act unseen",
        "manage audit devices out of band; never grant them to a workload",
        WRITE_DELETE,
        sudo=True,
    ),
    Family(
        "plugins",
        "the plugin catalog",
        ("sys/plugins/catalog/*",),
        "can register a plugin binary that Vault then runs with its own rights",
        "register plugins out of band",
        WRITE_DELETE,
        sudo=True,
    ),
    Family(
        "root-operations",
        "raw storage, seal, key rotation",
        ("sys/raw", "sys/raw/*"),
        "can read and rewrite Vault's decrypted storage, every secret and token beneath every policy",
        "leave raw storage to operators with a root token; never grant it in a policy",
        WRITE_DELETE | {"read", "list"},
        sudo=True,
    ),
    Family(
        "root-operations",
        "seal, step-down, key rotation",
        ("sys/seal", "sys/step-down", "sys/rotate"),
        "can seal Vault (an outage for everyone) or rotate its keyring",
        "leave these to operators with a root token; never grant them in a policy",
        WRITE_DELETE,
        sudo=True,
    ),
    Family(
        "root-operations",
        "rekey, root generation, storage restore",
        (
            "sys/rekey/*",
            "sys/rekey-recovery-key/*",
            "sys/generate-root/*",
            "sys/generate-recovery-token/*",
            "sys/storage/*",
        ),
        "can start a rekey or a root token generation, or restore a storage snapshot",
        "leave these to operators holding unseal keys; never grant them in a policy",
        WRITE_DELETE,
    ),
    Family(
        "lease-revocation",
        "lease revoke-prefix / revoke-force",
        (
            "sys/leases/revoke-prefix/*",
            "sys/leases/revoke-force/*",
            "sys/revoke-prefix/*",
            "sys/revoke-force/*",
        ),
        "can revoke every secret and token under a prefix, other teams' included",
        "grant sys/leases/revoke (one lease by id) instead",
        sudo=True,
    ),
    Family(
        "userpass-users",
        "userpass users, their passwords and policies",
        ("auth/+/users/+", "auth/+/users/+/policies", "auth/+/users/+/password"),
        "can create users with any policies, or set another user's password or policies and log in as them",
        "let vaultconf manage users; a user may change only its own password "
        "(auth/<mount>/users/{{identity.entity.aliases.<accessor>.name}}/password)",
        self_ok=("auth/+/users/+/password",),
    ),
    Family(
        "auth-roles",
        "auth method roles (approle, kubernetes, jwt, ...)",
        (
            "auth/+/role/+",
            "auth/+/role/+/*",
            "auth/+/groups/+",
            "auth/+/certs/+",
            "auth/+/map/*",
        ),
        "can define a role with any policies, or mint a secret-id / set a role-id for another role, and "
        "log in through it",
        "let vaultconf manage roles; give a deployer only auth/<mount>/role/<its role>/secret-id if needed",
        excludes=(
            "auth/token/*",
            "auth/+/role/+/secret-id/lookup",
            "auth/+/role/+/secret-id-accessor/lookup",
        ),
    ),
    Family(
        "auth-config",
        "auth method configuration",
        ("auth/+/config", "auth/+/config/*"),
        "can re-point an auth method (kubernetes auth at an API server it controls) and log in as anyone",
        "configure auth methods with vaultconf, not with a token",
        excludes=("auth/token/*",),
    ),
    Family(
        "token-creation",
        "token creation beyond the caller's own rights",
        ("auth/token/roles/+", "auth/token/create-orphan", "auth/token/create/+"),
        "can define token roles with any policies, create tokens through a role (the role, not the "
        "caller's policies, decides their policies), or create orphan tokens that outlive their parent",
        "create child tokens through auth/token/create (a subset of the caller's policies)",
    ),
    Family(
        "token-creation-sudo",
        "token creation with sudo",
        ("auth/token/create",),
        "with sudo, can create tokens carrying any policy, root included",
        "drop sudo from auth/token/create",
        sudo=True,
    ),
    Family(
        "identity",
        "identity entities, groups and aliases",
        ("identity/entity*", "identity/group*", "identity/alias*", "identity/persona*"),
        "can attach policies to its own entity, join a privileged group, or move an alias onto its entity",
        "manage identity with vaultconf or an operator token, not a workload's",
    ),
    Family(
        "secrets-engine-config",
        "configuring a secrets engine (roles, root credentials, CA, connections)",
        (
            "+/roles/*",
            "+/static-roles/*",
            "+/config",
            "+/config/*",
            "+/root",
            "+/root/*",
            "+/intermediate/*",
            "+/issuer/*",
            "+/issuers/*",
            "+/sign-verbatim",
            "+/sign-verbatim/*",
            "+/rotate-root",
            "+/rotate-root/*",
        ),
        "can widen a role (any certificate name, any AWS policy), replace root credentials or a CA, or "
        "re-point a database connection",
        "grant only the using paths: <pki>/issue/<role>, <aws>/creds/<role>, <db>/creds/<role>",
        WRITE_PATCH,
        excludes=NOT_MOUNTS,
        not_on=("kv-v1", "kv-v2"),
    ),
)


@dataclass(frozen=True)
class Mounts:
    """What the config declares about mounts: mount path -> type ("pki", "aws", "kv-v1", "kv-v2", ...)."""

    types: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> Mounts:
        return cls({m.strip("/"): t for m, t in pairs})

    def describe(self, mount: str) -> str:
        kind = self.types.get(mount)
        return f" ({kind} mount '{mount}')" if kind else ""

    def families(self) -> tuple[Family, ...]:
        """FAMILIES plus the families only a declared mount's type makes sensitive."""
        pki = tuple(sorted(m for m, t in self.types.items() if t == "pki"))
        if not pki:
            return FAMILIES
        extra = Family(
            "secrets-engine-config",
            "configuring a PKI mount (its keys)",
            tuple(f"{m}/keys/*" for m in pki),
            "can import or replace the CA's keys",
            "manage PKI keys with vaultconf",
            WRITE_PATCH,
        )
        # sign/<role> takes the names from the caller's CSR, where allowed_parameters cannot reach them
        # (Vault's pki path_issue_sign.go: sign reads common_name and the SANs from the CSR unless the role
        # says otherwise), so any holder gets certificates for every name the role allows. sign-verbatim,
        # root/sign-* and issuer/<ref>/{sign,issue}/* are already engine configuration above. Declared PKI
        # mounts only: transit/sign/<key> and ssh/sign/<role> are the ordinary use of those engines.
        certificates = Family(
            "certificates",
            "signing a CSR, whose names Vault takes from it",
            tuple(f"{m}/sign/*" for m in pki),
            "can obtain certificates for any name the role allows, other workloads' names included: "
            "allowed_parameters cannot bind names that come from the CSR",
            "grant <pki>/issue/<role> instead, with allowed_parameters binding the workload's names "
            "(common_name, alt_names)",
        )
        return (*FAMILIES, extra, certificates)


NO_MOUNTS = Mounts()
