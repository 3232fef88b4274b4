"""Validation after the schema: references, TTLs, policy lint and least privilege, with locations."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from vaultconf.binding import binding_problem
from vaultconf.errors import ConfigError
from vaultconf.policy_analysis.certificates import certificate_problems
from vaultconf.ttl import check_max, optional_ttl

from . import external, lint
from .findings import Finding
from .model import Config, Obj, Workload
from .policy_lint import _err, _policy_rules, _warn, mounts_of, policy_lint

__all__ = ["check", "mounts_of", "policy_lint"]

BUILTIN_POLICIES = frozenset({"default"})


def duplicates(cfg: Config) -> list[Finding]:
    out: list[Finding] = []
    groups: list[tuple[str, Iterable[Obj]]] = [
        ("users", cfg.users),
        ("policies", cfg.policies),
        ("pki.cas", cfg.cas),
        ("pki.roles", cfg.pki_roles),
        ("aws.roles", cfg.aws_roles),
        ("kv", cfg.kv),
        ("kubernetes_auth.roles", cfg.kubernetes_roles),
        ("approle.roles", cfg.approle_roles),
        ("workloads", cfg.workloads),
    ]
    for store in cfg.kv:
        groups.append((f"{store.field}.secrets", store.secrets))
    for wl in cfg.workloads:
        groups.append((f"{wl.field}.secrets", wl.secrets))
    for section, objs in groups:
        seen: dict[str, Obj] = {}
        for obj in objs:
            if obj.name in seen:
                out.append(
                    _err(
                        "duplicate",
                        obj,
                        "name",
                        f"'{obj.name}' is defined twice in {section} (first at {seen[obj.name].loc})",
                        "rename one, or merge the two entries",
                    )
                )
            else:
                seen[obj.name] = obj
    mounts: dict[str, Obj] = {}
    for obj, mount in [(c, c.mount) for c in cfg.cas] + [(s, s.name) for s in cfg.kv]:
        if mount in mounts:
            out.append(
                _err(
                    "duplicate",
                    obj,
                    "mount" if obj in cfg.cas else "name",
                    f"mount '{mount}' is used twice (also at {mounts[mount].loc})",
                    "give each a mount",
                )
            )
        mounts[mount] = obj
    return out


def references(cfg: Config) -> list[Finding]:
    out: list[Finding] = []
    policies = {p.name for p in cfg.policies} | BUILTIN_POLICIES
    holders: list[Any] = [*cfg.users, *cfg.kubernetes_roles, *cfg.approle_roles]
    for holder in holders:
        for i, name in enumerate(holder.policies):
            if name not in policies:
                out.append(
                    _err(
                        "reference",
                        holder,
                        f"policies[{i}]",
                        f"policy '{name}' is not declared",
                        f"add it under `policies`, or use one of: {', '.join(sorted(policies))}",
                        holder.node["policies"].locate(i),
                    )
                )
    cas = {c.name: c for c in cfg.cas}
    for ca in cfg.cas:
        if ca.type == "intermediate":
            if ca.issuer not in cas:
                out.append(
                    _err(
                        "reference",
                        ca,
                        "issuer",
                        f"issuer CA '{ca.issuer}' is not declared",
                        "name a CA under pki.cas",
                    )
                )
            elif ca.issuer == ca.name:
                out.append(
                    _err(
                        "reference",
                        ca,
                        "issuer",
                        "an intermediate cannot sign itself",
                        "use type: root, or name another CA",
                    )
                )
            else:  # a cycle of intermediates has no root to start from
                seen, cur = {ca.name}, cas[ca.issuer]
                while cur.type == "intermediate" and cur.issuer in cas and cur.name not in seen:
                    seen.add(cur.name)
                    cur = cas[cur.issuer]
                if cur.type == "intermediate" and cur.name in seen:
                    out.append(
                        _err(
                            "reference",
                            ca,
                            "issuer",
                            "issuers form a cycle with no root CA",
                            "make one CA in the chain type: root",
                        )
                    )
        elif ca.issuer:
            out.append(
                _err(
                    "reference",
                    ca,
                    "issuer",
                    "a root CA has no issuer",
                    "remove issuer or use type: intermediate",
                )
            )
    for role in cfg.pki_roles:
        if role.ca not in cas:
            out.append(
                _err(
                    "reference",
                    role,
                    "ca",
                    f"CA '{role.ca}' is not declared",
                    f"name one of: {', '.join(sorted(cas)) or '(none: add pki.cas)'}",
                )
            )
    if cfg.aws_roles and cfg.aws_engine is None:
        first = cfg.aws_roles[0]
        out.append(
            _err("reference", first, "", "AWS roles need the AWS engine", "add `aws.engine` (mount, region)")
        )
    out.extend(_workload_references(cfg))
    return out


def _workload_references(cfg: Config) -> list[Finding]:
    """Each workload's identity is declared and its login works in the workload's namespace (and, for a
    kubernetes role, for its service account): the same check the Workload component makes."""
    out: list[Finding] = []
    declared: dict[str, tuple[str, str, dict[str, Any]]] = {
        # kind -> (what it is called, where it is declared, name -> declaration)
        "user": ("user", "users", {u.name: u for u in cfg.users}),
        "kubernetes_role": (
            "kubernetes role",
            "kubernetes_auth.roles",
            {r.name: r for r in cfg.kubernetes_roles},
        ),
        "approle": ("approle", "approle.roles", {r.name: r for r in cfg.approle_roles}),
    }
    for wl in cfg.workloads:
        kind, ref = wl.identity.kind, wl.identity.name
        ident_loc = wl.node["identity"].locate(kind)
        field = f"identity.{kind}"
        what, section, by_name = declared[kind]
        holder = by_name.get(ref)
        if holder is None:
            out.append(
                _err(
                    "reference",
                    wl,
                    field,
                    f"{what} '{ref}' is not declared",
                    f"add it under {section}",
                    ident_loc,
                )
            )
        else:
            problem = binding_problem(
                kind,
                f"{what} '{ref}'",
                holder.namespaces,
                getattr(holder, "service_accounts", None),
                wl.namespace,
                wl.service_account_name,
                f"{section}[{ref}]",
            )
            if problem is not None:
                out.append(_err("reference", wl, field, problem[1], problem[2], ident_loc))
        out.extend(_secret_targets(cfg, wl))
    return out


def _secret_targets(cfg: Config, wl: Workload) -> list[Finding]:
    """Paths that point into mounts we declare must name roles/stores that exist."""
    out: list[Finding] = []
    ca_mounts = {c.mount: c for c in cfg.cas}
    kv_mounts = {s.name for s in cfg.kv}
    aws_mount = cfg.aws_engine.mount if cfg.aws_engine else None
    for sec in wl.secrets:
        path = sec.path.strip("/")
        if sec.type == "pki":
            mount, _, rest = path.rpartition("/issue/")
            if mount in ca_mounts:
                names = {r.name for r in cfg.pki_roles if r.ca == ca_mounts[mount].name}
                if rest not in names:
                    out.append(
                        _err(
                            "reference",
                            sec,
                            "path",
                            f"PKI role '{rest}' is not declared on CA '{ca_mounts[mount].name}'",
                            "add it under pki.roles",
                        )
                    )
            elif not mount:
                out.append(
                    _err(
                        "reference",
                        sec,
                        "path",
                        "a pki secret issues from <ca mount>/issue/<role>",
                        "write e.g. pki-int/issue/internal",
                    )
                )
        elif sec.type == "aws" and aws_mount and path.startswith(f"{aws_mount}/"):
            role = path.rsplit("/", 1)[-1]
            if role not in {r.name for r in cfg.aws_roles}:
                out.append(
                    _err(
                        "reference",
                        sec,
                        "path",
                        f"AWS role '{role}' is not declared",
                        "add it under aws.roles",
                    )
                )
        elif sec.type == "kv":
            kv_mount = next((m for m in kv_mounts if path.startswith(f"{m}/")), None)
            if kv_mount is not None and sec.kv_version != 1 and not path.startswith(f"{kv_mount}/data/"):
                out.append(
                    _err(
                        "reference",
                        sec,
                        "path",
                        f"'{kv_mount}' is a KV v2 store: reads go through {kv_mount}/data/…",
                        f"write {kv_mount}/data/{path[len(kv_mount) + 1 :]}",
                    )
                )
    return out


def ttls(cfg: Config) -> list[Finding]:
    """Negative or unparsable durations, and a TTL above its own maximum."""
    out: list[Finding] = []
    pairs = {
        "token_ttl": "token_max_ttl",
        "ttl": "max_ttl",
        "default_sts_ttl": "max_sts_ttl",
        "default_lease_ttl": "max_lease_ttl",
    }
    objs: list[Any] = [
        *cfg.users,
        *cfg.cas,
        *cfg.pki_roles,
        *cfg.aws_roles,
        *cfg.kubernetes_roles,
        *cfg.approle_roles,
    ]
    for obj in objs:
        for low, high in pairs.items():
            if not hasattr(obj, low):
                continue
            try:
                lo = optional_ttl(getattr(obj, low, None), obj.field, low)
                hi = optional_ttl(getattr(obj, high, None), obj.field, high)
                check_max(lo, hi, obj.field, low)
            except ConfigError as exc:
                out.append(_err("ttl", obj, exc.field, exc.problem, exc.fix))
    return out


def _identity_policies(cfg: Config, kind: str, ref: str) -> list[str] | None:
    pools: dict[str, list[Any]] = {
        "user": cfg.users,
        "kubernetes_role": cfg.kubernetes_roles,
        "approle": cfg.approle_roles,
    }
    holder = next((h for h in pools[kind] if h.name == ref), None)
    return None if holder is None else list(holder.policies)


REVOKE_PATH = "sys/leases/revoke"


def revoke_scope(secret_path: str) -> str:
    """The grant that lets a sidekick revoke only this secret's leases: Vault names each lease after the path
    it was read from (`aws/creds/deploy/<id>`), and the sidekick puts the lease id in the URL."""
    return f"{REVOKE_PATH}/{secret_path.strip('/')}/*"


def least_privilege(cfg: Config) -> list[Finding]:
    """Each consumed secret must be allowed by the identity's policies; unused grants are warnings."""
    out: list[Finding] = []
    rules_by_policy: dict[str, dict[str, Any]] = {}
    for policy in cfg.policies:
        rules, problem = _policy_rules(policy)
        if rules is not None and problem is None and lint.policy_errors(rules) is None:
            rules_by_policy[policy.name] = rules
    needs_by_identity: dict[tuple[str, str], list[lint.Consumption]] = {}
    for wl in cfg.workloads:
        names = _identity_policies(cfg, wl.identity.kind, wl.identity.name)
        if names is None:
            continue  # reported as a reference error
        attached = [rules_by_policy[n] for n in names if n in rules_by_policy]
        ident = (wl.identity.kind, wl.identity.name)
        for sec in wl.secrets:
            cap = lint.required_capability(sec.type, sec.path)
            needs_by_identity.setdefault(ident, []).append(lint.Consumption(wl.name, sec.name, sec.path, cap))
            if not any(
                lint.allowed(attached, sec.path, c) for c in lint.accepted_capabilities(sec.type, sec.path)
            ):
                have = sorted(lint.granted(attached, sec.path))
                out.append(
                    _err(
                        "least-privilege",
                        sec,
                        "path",
                        f"{wl.identity.kind} '{wl.identity.name}' (policies: {', '.join(names) or 'none'}) "
                        f"lacks "
                        f"'{cap}' on {sec.path} (has: {', '.join(have)})",
                        f"grant {sec.path}: [{cap}] in one of its policies, or use an identity that has it",
                    )
                )
            if sec.type == "pki":
                for trouble, fix in certificate_problems(attached, sec.path, sec.params):
                    out.append(_err("least-privilege-certificate", sec, "path", trouble, fix))
            if sec.revoke:
                # the sidekick revokes replaced leases through sys/leases/revoke/<lease id>, which Vault's
                # default policy does not grant; the unscoped sys/leases/revoke (any lease by id in the body)
                # still works, but the advice is the grant scoped to this secret's own leases
                scope = revoke_scope(sec.path)
                lease = scope[:-1] + "lease-id"  # any lease of this secret
                for path in (lease, REVOKE_PATH):
                    needs_by_identity[ident].append(lint.Consumption(wl.name, sec.name, path, "update"))
                if not any(lint.allowed(attached, path, "update") for path in (lease, REVOKE_PATH)):
                    out.append(
                        _warn(
                            "revoke-permission",
                            sec,
                            "revoke",
                            f"revoke: true, but {wl.identity.kind} '{wl.identity.name}' may not update "
                            f"{scope}: the sidekick's revokes will be refused and the leases live out "
                            "their TTL",
                            f"grant {scope}: [update] in one of its policies, or drop revoke",
                        )
                    )
    policy_objs = {p.name: p for p in cfg.policies}
    for (kind, ref), needs in needs_by_identity.items():
        for name in _identity_policies(cfg, kind, ref) or []:
            pol = policy_objs.get(name)
            if pol is None or name not in rules_by_policy:
                continue
            for path, spare in lint.unused_grants(rules_by_policy[name], needs):
                loc = pol.node["rules"].locate(path) if pol.hcl is None else pol.at("hcl")
                out.append(
                    _warn(
                        "unused-grant",
                        pol,
                        f"rules.{path}",
                        f"grants {', '.join(spare)} on {path} but no workload of {kind} '{ref}' uses it",
                        "remove the unused capabilities (least privilege)",
                        loc,
                    )
                )
    return out


def check(cfg: Config) -> list[Finding]:
    findings = duplicates(cfg) + references(cfg) + external.ownership(cfg) + ttls(cfg) + policy_lint(cfg)
    return findings + least_privilege(cfg)
