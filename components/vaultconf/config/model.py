"""Typed desired state, built from a schema-valid merged tree.

Every object keeps `node` (its LocDict) so rules can point at the file and line of any field.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from vaultconf.binding import IDENTITY_KINDS, IdentityKind

from .findings import UNKNOWN, Loc
from .tree import LocDict


def _node(value: Any) -> LocDict:
    return value if isinstance(value, LocDict) else LocDict(UNKNOWN)


@dataclasses.dataclass
class Obj:
    name: str
    node: LocDict = dataclasses.field(repr=False, compare=False)
    field: str = dataclasses.field(compare=False, default="")  # e.g. users[billing-api]

    @property
    def loc(self) -> Loc:
        return self.node.loc

    def at(self, key: str) -> Loc:
        return self.node.locate(key)


@dataclasses.dataclass
class Rule:
    path: str
    capabilities: list[str]
    allowed_parameters: dict[str, list[Any]] | None = None
    denied_parameters: dict[str, list[Any]] | None = None
    required_parameters: list[str] | None = None
    loc: Loc = dataclasses.field(default=UNKNOWN, compare=False)

    def acl_rule(self) -> dict[str, Any]:
        """The rule as vaultconf.acl / vaultconf.hcl take it."""
        out: dict[str, Any] = {"capabilities": list(self.capabilities)}
        for key in ("allowed_parameters", "denied_parameters", "required_parameters"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out


@dataclasses.dataclass
class Policy(Obj):
    rules: list[Rule] = dataclasses.field(default_factory=list)
    hcl: str | None = None
    description: str = ""
    lint_ignore: list[str] = dataclasses.field(default_factory=list)
    admin: dict[str, str] | None = None  # break-glass allowance: {reason: ...} (docs/policy-analysis.md)

    def acl_rules(self) -> dict[str, Any]:
        """path -> rule, the shape vaultconf.acl and vaultconf.hcl take."""
        return {r.path: r.acl_rule() for r in self.rules}


@dataclasses.dataclass
class User(Obj):
    policies: list[str] = dataclasses.field(default_factory=list)
    namespaces: list[str] = dataclasses.field(default_factory=list)
    rotation: int = 0
    token_ttl: str | int | None = None
    token_max_ttl: str | int | None = None
    token_bound_cidrs: list[str] | None = None
    token_explicit_max_ttl: str | int | None = None
    token_no_default_policy: bool | None = None
    token_num_uses: int | None = None
    token_period: str | int | None = None
    token_type: str | None = None
    description: str = ""
    adopted: bool = False  # `vaultconf import`: keeps its live password until rotation >= 1


@dataclasses.dataclass
class CertificateAuthority(Obj):
    type: str = "root"
    mount: str = ""
    issuer: str | None = None
    common_name: str = ""
    organization: str | None = None
    ttl: str | int | None = None
    max_lease_ttl: str | int | None = None
    key_type: Literal["rsa", "ec", "ed25519"] | None = None
    key_bits: int | None = None
    description: str | None = None  # mount description
    issuing_certificates: list[str] | None = None
    crl_distribution_points: list[str] | None = None
    adopted: bool = False  # `vaultconf import`: the CA exists in Vault; none is generated
    external: bool = False  # owned by another stack (the platform): validated here, registered there


@dataclasses.dataclass
class PkiRole(Obj):
    ca: str = ""
    allowed_domains: list[str] = dataclasses.field(default_factory=list)
    allow_subdomains: bool | None = None
    allow_bare_domains: bool | None = None
    allow_localhost: bool | None = None
    allow_ip_sans: bool | None = None
    allow_wildcard_certificates: bool | None = None
    ttl: str | int | None = None
    max_ttl: str | int | None = None
    key_type: Literal["rsa", "ec", "ed25519", "any"] | None = None
    key_bits: int | None = None
    server_flag: bool | None = None
    client_flag: bool | None = None
    external: bool = False  # owned by another stack (the platform): validated here, registered there


@dataclasses.dataclass
class AwsEngine:
    mount: str = "aws"
    region: str | None = None
    iam_endpoint: str | None = None
    sts_endpoint: str | None = None
    default_lease_ttl: str | int | None = None
    max_lease_ttl: str | int | None = None
    adopted: bool = False  # `vaultconf import`: the root secret key Vault holds is kept, never sent
    external: bool = False  # owned by another stack (the platform): validated here, registered there
    node: LocDict = dataclasses.field(default_factory=LocDict, repr=False, compare=False)


@dataclasses.dataclass
class AwsRole(Obj):
    credential_type: Literal["iam_user", "assumed_role", "federation_token"] = "iam_user"
    policy_document: dict[str, Any] | str | None = None
    policy_arns: list[str] = dataclasses.field(default_factory=list)
    role_arns: list[str] = dataclasses.field(default_factory=list)
    default_sts_ttl: str | int | None = None
    max_sts_ttl: str | int | None = None
    external: bool = False  # owned by another stack (the platform): validated here, registered there


@dataclasses.dataclass
class KvSecret(Obj):
    keys: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class KvStore(Obj):
    max_versions: int | None = None
    cas_required: bool | None = None
    delete_version_after: str | int | None = None
    description: str | None = None  # mount description
    secrets: list[KvSecret] = dataclasses.field(default_factory=list)
    external: bool = False  # owned by another stack (the platform): validated here, registered there


@dataclasses.dataclass
class KubernetesRole(Obj):
    service_accounts: list[str] = dataclasses.field(default_factory=list)
    namespaces: list[str] = dataclasses.field(default_factory=list)
    policies: list[str] = dataclasses.field(default_factory=list)
    audience: str | None = None
    token_ttl: str | int | None = None
    token_max_ttl: str | int | None = None


@dataclasses.dataclass
class AppRoleRole(Obj):
    policies: list[str] = dataclasses.field(default_factory=list)
    namespaces: list[str] = dataclasses.field(default_factory=list)
    token_ttl: str | int | None = None
    token_max_ttl: str | int | None = None
    secret_id_ttl: str | int | None = None
    secret_id_num_uses: int | None = None
    secret_id_bound_cidrs: list[str] | None = None
    token_bound_cidrs: list[str] | None = None
    rotation: int | None = None
    adopted: bool = False  # `vaultconf import`: no new secret ID until rotation >= 1


@dataclasses.dataclass
class OnChange:
    """What the sidekick does after rewriting a secret's file (exactly one of exec and http)."""

    exec: list[str | int] | None = None
    env: dict[str, str | int | float] | None = None
    http: dict[str, str] | None = None
    timeout: str | int | None = None
    debounce: str | int | None = None


