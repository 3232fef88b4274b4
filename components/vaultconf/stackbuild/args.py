"""The typed model (vaultconf.config.model) as each component's Args TypedDict: one function per component.

The model has passed validate, so nothing here checks a value again; a field the YAML leaves unset is left
out, so the component applies its own default (the same default a library user gets). mypy checks every
key and value against the component's Args, which is why each optional field is set on its own line.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from vaultconf.approle import AppRoleSpec
from vaultconf.aws import AwsRoleArgs, AwsSecretsEngine, AwsSecretsEngineArgs
from vaultconf.config import model
from vaultconf.kubernetes_auth import KubernetesRoleSpec, TokenReviewerSpec
from vaultconf.kv import KvStoreArgs
from vaultconf.pki import CertificateAuthority, CertificateAuthorityArgs, PkiRoleArgs
from vaultconf.policy import Policy, PolicyArgs
from vaultconf.sidekick_config import OnChange, SidekickSecret
from vaultconf.user import UserArgs
from vaultconf.workload import WorkloadArgs

PolicyRef = Policy | str | pulumi.Output[str]


def policy_args(policy: model.Policy, mounts: dict[str, str], enforce: bool) -> PolicyArgs:
    args: PolicyArgs = {"name": policy.name, "mounts": mounts}
    if policy.hcl is not None:
        args["hcl"] = policy.hcl
    else:
        args["rules"] = policy.acl_rules()
    if policy.lint_ignore:
        args["lint_ignore"] = list(policy.lint_ignore)
    if policy.admin:
        args["admin"] = {"reason": policy.admin["reason"]}
    if not enforce:
        args["analysis"] = "warn"
    return args


def user_args(
    user: model.User,
    mount: str,
    policies: Sequence[PolicyRef],
    vault_addr: str,
    current_password: pulumi.Output[str] | None,
) -> UserArgs:
    args: UserArgs = {
        "username": user.name,
        "mount": mount,
        "policies": list(policies),
        "namespaces": list(user.namespaces),
        "rotation": user.rotation,
        "vault_addr": vault_addr,
    }
    if user.token_ttl is not None:
        args["token_ttl"] = user.token_ttl
    if user.token_max_ttl is not None:
        args["token_max_ttl"] = user.token_max_ttl
    if user.token_bound_cidrs is not None:
        args["token_bound_cidrs"] = list(user.token_bound_cidrs)
    if user.token_explicit_max_ttl is not None:
        args["token_explicit_max_ttl"] = user.token_explicit_max_ttl
    if user.token_no_default_policy is not None:
        args["token_no_default_policy"] = user.token_no_default_policy
    if user.token_num_uses is not None:
        args["token_num_uses"] = user.token_num_uses
    if user.token_period is not None:
        args["token_period"] = user.token_period
    if user.token_type is not None:
        args["token_type"] = user.token_type
    if user.adopted:
        args["adopted"] = True
    if current_password is not None:
        args["current_password"] = current_password
    return args


def ca_args(
    ca: model.CertificateAuthority, issuer: CertificateAuthority | None, vault_addr: str
) -> CertificateAuthorityArgs:
    args: CertificateAuthorityArgs = {
        "path": ca.mount,
        "common_name": ca.common_name,
        "vault_addr": vault_addr,
    }
    if issuer is not None:
        args["issuer"] = issuer
    if ca.ttl is not None:
        args["ttl"] = ca.ttl
    if ca.max_lease_ttl is not None:
        args["max_lease_ttl"] = ca.max_lease_ttl
    if ca.key_type is not None:
        args["key_type"] = ca.key_type
    if ca.key_bits is not None:
        args["key_bits"] = ca.key_bits
    if ca.organization is not None:
        args["organization"] = ca.organization
    if ca.description is not None:
        args["description"] = ca.description
    if ca.issuing_certificates is not None:
        args["issuing_certificates"] = ca.issuing_certificates
    if ca.crl_distribution_points is not None:
        args["crl_distribution_points"] = ca.crl_distribution_points
    if ca.adopted:
        args["adopted"] = True
    return args


def pki_role_args(role: model.PkiRole, ca: CertificateAuthority) -> PkiRoleArgs:
    args: PkiRoleArgs = {"ca": ca, "name": role.name, "allowed_domains": list(role.allowed_domains)}
    if role.allow_subdomains is not None:
        args["allow_subdomains"] = role.allow_subdomains
    if role.allow_bare_domains is not None:
        args["allow_bare_domains"] = role.allow_bare_domains
    if role.allow_localhost is not None:
        args["allow_localhost"] = role.allow_localhost
    if role.allow_ip_sans is not None:
        args["allow_ip_sans"] = role.allow_ip_sans
    if role.allow_wildcard_certificates is not None:
        args["allow_wildcard_certificates"] = role.allow_wildcard_certificates
    if role.server_flag is not None:
        args["server_flag"] = role.server_flag
    if role.client_flag is not None:
        args["client_flag"] = role.client_flag
    if role.ttl is not None:
        args["ttl"] = role.ttl
    if role.max_ttl is not None:
        args["max_ttl"] = role.max_ttl
    if role.key_type is not None and role.key_type != "any":  # "any": the component's default
        args["key_type"] = role.key_type
    if role.key_bits is not None:
        args["key_bits"] = role.key_bits
    return args


def aws_engine_args(
    engine: model.AwsEngine, access_key: pulumi.Output[str], secret_key: pulumi.Output[str] | None
) -> AwsSecretsEngineArgs:
    args: AwsSecretsEngineArgs = {"path": engine.mount, "access_key": access_key}
    if secret_key is not None:
        args["secret_key"] = secret_key
    if engine.adopted:
        args["adopted"] = True
    if engine.region is not None:
        args["region"] = engine.region
    if engine.iam_endpoint is not None:
        args["iam_endpoint"] = engine.iam_endpoint
    if engine.sts_endpoint is not None:
        args["sts_endpoint"] = engine.sts_endpoint
    if engine.default_lease_ttl is not None:
        args["default_lease_ttl"] = engine.default_lease_ttl
    if engine.max_lease_ttl is not None:
        args["max_lease_ttl"] = engine.max_lease_ttl
    return args


def aws_role_args(role: model.AwsRole, engine: AwsSecretsEngine) -> AwsRoleArgs:
    args: AwsRoleArgs = {"engine": engine, "name": role.name, "credential_type": role.credential_type}
    if role.policy_document is not None:
        args["policy_document"] = role.policy_document
    if role.policy_arns:
        args["policy_arns"] = list(role.policy_arns)
    if role.role_arns:
        args["role_arns"] = list(role.role_arns)
    if role.default_sts_ttl is not None:
        args["default_sts_ttl"] = role.default_sts_ttl
    if role.max_sts_ttl is not None:
        args["max_sts_ttl"] = role.max_sts_ttl
    return args


def kv_store_args(store: model.KvStore, seeds: dict[str, pulumi.Output[dict[str, str]]]) -> KvStoreArgs:
    args: KvStoreArgs = {"path": store.name}
    if store.max_versions is not None:
        args["max_versions"] = store.max_versions
    if store.cas_required is not None:
        args["cas_required"] = store.cas_required
    if store.delete_version_after is not None:
        args["delete_version_after"] = store.delete_version_after
    if store.description is not None:
        args["description"] = store.description
    if seeds:
        args["secrets"] = dict(seeds)
    return args


def kubernetes_role_spec(role: model.KubernetesRole, policies: Sequence[PolicyRef]) -> KubernetesRoleSpec:
    spec: KubernetesRoleSpec = {
        "service_accounts": list(role.service_accounts),
        "namespaces": list(role.namespaces),
        "policies": list(policies),
    }
    if role.token_ttl is not None:
        spec["token_ttl"] = role.token_ttl
    if role.token_max_ttl is not None:
        spec["token_max_ttl"] = role.token_max_ttl
    if role.audience is not None:
        spec["audience"] = role.audience
    return spec


def token_reviewer_spec(reviewer: model.TokenReviewer) -> TokenReviewerSpec:
    spec: TokenReviewerSpec = {"namespace": reviewer.namespace}
    if reviewer.service_account is not None:
        spec["service_account"] = reviewer.service_account
    return spec


def approle_spec(role: model.AppRoleRole, policies: Sequence[PolicyRef]) -> AppRoleSpec:
    spec: AppRoleSpec = {"policies": list(policies)}
    if role.namespaces:
        spec["namespaces"] = list(role.namespaces)
    if role.token_ttl is not None:
        spec["token_ttl"] = role.token_ttl
    if role.token_max_ttl is not None:
        spec["token_max_ttl"] = role.token_max_ttl
    if role.secret_id_ttl is not None:
        spec["secret_id_ttl"] = role.secret_id_ttl
    if role.secret_id_num_uses is not None:
        spec["secret_id_num_uses"] = role.secret_id_num_uses
    if role.secret_id_bound_cidrs is not None:
        spec["secret_id_bound_cidrs"] = role.secret_id_bound_cidrs
    if role.token_bound_cidrs is not None:
        spec["token_bound_cidrs"] = role.token_bound_cidrs
    if role.rotation is not None:
        spec["rotation"] = role.rotation
    if role.adopted:
        spec["adopted"] = True
    return spec


def on_change(hook: model.OnChange) -> OnChange:
    out: OnChange = {}
    if hook.exec is not None:
        out["exec"] = list(hook.exec)
    if hook.env is not None:
        out["env"] = dict(hook.env)
    if hook.http is not None:
        out["http"] = dict(hook.http)
    if hook.timeout is not None:
        out["timeout"] = hook.timeout
    if hook.debounce is not None:
        out["debounce"] = hook.debounce
    return out


def sidekick_secret(secret: model.WorkloadSecret) -> SidekickSecret:
    """A workload secret as the sidekick config's resource: the same name and fields end to end."""
    out: SidekickSecret = {"name": secret.name, "type": secret.type, "path": secret.path}
    if secret.kv_version is not None:
        out["kv_version"] = secret.kv_version
    if secret.version is not None:
        out["version"] = secret.version
    if secret.params:
        out["params"] = dict(secret.params)
    if secret.file is not None:
        out["file"] = secret.file
    if secret.format is not None:
        out["format"] = secret.format
    if secret.template is not None:
        out["template"] = secret.template
    if secret.mode is not None:
        out["mode"] = secret.mode
    if secret.update is not None:
        out["update"] = secret.update
    if secret.renew is not None:
        out["renew"] = secret.renew
    if secret.revoke is not None:
        out["revoke"] = secret.revoke
    if secret.jitter is not None:
        out["jitter"] = secret.jitter
    if secret.on_change is not None:
        out["on_change"] = on_change(secret.on_change)
    return out


