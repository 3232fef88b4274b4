"""`vaultconf convert`: the 2015 vaultconf layout → this project's YAML.

Old layout (UKHomeOffice/vaultconf):
* policies/<namespace>/<name>.yaml|json — `path: {<pattern>: {policy: read|write|deny|sudo}}` (also
  `capabilities`); files directly in policies/ are global policies;
* users.yaml — namespace → [{name, policies: [<policy in that namespace>]}];
* any other *.yaml with `write_path` + `values` — raw writes: AWS/PKI roles become aws.roles / pki.roles,
  everything else a seeded KV secret. Values are never copied: they become `pulumi config set --secret`
  commands for the operator to run.
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
from typing import Any

import yaml as pyyaml

from .findings import Loc, UnusableInput
from .policytext import PolicySyntaxError, legacy_rules
from .settings import seed_config_key
from .tree import load_file, plain

SUFFIXES = (".yaml", ".yml", ".json")
ROLE_PATH = re.compile(r"^(?P<mount>[^/]+(?:/[^/]+)*?)/roles/(?P<name>[^/]+)$")
PKI_KEYS = {
    "allowed_domains",
    "allowed_base_domain",
    "allow_subdomains",
    "allow_bare_domains",
    "allow_any_name",
}
AWS_KEYS = {"policy", "policy_document", "policy_arns", "arn", "role_arns", "credential_type"}


def k8s_namespace(old: str) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", old.lower()).strip("-")
    return name[:63].strip("-") or "default"


def vault_name(old: str) -> str:
    """Lowercase, as Vault stores user and policy names (a capital would show a diff on every run)."""
    return re.sub(r"[^a-z0-9_.-]+", "-", old.lower()).strip("-.") or "unnamed"


@dataclasses.dataclass
class ConvertResult:
    doc: dict[str, Any]
    notes: list[str]
    secret_commands: list[str]

    def yaml(self) -> str:
        header = (
            "# yaml-language-server: $schema=../../../components/vaultconf/schema/vaultconf.schema.json\n"
            "# Converted by `vaultconf convert` from a 2015 vaultconf directory.\n"
            "# Secret values were NOT copied: run the `pulumi config set --secret` commands it printed.\n"
        )
        return header + pyyaml.safe_dump(self.doc, sort_keys=False, default_flow_style=False, width=100)


def _load(path: pathlib.Path, root: pathlib.Path) -> Any:
    return plain(load_file(path, str(path.relative_to(root.parent) if root.parent in path.parents else path)))


def _values(raw: Any) -> dict[str, Any]:
    """`values` as the old tool took them: a mapping, or a list of one-key mappings."""
    if isinstance(raw, dict):
        return dict(raw)
    out: dict[str, Any] = {}
    for item in raw or []:
        if isinstance(item, dict):
            out.update(item)
    return out


def convert(source: pathlib.Path) -> ConvertResult:
    if not source.is_dir():
        raise UnusableInput(
            Loc(str(source), 0), "not a directory", "pass the old vaultconf checkout directory"
        )
    notes: list[str] = []
    commands: list[str] = []
    policies: dict[str, dict[str, Any]] = {}
    scoped: dict[tuple[str, str], str] = {}  # (old namespace, old policy name) → new policy name

    policy_dir = source / "policies"
    for path in sorted(policy_dir.rglob("*")) if policy_dir.is_dir() else []:
        if path.suffix not in SUFFIXES or not path.is_file():
            continue
        rel = path.relative_to(policy_dir)
        old_ns = rel.parts[0] if len(rel.parts) > 1 else ""
        name = vault_name(f"{k8s_namespace(old_ns)}-{path.stem}" if old_ns else path.stem)
        doc = _load(path, source)
        try:
            rules = legacy_rules(doc)
        except PolicySyntaxError as exc:
            raise UnusableInput(
                Loc(str(path), exc.line),
                f"not an old vaultconf policy: {exc}",
                'expected path: {"<pattern>": {policy: read}}',
            ) from exc
        if not rules:
            notes.append(f"{path}: policy has no paths; skipped")
            continue
        policies[name] = {
            "name": name,
            "description": f"converted from {rel.as_posix()}",
            "rules": {p: r["capabilities"] if set(r) == {"capabilities"} else r for p, r in rules.items()},
        }
        scoped[(old_ns, path.stem)] = name

    users: dict[str, dict[str, Any]] = {}
    users_file = next((source / n for n in ("users.yaml", "users.yml") if (source / n).is_file()), None)
    if users_file is not None:
        doc = _load(users_file, source)
        if isinstance(doc, dict) and isinstance(doc.get("users"), list) and len(doc) == 1:
            doc = {"": doc["users"]}  # the earliest form: no namespaces
        if not isinstance(doc, dict):
            raise UnusableInput(
                Loc(str(users_file), 1),
                "users.yaml must map namespace → list of users",
                "write e.g. dev: [{name: app, policies: [reader]}]",
            )
        for old_ns, entries in doc.items():
            for entry in entries or []:
                if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                    raise UnusableInput(
                        Loc(str(users_file), 0),
                        f"namespace {old_ns!r}: a user needs a name",
                        "write - name: <user>",
                    )
                user = users.setdefault(
                    entry["name"], {"name": vault_name(entry["name"]), "policies": [], "namespaces": []}
                )
                ns = k8s_namespace(str(old_ns)) if old_ns else None
                if ns and ns not in user["namespaces"]:
                    user["namespaces"].append(ns)
                for old_policy in entry.get("policies") or []:
                    new = scoped.get((str(old_ns), str(old_policy))) or scoped.get(("", str(old_policy)))
                    if new is None:
                        notes.append(
                            f"user {entry['name']}: policy {old_policy!r} not found under policies/; "
                            "kept by name"
                        )
                        new = vault_name(str(old_policy))
                    if new not in user["policies"]:
                        user["policies"].append(new)

    doc_out: dict[str, Any] = {}
    kv: dict[str, dict[str, Any]] = {}
    pki_roles: list[dict[str, Any]] = []
    cas: dict[str, dict[str, Any]] = {}
    aws_roles: list[dict[str, Any]] = []
    aws_mount: str | None = None
    for path in sorted(source.rglob("*")):
        if (
            path.suffix not in SUFFIXES
            or not path.is_file()
            or policy_dir in path.parents
            or path == users_file
        ):
            continue
        raw = _load(path, source)
        if not isinstance(raw, dict) or "write_path" not in raw:
            continue
        write_path = str(raw["write_path"]).strip("/")
        values = _values(raw.get("values"))
        role = ROLE_PATH.match(write_path)
        if role and (PKI_KEYS & set(values) or "ca_backend" in path.parts or "pki" in role["mount"]):
            mount = role["mount"]
            cas.setdefault(
                mount,
                {"name": vault_name(mount), "mount": mount, "type": "root", "common_name": f"{mount} CA"},
            )
            role_entry: dict[str, Any] = {"name": vault_name(role["name"]), "ca": vault_name(mount)}
            domains = values.get("allowed_domains") or values.get("allowed_base_domain")
            role_entry["allowed_domains"] = (
                domains if isinstance(domains, list) else str(domains or "").split(",")
            )
            for key in ("allow_subdomains", "allow_bare_domains", "ttl", "max_ttl", "key_type", "key_bits"):
                if key in values:
                    role_entry[key] = values[key]
            pki_roles.append(role_entry)
            notes.append(
                f"{path}: PKI role on mount {mount!r}; its CA was not managed by vaultconf — review "
                f"pki.cas[{vault_name(mount)}] (or import the CA)"
            )
        elif role and (AWS_KEYS & set(values) or "aws_backend" in path.parts):
            aws_mount = aws_mount or role["mount"]
            role_entry = {"name": vault_name(role["name"]), "credential_type": "iam_user"}
            policy = values.get("policy_document", values.get("policy"))
            if policy is not None:
                role_entry["policy_document"] = policy
            if values.get("arn"):
                role_entry["policy_arns"] = [values["arn"]]
            if values.get("policy_arns"):
                role_entry["policy_arns"] = list(values["policy_arns"])
            aws_roles.append(role_entry)
        elif re.match(r"^[^/]+/config/root$", write_path) and (
            "access_key" in values or "aws_backend" in path.parts
        ):
            aws_mount = write_path.split("/", 1)[0]
            commands += ["pulumi config set --secret awsAccessKey", "pulumi config set --secret awsSecretKey"]
            notes.append(f"{path}: AWS root credentials are Pulumi secrets now (values not copied)")
        else:
            mount, _, rest = write_path.partition("/")
            if not rest:
                notes.append(f"{path}: write_path {write_path!r} has no secret path; skipped")
                continue
            store = kv.setdefault(mount, {"name": mount, "secrets": []})
            keys = sorted(str(k) for k in values)
            store["secrets"].append({"name": rest, "keys": keys})
            commands.extend(f"pulumi config set --secret {seed_config_key(mount, rest, k)}" for k in keys)
            if mount == "secret":
                notes.append(
                    f"{path}: 'secret/' was KV v1 in 2015; it becomes a KV v2 store — readers use "
                    f"secret/data/{rest}"
                )

    if policies:
        doc_out["policies"] = list(policies.values())
    if users:
        doc_out["users"] = list(users.values())
    if cas or pki_roles:
        doc_out["pki"] = {"cas": list(cas.values()), "roles": pki_roles}
    if aws_mount or aws_roles:
        doc_out["aws"] = {"engine": {"mount": aws_mount or "aws"}, "roles": aws_roles}
        if "pulumi config set --secret awsAccessKey" not in commands:
            commands += ["pulumi config set --secret awsAccessKey", "pulumi config set --secret awsSecretKey"]
    if kv:
        doc_out["kv"] = list(kv.values())
    if not doc_out:
        raise UnusableInput(
            Loc(str(source), 0),
            "found no policies/, users.yaml or write_path files",
            "pass the root of an old vaultconf configuration",
        )
    return ConvertResult(doc_out, notes, list(dict.fromkeys(commands)))
