"""Policy lint and least-privilege rules as plain functions over plain data.

`vaultconf validate` calls them with locations attached (rules.py); the CrossGuard pack in policy/ calls them
on the resources a `pulumi preview` would register. Evaluation is vaultconf.acl's (Vault's own matching).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sidekick import contract

from vaultconf import acl, policy_analysis
from vaultconf.errors import ConfigError
from vaultconf.policy_analysis.certificates import certificate_problems

# One definition of a finding about a policy: the analysis's.
Issue = policy_analysis.Issue
Mounts = policy_analysis.Mounts


def _caps(rule: Any) -> list[str]:
    if isinstance(rule, Mapping):
        return list(rule.get("capabilities") or [])
    return list(rule or [])


def lint_policy(
    rules: Mapping[str, Any],
    ignore: Iterable[str] = (),
    *,
    mounts: Mounts = policy_analysis.NO_MOUNTS,
    admin: str | None = None,
) -> list[Issue]:
    """Every finding for one policy (path -> rule): escalation, wide reads, sudo, root-level `*`
    (vaultconf.policy_analysis)."""
    return policy_analysis.analyze(rules, mounts=mounts, ignore=ignore, admin=admin)


def accepted_capabilities(secret_type: str, path: str) -> tuple[str, ...]:
    """Any one of these lets the sidekick fetch the secret: the sidekick's own table (it also decides the
    HTTP method the sidekick uses; aws/creds and aws/sts alike are reads). An unknown type is the schema's
    finding; here it reads as `read`."""
    return contract.CAPABILITIES.get(secret_type, ("read",))


def required_capability(secret_type: str, path: str) -> str:
    """The capability the sidekick exercises for one declared secret (what a fix should grant)."""
    return accepted_capabilities(secret_type, path)[0]


def policy_errors(rules: Mapping[str, Any]) -> str | None:
    """Why acl.py rejects a policy, or None."""
    try:
        acl.normalize_policy("policy", dict(rules))
    except ConfigError as exc:
        return f"{exc.field}: {exc.problem}"
    return None


def granted(policies: Sequence[Mapping[str, Any]], path: str) -> frozenset[str]:
    return acl.capabilities([dict(p) for p in policies], path)


def allowed(policies: Sequence[Mapping[str, Any]], path: str, capability: str) -> bool:
    return acl.allows([dict(p) for p in policies], path, capability)


@dataclasses.dataclass(frozen=True)
class Consumption:
    """A workload's need: `capability` on `path` through an identity holding `policies`."""

    workload: str
    secret: str
    path: str
    capability: str


def unused_grants(
    policy_rules: Mapping[str, Any],
    needs: Sequence[Consumption],
) -> list[tuple[str, list[str]]]:
    """(path, never-used capabilities) for rules of one policy that the identity's workloads never exercise.

    A rule's capability counts as used when some need's path matches that rule pattern (judged by Vault's
    matching against the single rule) and needs that capability.
    """
    out: list[tuple[str, list[str]]] = []
    for path, rule in policy_rules.items():
        caps = [c for c in _caps(rule) if c != "deny"]
        if not caps or "deny" in _caps(rule):
            continue
        evaluate = acl.evaluator([{path: {"capabilities": caps}}])  # the rule alone, compiled once
        used = {n.capability for n in needs if n.capability in evaluate(n.path)}
        spare = [c for c in caps if c not in used]
        if spare:
            out.append((path, spare))
    return out


# --- the same rules over registered resources (the CrossGuard pack) -----------------------------------------

Props = Mapping[str, Any]


def prop(props: Props, *names: str) -> Any:
    """A property by its SDK (snake_case) or engine (camelCase) name."""
    for name in names:
        for key in (name, _camel(name)):
            if key in props:
                return props[key]
    return None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


MOUNT_TYPES = {"pki": "pki", "aws": "aws", "database": "database", "kv-v2": "kv-v2"}


def resource_mounts(resources: Sequence[tuple[str, Props]]) -> Mounts:
    """The secrets mounts a stack registers, by type: what `vaultconf validate` knows from the YAML."""
    pairs: list[tuple[str, str]] = []
    for type_, props in resources:
        path = prop(props, "path")
        if not isinstance(path, str):
            continue  # unknown during preview
        if type_ == "vault:index/mount:Mount":
            kind = str(prop(props, "type"))
            options = prop(props, "options") or {}
            if kind == "kv":
                kind = (
                    "kv-v2"
                    if isinstance(options, Mapping) and str(options.get("version")) == "2"
                    else "kv-v1"
                )
            if kind in MOUNT_TYPES or kind == "kv-v1":
                pairs.append((path, kind))
        elif type_ == "vault:aws/secretBackend:SecretBackend":
            pairs.append((path, "aws"))
    return Mounts.of(pairs)


def policy_resource_issues(
    props: Props, ignore: Iterable[str] = (), mounts: Mounts = policy_analysis.NO_MOUNTS
) -> list[Issue]:
    """The blocking findings (and a break-glass allowance) of one `vault:index/policy:Policy` (its HCL)."""
    return [i for i in _resource_lint(props, ignore, mounts) if i.severity in ("error", "allowance")]


