"""Build a validated Config with the vaultconf components (the body of infra/__main__.py).

Providers come only through `providers` (passed to every component via opts). Kubernetes objects inside
components must wait for the namespaces created here; component `depends_on` does not reach children, so a
transformation (inherited by children) adds that dependency to every Kubernetes child.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vault as vault

import vaultconf
from vaultconf import names
from vaultconf.auth import SidekickAuth

from .model import Config, Workload, adopted_password_key, seed_config_key
from .rules import mounts_of


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


@dataclasses.dataclass
class Built:
    policies: dict[str, vaultconf.Policy] = dataclasses.field(default_factory=dict)
    users: dict[str, vaultconf.User] = dataclasses.field(default_factory=dict)
    cas: dict[str, vaultconf.CertificateAuthority] = dataclasses.field(default_factory=dict)
    pki_roles: dict[str, vaultconf.PkiRole] = dataclasses.field(default_factory=dict)
    aws_engine: vaultconf.AwsSecretsEngine | None = None
    aws_roles: dict[str, vaultconf.AwsRole] = dataclasses.field(default_factory=dict)
    kv: dict[str, vaultconf.KvStore] = dataclasses.field(default_factory=dict)
    kubernetes_auth: vaultconf.KubernetesAuth | None = None
    approle: vaultconf.AppRole | None = None
    namespaces: dict[str, k8s.core.v1.Namespace] = dataclasses.field(default_factory=dict)
    workloads: dict[str, vaultconf.Workload] = dataclasses.field(default_factory=dict)


def _clean(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v is not None}


def _after(resources: Sequence[pulumi.Resource], only_kubernetes: bool = False) -> Callable[..., Any]:
    def transform(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if not resources or args.type_.startswith("vaultconf:"):
            return None
        if only_kubernetes and not args.type_.startswith("kubernetes:"):
            return None
        extra = pulumi.ResourceOptions(depends_on=list(resources))
        return pulumi.ResourceTransformationResult(args.props, pulumi.ResourceOptions.merge(args.opts, extra))

    return transform


def namespaces_of(cfg: Config) -> list[str]:
    found: set[str] = set()
    for user in cfg.users:
        found.update(user.namespaces)
    for role in cfg.approle_roles:
        found.update(role.namespaces)
    found.update(w.namespace for w in cfg.workloads)
    return sorted(found)


def build(cfg: Config, settings: StackSettings, providers: Sequence[pulumi.ProviderResource]) -> Built:
    out = Built()
    k8s_provider = [p for p in providers if p.package == "kubernetes"]

    def opts(*after: pulumi.Resource, k8s_after: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            providers=list(providers),
            depends_on=list(after),
            transformations=[_after(list(after)), _after(list(k8s_after), only_kubernetes=True)],
        )

    if settings.create_namespaces:
        for ns in namespaces_of(cfg):
            out.namespaces[ns] = k8s.core.v1.Namespace(
                f"ns-{ns}",
                metadata={"name": ns, "labels": {"app.kubernetes.io/managed-by": "vaultconf"}},
                opts=pulumi.ResourceOptions(provider=k8s_provider[0] if k8s_provider else None),
            )
    all_ns = list(out.namespaces.values())

    def ns_deps(wanted: Sequence[str]) -> list[pulumi.Resource]:
        # only the namespaces a component writes to: waiting on all of them gave every user Secret and
        # workload object one dependency per namespace of the organisation (50,000 edges at 1,000 users)
        return [out.namespaces[ns] for ns in wanted if ns in out.namespaces]

    mounts = mounts_of(cfg)
    for policy in cfg.policies:
        args: dict[str, Any] = {"name": policy.name}
        if policy.lint_ignore:
            args["lint_ignore"] = list(policy.lint_ignore)
        if policy.admin:
            args["admin"] = {"reason": policy.admin["reason"]}  # judged again by the component
        if not settings.enforce_policy_analysis:
            args["analysis"] = "warn"
        args["mounts"] = dict(mounts.types)  # the component judges as validate does
        if policy.hcl is not None:
            args["hcl"] = policy.hcl
        else:
            args["rules"] = policy.acl_rules()
        out.policies[policy.name] = vaultconf.Policy(names.policy(policy.name), args, opts())  # type: ignore[arg-type]

    def policy_refs(names: Sequence[str]) -> list[Any]:
        return [out.policies.get(n, n) for n in names]

    mount: list[pulumi.Resource] = []
    if cfg.users and cfg.create_userpass_mount:
        mount.append(
            vault.AuthBackend(
                names.USERPASS_BACKEND,
                type="userpass",
                path=cfg.userpass_mount,
                opts=pulumi.ResourceOptions(providers=list(providers)),
            )
        )
    for user in cfg.users:
        out.users[user.name] = vaultconf.User(
            names.user(user.name),
            _clean(
                {  # type: ignore[arg-type]
                    "username": user.name,
                    "mount": cfg.userpass_mount,
                    "policies": policy_refs(user.policies),
                    "namespaces": user.namespaces,
                    "rotation": user.rotation,
                    "token_ttl": user.token_ttl,
                    "token_max_ttl": user.token_max_ttl,
                    "vault_addr": settings.vault_addr,
                    "adopted": user.adopted or None,
                    "current_password": (
                        settings.optional_secret(adopted_password_key(user.name)) if user.adopted else None
                    ),
                }
            ),
            opts(*mount, k8s_after=ns_deps(user.namespaces)),
        )

    for ca in _issuer_order(cfg):
        issuer = out.cas.get(ca.issuer) if ca.issuer else None
        out.cas[ca.name] = vaultconf.CertificateAuthority(
            names.ca(ca.name),
            _clean(
                {  # type: ignore[arg-type]
                    "path": ca.mount,
                    "common_name": ca.common_name,
                    "issuer": issuer,
                    "ttl": ca.ttl,
                    "max_lease_ttl": ca.max_lease_ttl,
                    "key_type": ca.key_type,
                    "key_bits": ca.key_bits,
                    "organization": ca.organization,
                    "vault_addr": settings.vault_addr,
                    "description": ca.description,
                    "issuing_certificates": ca.issuing_certificates,
                    "crl_distribution_points": ca.crl_distribution_points,
                    "adopted": ca.adopted or None,
                }
            ),
            opts(),
        )
    for role in cfg.pki_roles:
        out.pki_roles[role.name] = vaultconf.PkiRole(
            names.pki_role(role.name),
            _clean(
                {  # type: ignore[arg-type]
                    "ca": out.cas[role.ca],
                    "name": role.name,
                    "allowed_domains": role.allowed_domains,
                    "allow_subdomains": role.allow_subdomains,
                    "allow_bare_domains": role.allow_bare_domains,
                    "allow_localhost": role.allow_localhost,
                    "allow_ip_sans": role.allow_ip_sans,
                    "allow_wildcard_certificates": role.allow_wildcard_certificates,
                    "ttl": role.ttl,
                    "max_ttl": role.max_ttl,
                    "key_type": None if role.key_type == "any" else role.key_type,
                    "key_bits": role.key_bits,
                    "server_flag": role.server_flag,
                    "client_flag": role.client_flag,
                }
            ),
            opts(),
        )

    if cfg.aws_engine is not None:
        engine = cfg.aws_engine
        out.aws_engine = vaultconf.AwsSecretsEngine(
            names.AWS_ENGINE,
            _clean(
                {  # type: ignore[arg-type]
                    "path": engine.mount,
                    "access_key": settings.secret("awsAccessKey"),
                    "secret_key": None if engine.adopted else settings.secret("awsSecretKey"),
                    "adopted": engine.adopted or None,
                    "region": engine.region,
                    "iam_endpoint": engine.iam_endpoint,
                    "sts_endpoint": engine.sts_endpoint,
                    "default_lease_ttl": engine.default_lease_ttl,
                    "max_lease_ttl": engine.max_lease_ttl,
                }
            ),
            opts(),
        )
        for aws_role in cfg.aws_roles:
            out.aws_roles[aws_role.name] = vaultconf.AwsRole(
                names.aws_role(aws_role.name),
                _clean(
                    {  # type: ignore[arg-type]
                        "engine": out.aws_engine,
                        "name": aws_role.name,
                        "credential_type": aws_role.credential_type,
                        "policy_document": aws_role.policy_document,
                        "policy_arns": aws_role.policy_arns or None,
                        "role_arns": aws_role.role_arns or None,
                        "default_sts_ttl": aws_role.default_sts_ttl,
                        "max_sts_ttl": aws_role.max_sts_ttl,
                    }
                ),
                opts(),
            )

    def as_dict(keys: tuple[str, ...]) -> Callable[[list[Any]], dict[str, Any]]:
        return lambda values: dict(zip(keys, values, strict=True))

    for store in cfg.kv:
        seeds = {
            s.name: pulumi.Output.all(
                *[settings.secret(seed_config_key(store.name, s.name, k)) for k in s.keys]
            ).apply(as_dict(tuple(s.keys)))
            for s in store.secrets
        }
        out.kv[store.name] = vaultconf.KvStore(
            names.kv_store(store.name),
            _clean(
                {  # type: ignore[arg-type]
                    "path": store.name,
                    "max_versions": store.max_versions,
                    "cas_required": store.cas_required,
                    "delete_version_after": store.delete_version_after,
                    "description": store.description,
                    "secrets": seeds or None,
                }
            ),
            opts(),
        )

    if cfg.kubernetes_roles and settings.kubernetes_ca_cert and not cfg.kubernetes_token_reviewer:
        # Vault outside the cluster has no token of its own, so it presents each client's JWT as the
        # TokenReview bearer; the API server refuses a token bound to the "vault" audience only.
        pulumi.log.warn(
            "kubernetes_auth: Vault runs outside the cluster (kubernetesCaCert is set) and no token_reviewer "
            "is configured, so pod tokens (audience-bound) cannot review themselves; set "
            "kubernetes_auth.token_reviewer (docs/config.md)"
        )
    if cfg.kubernetes_roles:
        out.kubernetes_auth = vaultconf.KubernetesAuth(
            names.KUBERNETES_AUTH,
            _clean(
                {  # type: ignore[arg-type]
                    "path": cfg.kubernetes_mount,
                    "kubernetes_host": cfg.kubernetes_host or "https://kubernetes.default.svc",
                    "kubernetes_ca_cert": settings.kubernetes_ca_cert,
                    "disable_local_ca_jwt": True if settings.kubernetes_ca_cert else None,
                    "audience": cfg.kubernetes_audience,
                    "token_reviewer": cfg.kubernetes_token_reviewer,
                    "roles": {
                        r.name: _clean(
                            {
                                "service_accounts": r.service_accounts,
                                "namespaces": r.namespaces,
                                "policies": policy_refs(r.policies),
                                "token_ttl": r.token_ttl,
                                "token_max_ttl": r.token_max_ttl,
                                "audience": r.audience,
                            }
                        )
                        for r in cfg.kubernetes_roles
                    },
                }
            ),
            opts(k8s_after=all_ns),
        )
    if cfg.approle_roles:
        out.approle = vaultconf.AppRole(
            names.APPROLE,
            {
                "path": cfg.approle_mount,
                "vault_addr": settings.vault_addr,
                "roles": {
                    r.name: _clean(
                        {  # type: ignore[misc]
                            "policies": policy_refs(r.policies),
                            "namespaces": r.namespaces or None,
                            "token_ttl": r.token_ttl,
                            "token_max_ttl": r.token_max_ttl,
                            "secret_id_ttl": r.secret_id_ttl,
                            "secret_id_num_uses": r.secret_id_num_uses,
                            "secret_id_bound_cidrs": r.secret_id_bound_cidrs,
                            "token_bound_cidrs": r.token_bound_cidrs,
                            "rotation": r.rotation,
                        }
                    )
                    for r in cfg.approle_roles
                },
            },
            opts(k8s_after=all_ns),
        )

    for wl in cfg.workloads:
        out.workloads[f"{wl.namespace}/{wl.name}"] = _workload(
            cfg, wl, out, settings, opts(k8s_after=ns_deps([wl.namespace])), k8s_provider
        )
    return out


def _issuer_order(cfg: Config) -> list[Any]:
    """CAs with every issuer before the CAs it signs (validate has ruled out cycles)."""
    done: dict[str, Any] = {}
    pending = list(cfg.cas)
    while pending:
        progressed = False
        for ca in list(pending):
            if not ca.issuer or ca.issuer in done:
                done[ca.name] = ca
                pending.remove(ca)
                progressed = True
        if not progressed:
            raise ValueError(f"CA issuers cannot be ordered: {[c.name for c in pending]}")
    return list(done.values())


def _auth(wl: Workload, out: Built) -> vaultconf.User | SidekickAuth:
    kind, ref = wl.identity.kind, wl.identity.name
    if kind == "user":
        return out.users[ref]
    if kind == "kubernetes_role":
        assert out.kubernetes_auth is not None
        return out.kubernetes_auth.sidekick_auth(ref)
    assert out.approle is not None
    return out.approle.sidekick_auth(ref)


def _workload(
    cfg: Config,
    wl: Workload,
    out: Built,
    settings: StackSettings,
    options: pulumi.ResourceOptions,
    k8s_provider: Sequence[pulumi.ProviderResource],
) -> vaultconf.Workload:
    sa_deps: list[pulumi.Resource] = []
    if wl.namespace in out.namespaces:
        sa_deps.append(out.namespaces[wl.namespace])
    account = k8s.core.v1.ServiceAccount(
        f"sa-{wl.namespace}-{wl.service_account_name}",
        metadata={
            "name": wl.service_account_name,
            "namespace": wl.namespace,
            "labels": {"app.kubernetes.io/managed-by": "vaultconf"},
        },
        automount_service_account_token=False,
        opts=pulumi.ResourceOptions(provider=k8s_provider[0] if k8s_provider else None, depends_on=sa_deps),
    )
    args = {
        **wl.component_args(),
        "auth": _auth(wl, out),
        "sidekick_image": settings.sidekick_image,
        "vault_addr": settings.vault_addr,
        **_clean({"vault_ca_secret": settings.vault_ca_secret}),
    }
    merged = pulumi.ResourceOptions.merge(options, pulumi.ResourceOptions(depends_on=[account]))
    # the resource name becomes the Deployment/Job name; validate keeps workload names unique
    return vaultconf.Workload(wl.name, args, merged)  # type: ignore[arg-type]
