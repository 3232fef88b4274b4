"""What a live Vault holds beyond the YAML (`unmanaged`, `--purge`) and YAML for an existing Vault (`import`).

Neither ever reads a secret value: policies, role and mount settings only. KV data is not listed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import yaml as pyyaml

from vaultconf import names

from .model import Config
from .policytext import PolicySyntaxError, parse_policy
from .vault_http import VaultClient

BUILTIN_MOUNTS = frozenset({"sys", "cubbyhole", "identity"})
BUILTIN_AUTH = frozenset({"token"})
BUILTIN_POLICIES = frozenset({"root", "default"})
# purge order: objects inside mounts first, then policies, then the mounts themselves
ORDER = (
    "userpass user",
    "pki role",
    "aws role",
    "kubernetes role",
    "approle role",
    "policy",
    "auth mount",
    "mount",
)


@dataclasses.dataclass(frozen=True)
class Unmanaged:
    kind: str
    name: str
    delete_path: str

    def __str__(self) -> str:
        return f"unmanaged {self.kind}: {self.name}"

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "path": self.delete_path}


def _mounts(client: VaultClient, path: str) -> dict[str, dict[str, Any]]:
    data = client.read(path) or {}
    return {k.rstrip("/"): v for k, v in data.items() if isinstance(v, dict) and "type" in v}


def find_unmanaged(client: VaultClient, cfg: Config) -> list[Unmanaged]:
    out: list[Unmanaged] = []
    ca_mounts = {c.mount: c.name for c in cfg.cas}
    engines = _mounts(client, "sys/mounts")
    wanted_mounts = set(ca_mounts) | {s.name for s in cfg.kv}
    if cfg.aws_engine:
        wanted_mounts.add(cfg.aws_engine.mount)
    for path, info in sorted(engines.items()):
        if path in BUILTIN_MOUNTS:
            continue
        if path not in wanted_mounts:
            out.append(Unmanaged("mount", f"{path} ({info['type']})", f"sys/mounts/{path}"))
        elif info["type"] == "pki":
            wanted = {r.name for r in cfg.pki_roles if r.ca == ca_mounts.get(path)}
            out += [
                Unmanaged("pki role", f"{path}/roles/{r}", f"{path}/roles/{r}")
                for r in client.list(f"{path}/roles")
                if r not in wanted
            ]
        elif info["type"] == "aws":
            wanted = {r.name for r in cfg.aws_roles}
            out += [
                Unmanaged("aws role", f"{path}/roles/{r}", f"{path}/roles/{r}")
                for r in client.list(f"{path}/roles")
                if r not in wanted
            ]
    auths = _mounts(client, "sys/auth")
    wanted_auth = {
        cfg.userpass_mount: ("userpass", "users", "userpass user", {u.name.lower() for u in cfg.users}),
        cfg.kubernetes_mount: (
            "kubernetes",
            "role",
            "kubernetes role",
            {r.name for r in cfg.kubernetes_roles},
        ),
        cfg.approle_mount: ("approle", "role", "approle role", {r.name.lower() for r in cfg.approle_roles}),
    }
    in_use = {
        cfg.userpass_mount: bool(cfg.users),
        cfg.kubernetes_mount: bool(cfg.kubernetes_roles),
        cfg.approle_mount: bool(cfg.approle_roles),
    }
    for path, info in sorted(auths.items()):
        if path in BUILTIN_AUTH:
            continue
        spec = wanted_auth.get(path)
        if spec is None or spec[0] != info["type"] or not in_use.get(path):
            out.append(Unmanaged("auth mount", f"{path} ({info['type']})", f"sys/auth/{path}"))
            continue
        _type, sub, kind, wanted = spec
        out += [
            Unmanaged(kind, f"auth/{path}/{sub}/{n}", f"auth/{path}/{sub}/{n}")
            for n in client.list(f"auth/{path}/{sub}")
            if n not in wanted
        ]
    wanted_policies = {p.name for p in cfg.policies} | BUILTIN_POLICIES
    out += [
        Unmanaged("policy", n, f"sys/policies/acl/{n}")
        for n in client.list("sys/policies/acl")
        if n not in wanted_policies
    ]
    return sorted(out, key=lambda u: (ORDER.index(u.kind), u.name))


def purge(client: VaultClient, items: list[Unmanaged]) -> Iterator[str]:
    for item in sorted(items, key=lambda u: ORDER.index(u.kind)):
        client.delete(item.delete_path)
        yield f"deleted {item.kind}: {item.name}"


# --- import ------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class ImportResult:
    files: dict[str, str]
    notes: list[str]


def _ttl(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and value else None


def _clean(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v not in (None, [], "", {})}


class _Importer:
    def __init__(self, client: VaultClient, project: str, stack: str) -> None:
        self.client = client
        self.project = project
        self.stack = stack
        self.doc: dict[str, Any] = {}
        self.notes: list[str] = []
        self.resources: list[dict[str, str]] = []
        self.name_table: dict[str, str] = {}

    def adopt(self, component: tuple[str, str] | None, type_: str, name: str, id_: str) -> None:
        """One entry of the `pulumi import --file` document, parented like the stack program builds it."""
        entry = {"type": type_, "name": name, "id": id_}
        if component is not None:
            ctype, cname = component
            self.name_table[cname] = f"urn:pulumi:{self.stack}::{self.project}::{ctype}::{cname}"
            entry["parent"] = cname
        self.resources.append(entry)

    def policies(self) -> None:
        out = []
        for name in self.client.list("sys/policies/acl"):
            if name in BUILTIN_POLICIES:
                continue
            text = (self.client.read(f"sys/policies/acl/{name}") or {}).get("policy", "")
            try:
                rules = parse_policy(text)
                entry: dict[str, Any] = {
                    "name": name,
                    "rules": {
                        p: r["capabilities"] if set(r) == {"capabilities"} else r for p, r in rules.items()
                    },
                }
                if not rules:
                    raise PolicySyntaxError(0, "no path rules")
            except PolicySyntaxError:
                entry = {"name": name, "hcl": text}
                self.notes.append(f"policy {name}: kept as raw hcl (not structured)")
            out.append(entry)
            self.adopt(
                ("vaultconf:index:Policy", f"policy-{name}"),
                "vault:index/policy:Policy",
                f"policy-{name}-policy",
                name,
            )
        if out:
            self.doc["policies"] = out

    def engines(self) -> None:
        cas, roles, kv = [], [], []
        for path, info in sorted(_mounts(self.client, "sys/mounts").items()):
            kind = info["type"]
            if kind == "pki":
                cas.append({"name": path, "mount": path, "type": "root", "common_name": f"{path} CA"})
                self.notes.append(
                    f"pki mount {path}: CA key material cannot be adopted; review pki.cas[{path}] "
                    "(type, issuer, common_name) before `pulumi up` — it would issue a new CA"
                )
                for role in self.client.list(f"{path}/roles"):
                    r = self.client.read(f"{path}/roles/{role}") or {}
                    roles.append(
                        _clean(
                            {
                                "name": role,
                                "ca": path,
                                "allowed_domains": r.get("allowed_domains") or ["REVIEW"],
                                "allow_subdomains": r.get("allow_subdomains"),
                                "allow_bare_domains": r.get("allow_bare_domains"),
                                "allow_localhost": r.get("allow_localhost"),
                                "ttl": _ttl(r.get("ttl")),
                                "max_ttl": _ttl(r.get("max_ttl")),
                                "key_type": r.get("key_type"),
                                "key_bits": r.get("key_bits") or None,
                                "server_flag": r.get("server_flag"),
                                "client_flag": r.get("client_flag"),
                            }
                        )
                    )
                    self.adopt(
                        ("vaultconf:index:PkiRole", f"pki-role-{role}"),
                        "vault:pkiSecret/secretBackendRole:SecretBackendRole",
                        f"pki-role-{role}-role",
                        f"{path}/roles/{role}",
                    )
            elif kind == "aws":
                self._aws(path)
            elif kind in ("kv", "generic") and str((info.get("options") or {}).get("version")) == "2":
                conf = self.client.read(f"{path}/config") or {}
                kv.append(
                    _clean(
                        {
                            "name": path,
                            "max_versions": conf.get("max_versions") or None,
                            "cas_required": conf.get("cas_required") or None,
                        }
                    )
                )
                self.adopt(
                    ("vaultconf:index:KvStore", f"kv-{path}"),
                    "vault:index/mount:Mount",
                    f"kv-{path}-mount",
                    path,
                )
                self.notes.append(f"kv store {path}: secrets and their values are not imported")
            elif kind not in BUILTIN_MOUNTS:
                self.notes.append(f"mount {path} ({kind}): not modelled; left out")
        if cas:
            self.doc["pki"] = {"cas": cas, "roles": roles}
        if kv:
            self.doc["kv"] = kv

    def _aws(self, path: str) -> None:
        if "aws" in self.doc:
            self.notes.append(f"aws mount {path}: only one AWS engine is modelled; left out")
            return
        root = self.client.read(f"{path}/config/root") or {}
        roles = []
        for role in self.client.list(f"{path}/roles"):
            r = self.client.read(f"{path}/roles/{role}") or {}
            types = r.get("credential_type") or r.get("credential_types") or ["iam_user"]
            doc = r.get("policy_document")
            with contextlib.suppress(json.JSONDecodeError):
                doc = json.loads(doc) if isinstance(doc, str) and doc else doc
            roles.append(
                _clean(
                    {
                        "name": role,
                        "credential_type": types[0] if isinstance(types, list) else types,
                        "policy_document": doc,
                        "policy_arns": r.get("policy_arns"),
                        "role_arns": r.get("role_arns"),
                        "default_sts_ttl": _ttl(r.get("default_sts_ttl")),
                        "max_sts_ttl": _ttl(r.get("max_sts_ttl")),
                    }
                )
            )
            self.adopt(
                ("vaultconf:index:AwsRole", f"aws-role-{role}"),
                "vault:aws/secretBackendRole:SecretBackendRole",
                f"aws-role-{role}-role",
                f"{path}/roles/{role}",
            )
        self.doc["aws"] = {
            "engine": _clean(
                {
                    "mount": path,
                    "region": root.get("region"),
                    "iam_endpoint": root.get("iam_endpoint"),
                    "sts_endpoint": root.get("sts_endpoint"),
                }
            ),
            "roles": roles,
        }
        self.notes.append(
            "aws: root keys are not imported; set awsAccessKey/awsSecretKey with `pulumi config set --secret`"
        )

    def auth(self) -> None:
        for path, info in sorted(_mounts(self.client, "sys/auth").items()):
            kind = info["type"]
            if kind == "userpass" and "users" not in self.doc:
                users = []
                for name in self.client.list(f"auth/{path}/users"):
                    u = self.client.read(f"auth/{path}/users/{name}") or {}
                    users.append(
                        _clean(
                            {
                                "name": name,
                                "policies": u.get("token_policies") or ["default"],
                                "token_ttl": _ttl(u.get("token_ttl")),
                                "token_max_ttl": _ttl(u.get("token_max_ttl")),
                            }
                        )
                    )
                    self.adopt(
                        ("vaultconf:index:User", f"user-{name}"),
                        "vault:index/userpassAuthBackendUser:UserpassAuthBackendUser",
                        f"user-{name}-user",
                        f"auth/{path}/users/{name}",
                    )
                self.doc["users"] = users
                self.doc.setdefault("settings", {})["userpass_mount"] = path
                self.adopt(None, "vault:index/authBackend:AuthBackend", "userpass", path)
                self.notes.append(
                    "users: passwords cannot be read; the first `pulumi up` sets generated ones — add "
                    "`namespaces` so each app gets its credentials Secret"
                )
            elif kind == "kubernetes" and "kubernetes_auth" not in self.doc:
                conf = self.client.read(f"auth/{path}/config") or {}
                roles = []
                for name in self.client.list(f"auth/{path}/role"):
                    r = self.client.read(f"auth/{path}/role/{name}") or {}
                    if not r.get("bound_service_account_names") or not r.get(
                        "bound_service_account_namespaces"
                    ):
                        self.notes.append(
                            f"kubernetes role {name}: no bound service accounts/namespaces; left out"
                        )
                        continue
                    roles.append(
                        _clean(
                            {
                                "name": name,
                                "service_accounts": r.get("bound_service_account_names"),
                                "namespaces": r.get("bound_service_account_namespaces"),
                                "policies": r.get("token_policies") or ["default"],
                                "audience": r.get("audience"),
                                "token_ttl": _ttl(r.get("token_ttl")),
                                "token_max_ttl": _ttl(r.get("token_max_ttl")),
                            }
                        )
                    )
                    self.adopt(
                        ("vaultconf:index:KubernetesAuth", "kubernetes-auth"),
                        "vault:kubernetes/authBackendRole:AuthBackendRole",
                        f"kubernetes-auth-role-{names.k8s_name(name)}",
                        f"auth/{path}/role/{name}",
                    )
                self.doc["kubernetes_auth"] = _clean(
                    {"mount": path, "kubernetes_host": conf.get("kubernetes_host"), "roles": roles}
                )
                self.adopt(
                    ("vaultconf:index:KubernetesAuth", "kubernetes-auth"),
                    "vault:index/authBackend:AuthBackend",
                    "kubernetes-auth-backend",
                    path,
                )
            elif kind == "approle" and "approle" not in self.doc:
                roles = []
                for name in self.client.list(f"auth/{path}/role"):
                    r = self.client.read(f"auth/{path}/role/{name}") or {}
                    roles.append(
                        _clean(
                            {
                                "name": name,
                                "policies": r.get("token_policies") or ["default"],
                                "token_ttl": _ttl(r.get("token_ttl")),
                                "token_max_ttl": _ttl(r.get("token_max_ttl")),
                                "secret_id_ttl": _ttl(r.get("secret_id_ttl")),
                                "secret_id_num_uses": r.get("secret_id_num_uses") or None,
                            }
                        )
                    )
                self.doc["approle"] = {"mount": path, "roles": roles}
                self.adopt(
                    ("vaultconf:index:AppRole", "approle"),
                    "vault:index/authBackend:AuthBackend",
                    "approle-backend",
                    path,
                )
            elif kind not in BUILTIN_AUTH:
                self.notes.append(f"auth mount {path} ({kind}): not modelled; left out")


def import_vault(client: VaultClient, project: str = "vaultconf", stack: str = "dev") -> ImportResult:
    imp = _Importer(client, project, stack)
    imp.policies()
    imp.engines()
    imp.auth()
    header = (
        "# yaml-language-server: $schema=../../../components/vaultconf/schema/vaultconf.schema.json\n"
        "# Written by `vaultconf import` (no secret values). Review the notes it printed.\n"
    )
    files = {
        "imported.yaml": header + pyyaml.safe_dump(imp.doc, sort_keys=False, width=100),
        "pulumi-import.json": json.dumps({"nameTable": imp.name_table, "resources": imp.resources}, indent=2)
        + "\n",
    }
    return ImportResult(files, imp.notes)
