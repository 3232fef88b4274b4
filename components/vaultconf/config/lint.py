"""Policy lint and least-privilege rules as plain functions over plain data.

`vaultconf validate` calls them with locations attached (rules.py); the CrossGuard pack in policy/ calls them
on the resources a `pulumi preview` would register. Evaluation is vaultconf.acl's (Vault's own matching).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from vaultconf import acl
from vaultconf.errors import ConfigError

WRITE_CAPABILITIES = frozenset({"create", "update", "patch", "delete", "sudo", "recover"})

# Paths a glob must not grant write on: policy and auth administration let a token raise its own privileges.
SENSITIVE_PROBES: tuple[tuple[str, str], ...] = (
    ("sys/policies/acl/vaultconf-probe", "sys/policies/acl/*"),
    ("sys/policy/vaultconf-probe", "sys/*"),
    ("sys/auth/vaultconf-probe", "sys/*"),
    ("sys/mounts/vaultconf-probe", "sys/*"),
    ("auth/userpass/users/vaultconf-probe", "auth/*/users/*"),
    ("auth/vaultconf-probe/users/vaultconf-probe", "auth/*/users/*"),
    ("auth/kubernetes/role/vaultconf-probe", "auth/*"),
    ("auth/approle/role/vaultconf-probe", "auth/*"),
    ("auth/token/create", "auth/*"),
)


@dataclasses.dataclass(frozen=True)
class Issue:
    """One lint result: `rule` is the id users put in `lint_ignore`."""

    rule: str
    path: str
    message: str
    fix: str


def _caps(rule: Any) -> list[str]:
    if isinstance(rule, Mapping):
        return list(rule.get("capabilities") or [])
    return list(rule or [])


def _is_glob(path: str) -> bool:
    return path.endswith("*") or path == "+" or "/+" in path or path.startswith("+")


def lint_policy(rules: Mapping[str, Any], ignore: Iterable[str] = ()) -> list[Issue]:
    """Dangerous grants in one policy (path -> rule): sudo, privileged wildcards, root-level `*`."""
    skip = set(ignore)
    issues: list[Issue] = []
    for path, rule in rules.items():
        caps = set(_caps(rule))
        if "deny" in caps:
            continue
        norm = path.lstrip("/")
        if "sudo" in caps and "sudo" not in skip:
            issues.append(
                Issue(
                    "sudo",
                    path,
                    "grants sudo (root-protected endpoints)",
                    "drop sudo, or add `lint_ignore: [sudo]` to an operator policy that needs it",
                )
            )
        if norm in ("*", "+", "+/*") or (
            norm.startswith("+/") and norm.count("/") == 1 and norm.endswith("*")
        ):
            if "root-wildcard" not in skip:
                issues.append(
                    Issue(
                        "root-wildcard",
                        path,
                        "root-level wildcard grants every path in Vault",
                        "grant the specific mounts the identity needs, e.g. kv/data/<team>/*",
                    )
                )
            continue
        writes = sorted(caps & WRITE_CAPABILITIES)
        if not writes or not _is_glob(norm) or "privileged-wildcard" in skip:
            continue
        single = [{norm: {"capabilities": sorted(caps)}}]
        hits = sorted(
            {area for probe, area in SENSITIVE_PROBES if acl.capabilities(single, probe) & set(writes)}
        )
        if hits:
            issues.append(
                Issue(
                    "privileged-wildcard",
                    path,
                    f"wildcard grants {', '.join(writes)} on {', '.join(hits)} (privilege escalation)",
                    "list the exact administrative paths instead of a wildcard",
                )
            )
    return issues


def required_capability(secret_type: str, path: str) -> str:
    """The capability the sidekick needs for one declared secret (`write` also accepts create)."""
    if secret_type in ("pki", "write"):
        return "update"  # pki/issue/<role> and generic writes are POSTs
    if secret_type == "aws" and "/sts/" in f"/{path}":
        return "update"
    return "read"  # kv, secret, aws/creds


def accepted_capabilities(secret_type: str, path: str) -> tuple[str, ...]:
    """Any one of these lets the sidekick fetch the secret."""
    needed = required_capability(secret_type, path)
    return (needed, "create") if secret_type == "write" else (needed,)


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
        single = [{path: {"capabilities": caps}}]
        used = {n.capability for n in needs if n.capability in acl.capabilities(single, n.path)}
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


def policy_resource_issues(props: Props, ignore: Iterable[str] = ()) -> list[Issue]:
    """Lint of one `vault:index/policy:Policy` (its HCL text)."""
    from .policytext import PolicySyntaxError, parse_policy

    text = prop(props, "policy")
    if not isinstance(text, str):
        return []  # unknown during preview: nothing to check yet
    try:
        rules = parse_policy(text)
    except PolicySyntaxError as exc:
        return [Issue("policy-syntax", "", f"cannot read the policy HCL: {exc}", "fix the HCL")]
    return lint_policy(rules, ignore)


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
                    if v.get("name") == "vault-login" and isinstance(v.get("secret"), dict)
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
    return out