@dataclasses.dataclass
class WorkloadSecret(Obj):
    """One secret a workload's sidekick delivers; `name` is its name in the sidekick config, its metrics,
    logs and state, and its default file name."""

    type: Literal["kv", "pki", "aws", "secret", "write", "raw"] = "kv"
    path: str = ""
    kv_version: int | None = None
    version: int | None = None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    file: str | None = None
    format: str | None = None
    template: str | None = None
    mode: str | None = None
    update: str | int | None = None
    renew: bool | None = None
    revoke: bool | None = None
    jitter: float | None = None
    on_change: OnChange | None = None


@dataclasses.dataclass
class Identity:
    kind: IdentityKind
    name: str


@dataclasses.dataclass
class Workload(Obj):
    namespace: str = ""
    kind: Literal["Deployment", "Job"] = "Deployment"
    image: str = ""
    identity: Identity = dataclasses.field(default_factory=lambda: Identity("user", ""))
    secrets: list[WorkloadSecret] = dataclasses.field(default_factory=list)
    command: list[str] | None = None
    args: list[str] | None = None
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    replicas: int | None = None
    service_account: str | None = None
    secrets_dir: str | None = None
    native_sidecar: bool | None = None
    resources: dict[str, Any] | None = None
    sidekick_resources: dict[str, Any] | None = None
    sidekick_timing: dict[str, Any] | None = None
    ports: list[int] | None = None
    labels: dict[str, str] | None = None
    run_as_user: int | None = None
    backoff_limit: int | None = None

    @property
    def service_account_name(self) -> str:
        return self.service_account or self.name


@dataclasses.dataclass
class TokenReviewer:
    """kubernetes_auth.token_reviewer: the dedicated TokenReview ServiceAccount."""

    namespace: str
    service_account: str | None = None


@dataclasses.dataclass
class Config:
    """The whole desired state of one stack."""

    userpass_mount: str = "userpass"
    create_userpass_mount: bool = True
    userpass_mount_description: str | None = None  # auth mount descriptions: None leaves Vault's default
    users: list[User] = dataclasses.field(default_factory=list)
    policies: list[Policy] = dataclasses.field(default_factory=list)
    cas: list[CertificateAuthority] = dataclasses.field(default_factory=list)
    pki_roles: list[PkiRole] = dataclasses.field(default_factory=list)
    aws_engine: AwsEngine | None = None
    aws_roles: list[AwsRole] = dataclasses.field(default_factory=list)
    kv: list[KvStore] = dataclasses.field(default_factory=list)
    kubernetes_mount: str = "kubernetes"
    kubernetes_mount_description: str | None = None
    kubernetes_host: str | None = None
    kubernetes_audience: str | None = None
    kubernetes_token_reviewer: TokenReviewer | None = None
    kubernetes_roles: list[KubernetesRole] = dataclasses.field(default_factory=list)
    kubernetes_external: bool = False  # the mount and its config are another stack's; the roles are ours
    approle_mount: str = "approle"
    approle_mount_description: str | None = None
    approle_roles: list[AppRoleRole] = dataclasses.field(default_factory=list)
    approle_external: bool = False  # the mount is another stack's; the roles are ours
    workloads: list[Workload] = dataclasses.field(default_factory=list)
    tree: LocDict = dataclasses.field(default_factory=LocDict, repr=False, compare=False)

    def policy(self, name: str) -> Policy | None:
        return next((p for p in self.policies if p.name == name), None)

    def ca(self, name: str) -> CertificateAuthority | None:
        return next((c for c in self.cas if c.name == name), None)


