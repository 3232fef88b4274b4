"""`vaultconf import`: YAML for an existing Vault, and the `pulumi import` file that adopts its objects.

The import file names each Vault object the way the stack program registers it: component names come from
vaultconf.names (the stack builder uses the same functions), children are `names.child(component, suffix)`
with the suffixes the components use, IDs are the upstream provider's import IDs. Components are entries
with `"component": true` (pulumi >= 3.94 creates them), so every child lands under its real parent.

Never reads a secret value: no KV data, no passwords, no private keys. What cannot be adopted is listed in
the notes with what the first `pulumi up` does about it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from typing import Any, Protocol

import yaml as pyyaml

from vaultconf import names
from vaultconf.errors import ConfigError
from vaultconf.hcl import render_policy

from .adoption import (
    BUILTIN_AUTH,
    BUILTIN_MOUNTS,
    BUILTIN_POLICIES,
    NOTES,
    T_APPROLE_ROLE,
    T_AUTH,
    T_AWS,
    T_AWS_ROLE,
    T_K8S_CONFIG,
    T_K8S_ROLE,
    T_KV_CONFIG,
    T_MOUNT,
    T_PKI_ROLE,
    T_PKI_URLS,
    T_POLICY,
    T_USER,
    USER_TOKEN_DEFAULTS,
    _ca_subject,
    _clean,
    _mounts,
    _nonzero,
    _ttl,
)
from .policytext import PolicySyntaxError, parse_policy
from .settings import adopted_password_key
from .vault_http import VaultApiError


class VaultReader(Protocol):
    """What the importer needs of a Vault client: reads and lists (never a write)."""

    def read(self, path: str) -> dict[str, Any] | None: ...

    def list(self, path: str) -> list[str]: ...


@dataclasses.dataclass
class ImportResult:
    files: dict[str, str]
    notes: list[str]


class _Importer:
    def __init__(self, client: VaultReader, project: str, stack: str) -> None:
        self.client = client
        self.doc: dict[str, Any] = {}
        self.notes: list[str] = []
        self.resources: list[dict[str, Any]] = []
        self.components: set[str] = set()
        provider = f"urn:pulumi:{stack}::{project}::pulumi:providers:vault::{names.VAULT_PROVIDER}"
        self.name_table = {names.VAULT_PROVIDER: provider}

    def component(self, cls_name: str, name: str) -> str:
        if name not in self.components:
            self.components.add(name)
            self.resources.append({"type": names.component_type(cls_name), "name": name, "component": True})
        return name

    def adopt(self, parent: str | None, suffix: str | None, type_: str, id_: str, name: str = "") -> None:
        """One Vault object: `names.child(parent, suffix)` under its component (or `name` at the top)."""
        entry: dict[str, Any] = {
            "type": type_,
            "name": names.child(parent, suffix) if parent and suffix else name,
            "id": id_,
            "provider": names.VAULT_PROVIDER,
        }
        if parent:
            entry["parent"] = parent
        self.resources.append(entry)

    def note(self, which: str, **values: str) -> None:
        self.notes.append(NOTES[which].format(**values))

    def read(self, path: str) -> dict[str, Any]:
        return self.client.read(path) or {}

    # --- policies -----------------------------------------------------------------------------------------

    def policies(self) -> None:
        out = []
        for name in self.client.list("sys/policies/acl"):
            if name in BUILTIN_POLICIES:
                continue
            text = self.read(f"sys/policies/acl/{name}").get("policy", "")
            entry: dict[str, Any] = {"name": name, "hcl": text}
            with contextlib.suppress(PolicySyntaxError, ConfigError):
                rules = parse_policy(text)
                # structured rules only when they render back to the very text Vault holds: otherwise the
                # first `up` would rewrite every hand-written policy
                if rules and render_policy(rules) == text:
                    entry = {"name": name, "rules": {p: _rule(r) for p, r in rules.items()}}
            if "hcl" in entry:
                self.note("policy-hcl", name=name)
            out.append(entry)
            parent = self.component("Policy", names.policy(name))
            self.adopt(parent, names.POLICY_CHILD, T_POLICY, name)
        if out:
            self.doc["policies"] = out

    # --- secrets engines --------------------------------------------------------------------------------

    def engines(self) -> None:
        for path, info in sorted(_mounts(self.client, "sys/mounts").items()):
            kind = info["type"]
            if path in BUILTIN_MOUNTS:
                continue
            if kind == "pki":
                self._pki(path, info)
            elif kind == "aws":
                self._aws(path, info)
            elif kind in ("kv", "generic") and str((info.get("options") or {}).get("version")) == "2":
                self._kv(path, info)
            else:
                self.notes.append(f"mount {path} ({kind}): not modelled; left out (not managed)")

    def _kv(self, path: str, info: dict[str, Any]) -> None:
        conf = self.read(f"{path}/config")
        self.doc.setdefault("kv", []).append(
            _clean(
                {
                    "name": path,
                    "description": info.get("description", ""),
                    "max_versions": int(conf.get("max_versions") or 0),
                    "cas_required": conf.get("cas_required") or None,
                    "delete_version_after": _nonzero(conf.get("delete_version_after")),
                }
            )
        )
        parent = self.component("KvStore", names.kv_store(path))
        self.adopt(parent, names.MOUNT_CHILD, T_MOUNT, path)
        self.adopt(parent, names.KV_CONFIG_CHILD, T_KV_CONFIG, f"{path}/config")
        self.note("kv", path=path)

    def _pki(self, path: str, info: dict[str, Any]) -> None:
        pem = ""
        with contextlib.suppress(VaultApiError):  # 400 "no default issuer": a mount that holds no CA yet
            pem = str(self.read(f"{path}/cert/ca").get("certificate") or "")
        cn, key_type, key_bits = _ca_subject(pem)
        urls = self.read(f"{path}/config/urls")
        max_lease = _ttl((info.get("config") or {}).get("max_lease_ttl"))
        self.doc.setdefault("pki", {"cas": [], "roles": []})["cas"].append(
            _clean(
                {
                    "name": path,
                    "mount": path,
                    "type": "root",
                    "adopted": True if pem else None,
                    "common_name": cn or f"{path} CA",
                    "key_type": key_type,
                    "key_bits": key_bits if key_type == "rsa" else None,
                    "description": info.get("description", ""),
                    "max_lease_ttl": max_lease if max_lease is not None else 0,
                    "issuing_certificates": urls.get("issuing_certificates") or None,
                    "crl_distribution_points": urls.get("crl_distribution_points") or None,
                }
            )
        )
        parent = self.component("CertificateAuthority", names.ca(path))
        self.adopt(parent, names.MOUNT_CHILD, T_MOUNT, path)
        if urls.get("issuing_certificates") or urls.get("crl_distribution_points"):
            self.adopt(parent, names.URLS_CHILD, T_PKI_URLS, f"{path}/config/urls")
        else:
            self.note("pki-urls", path=path)
        self.note("pki-ca" if pem else "pki-no-ca", path=path)
        for role in self.client.list(f"{path}/roles"):
            r = self.read(f"{path}/roles/{role}")
            if r.get("key_type") == "any":
                self.notes.append(f"pki role {role}: key_type any cannot be expressed; the first up sets rsa")
            self.doc["pki"]["roles"].append(
                _clean(
                    {
                        "name": role,
                        "ca": path,
                        "allowed_domains": r.get("allowed_domains") or ["REVIEW"],  # the schema needs one
                        "allow_subdomains": bool(r.get("allow_subdomains")),
                        "allow_bare_domains": bool(r.get("allow_bare_domains")),
                        "allow_localhost": bool(r.get("allow_localhost")),
                        "allow_ip_sans": bool(r.get("allow_ip_sans")),
                        "ttl": _nonzero(r.get("ttl")),
                        "max_ttl": _nonzero(r.get("max_ttl")),
                        "key_type": r.get("key_type") if r.get("key_type") != "any" else None,
                        "key_bits": r.get("key_bits") or None,
                        "server_flag": bool(r.get("server_flag")),
                        "client_flag": bool(r.get("client_flag")),
                    }
                )
            )
            if not r.get("allowed_domains"):
                self.notes.append(f"pki role {role}: no allowed_domains; replace REVIEW (up would set it)")
            parent = self.component("PkiRole", names.pki_role(role))
            self.adopt(parent, names.ROLE_CHILD, T_PKI_ROLE, f"{path}/roles/{role}")

    def _aws(self, path: str, info: dict[str, Any]) -> None:
        if "aws" in self.doc:
            self.notes.append(f"aws mount {path}: only one AWS engine is modelled; left out")
            return
        root = self.read(f"{path}/config/root")
        cfg = info.get("config") or {}
        roles = []
        for role in self.client.list(f"{path}/roles"):
            r = self.read(f"{path}/roles/{role}")
            types = r.get("credential_type") or r.get("credential_types") or "iam_user"
            ctype = types[0] if isinstance(types, list) else str(types).split(",")[0]
            doc = r.get("policy_document")
            with contextlib.suppress(json.JSONDecodeError):
                doc = json.loads(doc) if isinstance(doc, str) and doc else doc
            if r.get("iam_groups"):
                self.note("aws-groups", role=role)
            sts = ctype != "iam_user"
            roles.append(
                _clean(
                    {
                        "name": role,
                        "credential_type": ctype,
                        "policy_document": doc or None,
                        "policy_arns": r.get("policy_arns") or None,
                        "role_arns": r.get("role_arns") or None,
                        "default_sts_ttl": _nonzero(r.get("default_sts_ttl")) if sts else None,
                        "max_sts_ttl": _nonzero(r.get("max_sts_ttl")) if sts else None,
                    }
                )
            )
            parent = self.component("AwsRole", names.aws_role(role))
            self.adopt(parent, names.ROLE_CHILD, T_AWS_ROLE, f"{path}/roles/{role}")
        engine = self.component("AwsSecretsEngine", names.AWS_ENGINE)
        self.adopt(engine, names.BACKEND_CHILD, T_AWS, path)
        self.doc["aws"] = {
            "engine": _clean(
                {
                    "mount": path,
                    "adopted": True,
                    "region": root.get("region") or None,
                    "iam_endpoint": root.get("iam_endpoint") or None,
                    "sts_endpoint": root.get("sts_endpoint") or None,
                    "default_lease_ttl": _nonzero(cfg.get("default_lease_ttl")),
                    "max_lease_ttl": _nonzero(cfg.get("max_lease_ttl")),
                }
            ),
            "roles": roles,
        }
        self.note("aws", path=path)

    # --- auth methods -----------------------------------------------------------------------------------

    def auth(self) -> None:
        for path, info in sorted(_mounts(self.client, "sys/auth").items()):
            kind = info["type"]
            if kind == "userpass" and "users" not in self.doc:
                self._userpass(path, info)
            elif kind == "kubernetes" and "kubernetes_auth" not in self.doc:
                self._kubernetes(path, info)
            elif kind == "approle" and "approle" not in self.doc:
                self._approle(path, info)
            elif kind not in BUILTIN_AUTH:
                self.notes.append(f"auth mount {path} ({kind}): not modelled; left out (not managed)")

    def _describe(self, section: dict[str, Any], key: str, info: dict[str, Any]) -> None:
        """An adopted auth mount keeps its description: the stack sends what the YAML holds (Vault's text
        as it is; safe_dump quotes it), and an unset one would be cleared by the first up."""
        if info.get("description"):
            section[key] = str(info["description"])

    def _userpass(self, path: str, info: dict[str, Any]) -> None:
        users = []
        for name in self.client.list(f"auth/{path}/users"):
            u = self.read(f"auth/{path}/users/{name}")
            entry = {"name": name, "adopted": True, "policies": list(u.get("token_policies") or [])}
            ttls = {k: _nonzero(u.get(k)) for k in ("token_ttl", "token_max_ttl")}
            users.append(entry | _clean(ttls) | _token_limits(u))
            parent = self.component("User", names.user(name))
            self.adopt(parent, names.USER_CHILD, T_USER, f"auth/{path}/users/{name}")
            self.note("user", name=name, key=adopted_password_key(name))
        self.doc["users"] = users
        self.doc.setdefault("settings", {})["userpass_mount"] = path
        self._describe(self.doc["settings"], "userpass_mount_description", info)
        self.adopt(None, None, T_AUTH, path, name=names.USERPASS_BACKEND)

    def _kubernetes(self, path: str, info: dict[str, Any]) -> None:
        conf = self.read(f"auth/{path}/config")
        roles = []
        parent = self.component("KubernetesAuth", names.KUBERNETES_AUTH)
        self.adopt(parent, names.BACKEND_CHILD, T_AUTH, path)
        self.adopt(parent, names.AUTH_CONFIG_CHILD, T_K8S_CONFIG, f"auth/{path}/config")
        for name in self.client.list(f"auth/{path}/role"):
            r = self.read(f"auth/{path}/role/{name}")
            if not r.get("bound_service_account_names") or not r.get("bound_service_account_namespaces"):
                self.notes.append(f"kubernetes role {name}: binds no service account or namespace; left out")
                continue
            if not r.get("audience"):
                self.notes.append(f"kubernetes role {name}: no audience; the first up sets the default one")
            roles.append(
                _clean(
                    {
                        "name": name,
                        "service_accounts": r.get("bound_service_account_names"),
                        "namespaces": r.get("bound_service_account_namespaces"),
                        "policies": r.get("token_policies") or ["default"],
                        "audience": r.get("audience") or None,
                        "token_ttl": _nonzero(r.get("token_ttl")),
                        "token_max_ttl": _nonzero(r.get("token_max_ttl")),
                    }
                )
            )
            self.adopt(parent, names.auth_role_child(name), T_K8S_ROLE, f"auth/{path}/role/{name}")
        self.doc["kubernetes_auth"] = _clean(
            {"mount": path, "kubernetes_host": conf.get("kubernetes_host"), "roles": roles}
        )
        self._describe(self.doc["kubernetes_auth"], "description", info)
        self.note("kubernetes")

    def _approle(self, path: str, info: dict[str, Any]) -> None:
        roles = []
        parent = self.component("AppRole", names.APPROLE)
        self.adopt(parent, names.BACKEND_CHILD, T_AUTH, path)
        for name in self.client.list(f"auth/{path}/role"):
            r = self.read(f"auth/{path}/role/{name}")
            roles.append(
                _clean(
                    {
                        "name": name,
                        "policies": r.get("token_policies") or ["default"],
                        "token_ttl": _nonzero(r.get("token_ttl")),
                        "token_max_ttl": _nonzero(r.get("token_max_ttl")),
                        "secret_id_ttl": _ttl(r.get("secret_id_ttl")) or 0,
                        "secret_id_num_uses": r.get("secret_id_num_uses") or None,
                        "adopted": True,
                    }
                )
            )
            self.adopt(parent, names.auth_role_child(name), T_APPROLE_ROLE, f"auth/{path}/role/{name}")
            self.note("approle", name=name)
        self.doc["approle"] = {"mount": path, "roles": roles}
        self._describe(self.doc["approle"], "description", info)


def _token_limits(user: dict[str, Any]) -> dict[str, Any]:
    """A user's other token parameters, each only when it differs from Vault's default (the stack then
    leaves it unset and the provider compares it with that default)."""
    out: dict[str, Any] = {}
    for key, default in USER_TOKEN_DEFAULTS.items():
        value = user.get(key)
        if value in (None, "", default):
            continue
        if key in ("token_explicit_max_ttl", "token_period"):
            value = _nonzero(value)
        elif key == "token_bound_cidrs":
            value = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        if value is not None:
            out[key] = value
    return out


def _rule(rule: dict[str, Any]) -> Any:
    return rule["capabilities"] if set(rule) == {"capabilities"} else rule


def import_vault(client: VaultReader, project: str = "vaultconf", stack: str = "dev") -> ImportResult:
    imp = _Importer(client, project, stack)
    imp.policies()
    imp.engines()
    imp.auth()
    header = (
        "# yaml-language-server: $schema=../../../components/vaultconf/schema/vaultconf.schema.json\n"
        "# Written by `vaultconf import` (no secret values). Review the notes it printed; docs/adoption.md.\n"
    )
    imp.note("next", provider=imp.name_table[names.VAULT_PROVIDER])
    document = {"nameTable": imp.name_table, "resources": imp.resources}
    files = {
        "imported.yaml": header + pyyaml.safe_dump(imp.doc, sort_keys=False, width=100),
        "pulumi-import.json": json.dumps(document, indent=2) + "\n",
    }
    return ImportResult(files, imp.notes)
