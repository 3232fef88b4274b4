"""Build a validated desired state with the vaultconf components (the body of infra/__main__.py).

Providers come only through `providers` (passed to every component via opts). Kubernetes objects inside
components must wait for the namespaces created here; component `depends_on` does not reach children, so a
transformation (inherited by children) adds that dependency to every Kubernetes child.

Nothing here validates: `vaultconf.config.validate` has checked every reference and value (the components
still check their own arguments, for library users). Every resource name comes from `vaultconf.names`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vault as vault

from vaultconf import names
from vaultconf._k8s import MANAGED_BY
from vaultconf.approle import AppRole, AppRoleArgs
from vaultconf.auth import SidekickAuth
from vaultconf.aws import AwsRole, AwsSecretsEngine
from vaultconf.config.model import Config, Workload
from vaultconf.config.policy_lint import mounts_of
from vaultconf.config.settings import adopted_password_key, seed_config_key
from vaultconf.kubernetes_auth import KubernetesAuth, KubernetesAuthArgs
from vaultconf.kv import KvStore
from vaultconf.pki import CertificateAuthority, PkiRole
from vaultconf.policy import Policy
from vaultconf.user import User
from vaultconf.workload import Workload as WorkloadComponent

from . import args as to
from .settings import StackSettings

DEFAULT_KUBERNETES_HOST = "https://kubernetes.default.svc"


@dataclasses.dataclass
class Built:
    policies: dict[str, Policy] = dataclasses.field(default_factory=dict)
    users: dict[str, User] = dataclasses.field(default_factory=dict)
    cas: dict[str, CertificateAuthority] = dataclasses.field(default_factory=dict)
    pki_roles: dict[str, PkiRole] = dataclasses.field(default_factory=dict)
    aws_engine: AwsSecretsEngine | None = None
    aws_roles: dict[str, AwsRole] = dataclasses.field(default_factory=dict)
    kv: dict[str, KvStore] = dataclasses.field(default_factory=dict)
    kubernetes_auth: KubernetesAuth | None = None
    approle: AppRole | None = None
    namespaces: dict[str, k8s.core.v1.Namespace] = dataclasses.field(default_factory=dict)
    workloads: dict[str, WorkloadComponent] = dataclasses.field(default_factory=dict)

    def policy_refs(self, wanted: Sequence[str]) -> list[Policy | str]:
        """Declared policies as components (their rules are known to Workload checks), others by name."""
        return [self.policies.get(n, n) for n in wanted]


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
    k8s_provider = next((p for p in providers if p.package == "kubernetes"), None)

    def opts(*after: pulumi.Resource, k8s_after: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            providers=list(providers),
            depends_on=list(after),
            transformations=[_after(list(after)), _after(list(k8s_after), only_kubernetes=True)],
        )

    if settings.create_namespaces:
        for ns in namespaces_of(cfg):
            out.namespaces[ns] = k8s.core.v1.Namespace(
                names.namespace(ns),
                metadata={"name": ns, "labels": dict(MANAGED_BY)},
                opts=pulumi.ResourceOptions(provider=k8s_provider),
            )
    all_ns = list(out.namespaces.values())

    def ns_deps(wanted: Sequence[str]) -> list[pulumi.Resource]:
        # only the namespaces a component writes to: waiting on all of them gave every user Secret and
        # workload object one dependency per namespace of the organisation (50,000 edges at 1,000 users)
        return [out.namespaces[ns] for ns in wanted if ns in out.namespaces]

    mounts = dict(mounts_of(cfg).types)  # the Policy component judges as validate does
    for policy in cfg.policies:
        policy_args = to.policy_args(policy, mounts, settings.enforce_policy_analysis)
        out.policies[policy.name] = Policy(names.policy(policy.name), policy_args, opts())

    mount: list[pulumi.Resource] = []
    if cfg.users and cfg.create_userpass_mount:
        mount.append(
            vault.AuthBackend(
                names.USERPASS_BACKEND,
                type="userpass",
                path=cfg.userpass_mount,
                description=cfg.userpass_mount_description,
                opts=pulumi.ResourceOptions(providers=list(providers)),
            )
        )
    for user in cfg.users:
        current = settings.optional_secret(adopted_password_key(user.name)) if user.adopted else None
        user_args = to.user_args(
            user, cfg.userpass_mount, out.policy_refs(user.policies), settings.vault_addr, current
        )
        out.users[user.name] = User(
            names.user(user.name), user_args, opts(*mount, k8s_after=ns_deps(user.namespaces))
        )

    # `external: true` objects belong to another stack (docs/scaling.md): validated, never registered here
    for ca in _issuer_order(cfg):
        if ca.external:
            continue
        issuer = out.cas[ca.issuer] if ca.issuer else None
        out.cas[ca.name] = CertificateAuthority(
            names.ca(ca.name), to.ca_args(ca, issuer, settings.vault_addr), opts()
        )
    for role in cfg.pki_roles:
        if role.external:
            continue
        out.pki_roles[role.name] = PkiRole(
            names.pki_role(role.name), to.pki_role_args(role, out.cas[role.ca]), opts()
        )

    if cfg.aws_engine is not None and not cfg.aws_engine.external:
        engine = cfg.aws_engine
        secret_key = None if engine.adopted else settings.secret("awsSecretKey")
        engine_args = to.aws_engine_args(engine, settings.secret("awsAccessKey"), secret_key)
        out.aws_engine = AwsSecretsEngine(names.AWS_ENGINE, engine_args, opts())
        for aws_role in cfg.aws_roles:
            role_args = to.aws_role_args(aws_role, out.aws_engine)
            out.aws_roles[aws_role.name] = AwsRole(names.aws_role(aws_role.name), role_args, opts())

    for store in cfg.kv:
        if store.external:
            continue
        seeds = {s.name: _seed(settings, store.name, s.name, s.keys) for s in store.secrets}
        out.kv[store.name] = KvStore(names.kv_store(store.name), to.kv_store_args(store, seeds), opts())

    if cfg.kubernetes_roles:
        out.kubernetes_auth = KubernetesAuth(
            names.KUBERNETES_AUTH, _kubernetes_auth_args(cfg, settings, out), opts(k8s_after=all_ns)
        )
    if cfg.approle_roles:
        approle_args: AppRoleArgs = {
            "path": cfg.approle_mount,
            "vault_addr": settings.vault_addr,
            "roles": {r.name: to.approle_spec(r, out.policy_refs(r.policies)) for r in cfg.approle_roles},
        }
        if cfg.approle_mount_description is not None:
            approle_args["description"] = cfg.approle_mount_description
        if cfg.approle_external:  # another stack's mount: only the roles are ours
            approle_args["create_mount"] = False
        out.approle = AppRole(names.APPROLE, approle_args, opts(k8s_after=all_ns))

    for wl in cfg.workloads:
        out.workloads[f"{wl.namespace}/{wl.name}"] = _workload(
            wl, out, settings, opts(k8s_after=ns_deps([wl.namespace]))
        )
    return out


def _seed(
    settings: StackSettings, store: str, secret: str, keys: Sequence[str]
) -> pulumi.Output[dict[str, str]]:
    """One seeded KV secret: its values, each a Pulumi secret, as one mapping."""
    values = [settings.secret(seed_config_key(store, secret, k)) for k in keys]
    return pulumi.Output.all(*values).apply(lambda got: dict(zip(keys, got, strict=True)))


def _kubernetes_auth_args(cfg: Config, settings: StackSettings, out: Built) -> KubernetesAuthArgs:
    args: KubernetesAuthArgs = {
        "path": cfg.kubernetes_mount,
        "kubernetes_host": cfg.kubernetes_host or DEFAULT_KUBERNETES_HOST,
        "roles": {
            r.name: to.kubernetes_role_spec(r, out.policy_refs(r.policies)) for r in cfg.kubernetes_roles
        },
    }
    if cfg.kubernetes_external:  # another stack's mount and config: only the roles are ours
        del args["kubernetes_host"]
        args["create_mount"] = False
        if cfg.kubernetes_audience is not None:
            args["audience"] = cfg.kubernetes_audience
        return args
    if settings.kubernetes_ca_cert:
        # Vault outside the cluster: no in-pod CA or token of its own to fall back on
        args["kubernetes_ca_cert"] = settings.kubernetes_ca_cert
        args["disable_local_ca_jwt"] = True
        if cfg.kubernetes_token_reviewer is None:
            # so it presents each client's JWT as the TokenReview bearer, and the API server refuses a
            # token bound to the "vault" audience only
            pulumi.log.warn(
                "kubernetes_auth: Vault runs outside the cluster (kubernetesCaCert is set) and no "
                "token_reviewer is configured, so pod tokens (audience-bound) cannot review themselves; set "
                "kubernetes_auth.token_reviewer (docs/config.md)"
            )
    if cfg.kubernetes_mount_description is not None:
        args["description"] = cfg.kubernetes_mount_description
    if cfg.kubernetes_audience is not None:
        args["audience"] = cfg.kubernetes_audience
    if cfg.kubernetes_token_reviewer is not None:
        args["token_reviewer"] = to.token_reviewer_spec(cfg.kubernetes_token_reviewer)
    return args


def _issuer_order(cfg: Config) -> list[Any]:
    """CAs with every issuer before the CAs it signs (validate has ruled out cycles and unknown issuers)."""
    by_name = {ca.name: ca for ca in cfg.cas}
    seen: set[str] = set()
    ordered: list[Any] = []

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        issuer = by_name[name].issuer
        if issuer:
            visit(issuer)
        ordered.append(by_name[name])

    for ca in cfg.cas:
        visit(ca.name)
    return ordered


def _auth(wl: Workload, out: Built) -> User | SidekickAuth:
    kind, ref = wl.identity.kind, wl.identity.name
    if kind == "user":
        return out.users[ref]
    if kind == "kubernetes_role":
        assert out.kubernetes_auth is not None  # validate: a kubernetes_role identity names a declared role
        return out.kubernetes_auth.sidekick_auth(ref)
    assert out.approle is not None  # validate: an approle identity names a declared role
    return out.approle.sidekick_auth(ref)


def _workload(
    wl: Workload, out: Built, settings: StackSettings, options: pulumi.ResourceOptions
) -> WorkloadComponent:
    args = to.workload_args(wl)
    args["auth"] = _auth(wl, out)
    args["sidekick_image"] = settings.sidekick_image
    args["vault_addr"] = settings.vault_addr
    if settings.vault_ca_secret is not None:
        args["vault_ca_secret"] = settings.vault_ca_secret
    # the resource name becomes the Deployment/Job name; validate keeps workload names unique. The
    # component creates the ServiceAccount it runs as (workload_args names it).
    return WorkloadComponent(wl.name, args, options)