def _fields(cls: type, node: LocDict, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)} - {"node", "field", "loc"} - set(skip)
    return {k: v for k, v in node.items() if k in names}


def _items(tree: LocDict, section: str, sub: str | None = None) -> list[tuple[str, LocDict]]:
    holder: Any = tree.get(section)
    prefix = section
    if sub is not None:
        holder = holder.get(sub) if isinstance(holder, dict) else None
        prefix = f"{section}.{sub}"
    if not isinstance(holder, list):
        return []
    return [(f"{prefix}[{item.get('name')}]", _node(item)) for item in holder if isinstance(item, dict)]


def _on_change(node: Any) -> OnChange | None:
    return None if node is None else OnChange(**node)


def build(tree: LocDict) -> Config:
    """Typed config from a tree that passed the schema."""
    cfg = Config(tree=tree)
    settings = _node(tree.get("settings"))
    cfg.userpass_mount = settings.get("userpass_mount", "userpass")
    cfg.create_userpass_mount = settings.get("create_userpass_mount", True)
    cfg.userpass_mount_description = settings.get("userpass_mount_description")

    for field, node in _items(tree, "policies"):
        raw_rules = node.get("rules") or LocDict()
        rules = [
            Rule(
                path=p,
                loc=raw_rules.locate(p),
                **({"capabilities": list(r)} if isinstance(r, list) else dict(r)),
            )
            for p, r in raw_rules.items()
        ]
        cfg.policies.append(Policy(node=node, field=field, rules=rules, **_fields(Policy, node, ("rules",))))
    for field, node in _items(tree, "users"):
        cfg.users.append(User(node=node, field=field, **_fields(User, node)))
    for field, node in _items(tree, "pki", "cas"):
        kw = _fields(CertificateAuthority, node)
        kw.setdefault("mount", node["name"])
        cfg.cas.append(CertificateAuthority(node=node, field=field, **kw))
    for field, node in _items(tree, "pki", "roles"):
        cfg.pki_roles.append(PkiRole(node=node, field=field, **_fields(PkiRole, node)))
    aws = _node(tree.get("aws"))
    if "engine" in aws:
        engine = _node(aws["engine"])
        cfg.aws_engine = AwsEngine(node=engine, **_fields(AwsEngine, engine))
    for field, node in _items(tree, "aws", "roles"):
        cfg.aws_roles.append(AwsRole(node=node, field=field, **_fields(AwsRole, node)))
    for field, node in _items(tree, "kv"):
        kv_secrets = [
            KvSecret(
                node=_node(s), field=f"{field}.secrets[{s['name']}]", name=s["name"], keys=list(s["keys"])
            )
            for s in node.get("secrets") or []
        ]
        cfg.kv.append(
            KvStore(node=node, field=field, secrets=kv_secrets, **_fields(KvStore, node, ("secrets",)))
        )
    k8s = _node(tree.get("kubernetes_auth"))
    cfg.kubernetes_mount = k8s.get("mount", "kubernetes")
    cfg.kubernetes_host = k8s.get("kubernetes_host")
    cfg.kubernetes_mount_description = k8s.get("description")
    cfg.kubernetes_audience = k8s.get("audience")
    cfg.kubernetes_external = k8s.get("external", False)
    if k8s.get("token_reviewer") is not None:
        cfg.kubernetes_token_reviewer = TokenReviewer(**k8s["token_reviewer"])
    for field, node in _items(tree, "kubernetes_auth", "roles"):
        cfg.kubernetes_roles.append(KubernetesRole(node=node, field=field, **_fields(KubernetesRole, node)))
    approle = _node(tree.get("approle"))
    cfg.approle_mount = approle.get("mount", "approle")
    cfg.approle_mount_description = approle.get("description")
    cfg.approle_external = approle.get("external", False)
    for field, node in _items(tree, "approle", "roles"):
        cfg.approle_roles.append(AppRoleRole(node=node, field=field, **_fields(AppRoleRole, node)))
    for field, node in _items(tree, "workloads"):
        ident = _node(node["identity"])
        kind, ref = next(iter(ident.items()))  # the schema allows exactly one of the three kinds
        wl_secrets = [
            WorkloadSecret(
                node=_node(s),
                field=f"{field}.secrets[{s['name']}]",
                on_change=_on_change(s.get("on_change")),
                **_fields(WorkloadSecret, _node(s), ("on_change",)),
            )
            for s in node.get("secrets") or []
        ]
        cfg.workloads.append(
            Workload(
                node=node,
                field=field,
                identity=Identity(IDENTITY_KINDS[kind], ref),
                secrets=wl_secrets,
                **_fields(Workload, node, ("identity", "secrets")),
            )
        )
    return cfg