def policy_resource_warnings(
    props: Props, ignore: Iterable[str] = (), mounts: Mounts = policy_analysis.NO_MOUNTS
) -> list[Issue]:
    """The warnings (wide reads) of one `vault:index/policy:Policy`: advisory in the pack."""
    return [i for i in _resource_lint(props, ignore, mounts) if i.severity == "warning"]


def _resource_lint(props: Props, ignore: Iterable[str], mounts: Mounts) -> list[Issue]:
    from .policytext import PolicySyntaxError, parse_policy

    text = prop(props, "policy")
    if not isinstance(text, str):
        return []  # unknown during preview: nothing to check yet
    try:
        rules = parse_policy(text)
    except PolicySyntaxError as exc:
        return [Issue("policy-syntax", "", f"cannot read the policy HCL: {exc}", "fix the HCL")]
    # the Policy component writes a break-glass allowance into the HCL's first line
    return lint_policy(rules, ignore, mounts=mounts, admin=policy_analysis.admin_reason(text))


def _workload_config(cm_data: Any) -> dict[str, Any] | None:
    import json

    if not isinstance(cm_data, Mapping):
        return None
    for key in ("sidekick.json", "sidekick-once.json"):
        text = cm_data.get(key)
        if isinstance(text, str):
            try:
                loaded = json.loads(text)
            except json.JSONDecodeError:
                return None
            return loaded if isinstance(loaded, dict) else None
    return None


def resource_access_violations(resources: Sequence[tuple[str, Props]]) -> list[str]:
    """Least privilege over what a stack registers: every secret in a Workload's sidekick config must be
    granted by the policies of the identity its pod logs in with (user via its credentials Secret, kubernetes
    or approle role via the config's auth block)."""
    from vaultconf import names

    from .policytext import PolicySyntaxError, parse_policy

    policies: dict[str, dict[str, Any]] = {}
    users: dict[str, list[str]] = {}
    roles: dict[tuple[str, str, str], list[str]] = {}
    config_maps: dict[tuple[str, str], Any] = {}
    workloads: list[tuple[str, str, list[Any]]] = []
    for type_, props in resources:
        if type_ == "vault:index/policy:Policy":
            name, text = prop(props, "name"), prop(props, "policy")
            if isinstance(name, str) and isinstance(text, str):
                try:
                    policies[name] = parse_policy(text)
                except PolicySyntaxError:
                    continue
        elif type_ == "vault:index/userpassAuthBackendUser:UserpassAuthBackendUser":
            username = prop(props, "username")
            if isinstance(username, str):
                users[names.k8s_name("vault", username)] = list(prop(props, "token_policies") or [])
        elif type_ in (
            "vault:kubernetes/authBackendRole:AuthBackendRole",
            "vault:appRole/authBackendRole:AuthBackendRole",
        ):
            kind = "kubernetes" if type_.startswith("vault:kubernetes") else "approle"
            key = (kind, str(prop(props, "backend") or kind).strip("/"), str(prop(props, "role_name")))
            roles[key] = list(prop(props, "token_policies") or [])
        elif type_ == "kubernetes:core/v1:ConfigMap":
            meta = prop(props, "metadata") or {}
            config_maps[(str(meta.get("namespace")), str(meta.get("name")))] = prop(props, "data")
        elif type_ in ("kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job"):
            meta = prop(props, "metadata") or {}
            spec = (((prop(props, "spec") or {}).get("template") or {}).get("spec")) or {}
            workloads.append(
                (str(meta.get("namespace")), str(meta.get("name")), list(spec.get("volumes") or []))
            )
    out: list[str] = []
    for namespace, name, volumes in workloads:
        cm_name = next(
            (v["configMap"]["name"] for v in volumes if isinstance(v.get("configMap"), dict)), None
        )
        config = _workload_config(config_maps.get((namespace, str(cm_name))))
        if config is None:
            continue  # not a vaultconf workload, or unknown during preview
        auth = config.get("auth") or {}
        method = auth.get("method")
        identity: str
        if method == "userpass":
            secret = next(
                (
                    v["secret"].get("secretName")
                    for v in volumes
                    if v.get("name") == names.LOGIN_VOLUME and isinstance(v.get("secret"), dict)
                ),
                None,
            )
            identity, attached = f"user with Secret {secret}", users.get(str(secret))
        else:
            key = (str(method), str(auth.get("mount") or method), str(auth.get("role")))
            identity, attached = f"{method} role {auth.get('role')}", roles.get(key)
        if attached is None:
            continue  # identity not managed in this stack: nothing to check against
        rules = [policies[p] for p in attached if p in policies]
        for entry in config.get("resources") or []:
            caps = accepted_capabilities(str(entry.get("type")), str(entry.get("path")))
            if not any(allowed(rules, str(entry.get("path")), c) for c in caps):
                out.append(
                    f"workload {namespace}/{name}: secret {entry.get('name')!r} needs {' or '.join(caps)} "
                    f"on {entry.get('path')}, which the {identity} (policies: {', '.join(attached)}) lacks"
                )
            elif entry.get("type") == "pki" and isinstance(entry.get("params") or {}, Mapping):
                for problem, fix in certificate_problems(
                    rules, str(entry.get("path")), entry.get("params") or {}
                ):
                    out.append(
                        f"workload {namespace}/{name}: secret {entry.get('name')!r}: {problem} (fix: {fix})"
                    )
    return out