def workload_args(wl: model.Workload) -> WorkloadArgs:
    """What the YAML sets; the builder adds the login, the sidekick image and the Vault address."""
    args: WorkloadArgs = {
        "namespace": wl.namespace,
        "image": wl.image,
        "kind": wl.kind,
        "service_account_name": wl.service_account_name,
        "secrets": [sidekick_secret(s) for s in wl.secrets],
    }
    if wl.command is not None:
        args["command"] = list(wl.command)
    if wl.args is not None:
        args["args"] = list(wl.args)
    if wl.env:
        args["env"] = dict(wl.env)
    if wl.replicas is not None:
        args["replicas"] = wl.replicas
    if wl.secrets_dir is not None:
        args["output_dir"] = wl.secrets_dir
    if wl.native_sidecar is not None:
        args["native_sidecar"] = wl.native_sidecar
    if wl.resources is not None:
        args["resources"] = wl.resources
    if wl.sidekick_resources is not None:
        args["sidekick_resources"] = wl.sidekick_resources
    if wl.sidekick_timing is not None:
        args["sidekick_timing"] = wl.sidekick_timing
    if wl.ports is not None:
        args["ports"] = list(wl.ports)
    if wl.labels is not None:
        args["labels"] = dict(wl.labels)
    if wl.run_as_user is not None:
        args["run_as_user"] = wl.run_as_user
    if wl.backoff_limit is not None:
        args["backoff_limit"] = wl.backoff_limit
    return args
