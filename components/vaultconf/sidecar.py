"""The sidekick beside an app: its config (the contract in docs/architecture.md), containers and volumes.

`sidekick_container(...)` is pure — no resources — so users can add the sidekick to pods they build
themselves; `Workload` uses it for its own Deployments and Jobs.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import jsonschema
import pulumi
from sidekick import contract

from vaultconf.acl import PolicyRules, allows
from vaultconf.auth import SidekickAuth
from vaultconf.errors import ConfigError
from vaultconf.policy_analysis.certificates import certificate_problems
from vaultconf.ttl import parse_ttl

PORT = 9191
SIDEKICK_UID = 65532
CONFIG_DIR = "/etc/vault-sidekick-config"
LOGIN_DIR = "/etc/vault-sidekick"
TOKEN_DIR = "/var/run/secrets/vault"
APPROLE_DIR = "/etc/approle"
CA_DIR = "/etc/vault-ca"
SECRETS_VOLUME = "vault-secrets"
CONFIG_FILE = "sidekick.json"
ONE_SHOT_FILE = "sidekick-once.json"

# The sidekick's config file is defined once, by the sidekick package (sidekick/config.schema.json): what
# this module emits is checked against it, and the types, formats and capabilities come from it.
CONTRACT = contract.schema()
RESOURCE = CONTRACT["$defs"]["resource"]
TIMING = CONTRACT["properties"]["timing"]
TIMING_DURATIONS = tuple(k for k, v in TIMING["properties"].items() if v.get("$ref") == "#/$defs/duration")
DEFAULT_SIDEKICK_RESOURCES = {
    "requests": {"cpu": "10m", "memory": "32Mi"},
    "limits": {"cpu": "200m", "memory": "64Mi"},
}


class OnChange(TypedDict, total=False):
    """What the sidekick does after rewriting a file."""

    exec: Sequence[str]
    env: Mapping[str, str]
    """exec: variables added to the hook's scrubbed environment."""
    signal: Mapping[str, str]
    http: Mapping[str, str]
    timeout: int | str
    """Exec hook time limit (default 60s)."""
    debounce: int | str
    """A burst of changes within this time runs the hooks once (default 1s)."""


class SidekickSecret(TypedDict, total=False):
    """One secret the sidekick delivers (a `resources` entry of the sidekick config)."""

    name: str
    """Unique name (metrics, logs, default file name). Required."""
    type: Literal["kv", "pki", "aws", "secret", "write", "raw"]
    """Required: one of the sidekick's types (sidekick.contract.TYPES)."""
    path: str
    """Vault API path, e.g. "kv/data/team-a/db", PkiRole.issue_path, AwsRole.creds_path. Required."""
    kv_version: int
    version: int
    params: Mapping[str, Any]
    file: str
    """Relative to the output directory (default: the name)."""
    format: str
    template: str
    mode: str
    """Octal file mode (default "0640": the pod's fsGroup lets the app read it)."""
    update: int | str
    """Re-read interval: seconds, or a duration such as "5m" (emitted as seconds)."""
    renew: bool
    revoke: bool
    jitter: float
    on_change: OnChange


@dataclass
class SidekickParts:
    """What to add to a pod spec (plain dicts in Kubernetes API field names)."""

    init_containers: list[dict[str, Any]]
    containers: list[dict[str, Any]]
    volumes: list[dict[str, Any]]
    app_volume_mount: dict[str, Any]
    """Mount this in the app containers: the delivered secrets, read-only."""
    config: dict[str, Any]
    """The long-running sidekick config (the contract)."""
    one_shot_config: dict[str, Any]
    config_files: dict[str, str] = field(default_factory=dict)
    """File name → JSON text: the data of the ConfigMap named `config_map`."""


def hardened(run_as_user: int | None = None) -> dict[str, Any]:
    """A container securityContext that passes the restricted Pod Security Standard."""
    ctx: dict[str, Any] = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if run_as_user is not None:
        ctx["runAsUser"] = run_as_user
        ctx["runAsGroup"] = run_as_user
    return ctx


def _contract_error(error: jsonschema.ValidationError, who: str, where: str) -> ConfigError:
    """A refusal by the sidekick's schema, as the component library's one-line error."""
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    message = error.message
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    known = sorted(schema.get("properties") or {})
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        extra = sorted(str(k) for k in set(error.instance) - set(known))
        return ConfigError(who, f"{where}{path}.{extra[0]}", "unknown field", f"use {', '.join(known)}")
    if error.validator == "required" and isinstance(error.instance, Mapping):
        missing = [k for k in schema.get("required", ()) if k not in error.instance]
        return ConfigError(who, f"{where}{path}.{missing[0]}", "missing", f"set {', '.join(missing)}")
    hint = None
    while error is not None and not hint:  # the nearest description: an anyOf branch has none of its own
        part = error.schema if isinstance(error.schema, Mapping) else {}
        hint = part.get("description") or part.get("title")
        error = error.parent
    return ConfigError(who, f"{where}{path}", message, str(hint or "see the sidekick config contract"))


_VALIDATORS: dict[int, jsonschema.Draft202012Validator] = {}


def _check(instance: Any, schema: Mapping[str, Any], who: str, where: str) -> None:
    """The first place `instance` breaks `schema` (a part of the sidekick's schema), as a ConfigError."""
    validator = _VALIDATORS.get(id(schema))
    if validator is None:  # a part of the schema, with the definitions its $refs name
        validator = jsonschema.Draft202012Validator({**schema, "$defs": CONTRACT["$defs"]})
        _VALIDATORS[id(schema)] = validator
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        raise _contract_error(error, who, where)


def _resource_entry(secret: Any, index: int, who: str) -> dict[str, Any]:
    """One `resources` entry of the sidekick config: the sidekick's schema decides what is valid; here the
    durations become seconds (typed once, never re-parsed from "<n>s") and what only a pod needs is added:
    files inside the volume, a mode the app can read."""
    where = f"secrets[{index}]"
    if not isinstance(secret, Mapping):
        raise ConfigError(
            who,
            where,
            f"expected a mapping, got {secret!r}",
            'write e.g. {"name": "db", "type": "kv", "path": "kv/data/app/db"}',
        )
    unknown = sorted(set(secret) - set(SidekickSecret.__annotations__))
    if unknown:
        raise ConfigError(
            who, f"{where}.{unknown[0]}", "unknown field", f"use {', '.join(SidekickSecret.__annotations__)}"
        )
    entry = {k: v for k, v in secret.items() if v is not None}
    cmd = (entry.get("on_change") or {}).get("exec") if isinstance(entry.get("on_change"), Mapping) else None
    if isinstance(cmd, str):  # the sidekick would split it on spaces: here an argv is asked for
        raise ConfigError(
            who,
            f"{where}.on_change.exec",
            "must be a non-empty argv list (no shell)",
            'write e.g. ["/bin/app", "reload"]',
        )
    if "update" in entry:
        entry["update"] = parse_ttl(entry["update"], who, f"{where}.update")
    hooks = entry.get("on_change")
    if isinstance(hooks, Mapping):
        entry["on_change"] = json.loads(json.dumps(hooks))
        for key in ("timeout", "debounce"):
            if key in hooks:
                entry["on_change"][key] = parse_ttl(hooks[key], who, f"{where}.on_change.{key}")
    if "path" in entry and isinstance(entry["path"], str):
        entry["path"] = entry["path"].strip("/")
    mode = str(entry.get("mode", "0640"))
    entry["mode"] = mode if len(mode) != 3 else f"0{mode}"
    _check(entry, RESOURCE, who, where)
    if not re.fullmatch(r"0[0-7]{3}", entry["mode"]):
        raise ConfigError(who, f"{where}.mode", f"{mode!r} is not an octal file mode", 'use e.g. "0640"')
    file = entry.get("file", entry["name"])
    if posixpath.isabs(file) or ".." in file.split("/"):
        raise ConfigError(
            who, f"{where}.file", f"{file!r} leaves the output directory", "use a relative path without '..'"
        )
    if entry.get("format") == "template" and not entry.get("template"):
        raise ConfigError(who, f"{where}.template", "format template needs a template", "add template")
    return entry


def _timing(timing: Mapping[str, Any] | None, who: str) -> dict[str, Any]:
    """The config's `timing` block (docs/architecture.md): durations as seconds, the rest as the sidekick's
    schema says."""
    if not timing:
        return {}
    out = {k: parse_ttl(v, who, f"timing.{k}") if k in TIMING_DURATIONS else v for k, v in timing.items()}
    _check(out, TIMING, who, "timing")
    return out


def check_access(
    policies: Sequence[PolicyRules], entries: Sequence[Mapping[str, Any]], who: str, identity: str
) -> None:
    """One clear error for the first secret the identity's policies do not grant."""
    for i, entry in enumerate(entries):
        needs = contract.capabilities(entry["type"])
        if not any(allows(policies, entry["path"], cap) for cap in needs):
            raise ConfigError(
                who,
                f"secrets[{i}].path",
                f"{identity} cannot {' or '.join(needs)} {entry['path']!r} (secret {entry['name']!r})",
                f"grant {needs[0]!r} on that path in one of the identity's policies, or drop the secret",
            )
        if entry["type"] == "pki":
            # validate and the CrossGuard pack refuse this; here a warning, so programs written before the
            # check keep building (docs/policy-analysis.md, least privilege for certificates)
            for problem, fix in certificate_problems(policies, entry["path"], entry.get("params") or {}):
                pulumi.log.warn(f"{who}: secrets[{i}] ({entry['name']!r}): {problem} (fix: {fix})")


def _secret_volume(
    name: str, secret: str | None, keys: list[str], directory: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A Secret's keys as read-only files in `directory` (no subPath: rotated values reach the pod)."""
    items = [{"key": k, "path": k} for k in keys]
    volume = {"name": name, "secret": {"secretName": secret, "defaultMode": 0o440, "items": items}}
    return [volume], [{"name": name, "mountPath": directory, "readOnly": True}]


def _auth_section(auth: SidekickAuth) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The config's auth block, plus the volumes and sidekick mounts that carry the credentials."""
    section: dict[str, Any] = {"method": auth.method, "mount": auth.mount}
    if auth.method in ("userpass", "token"):
        key = "login" if auth.method == "userpass" else "token"
        section["file"] = f"{LOGIN_DIR}/{key}"
        return section, *_secret_volume("vault-login", auth.secret_name, [key], LOGIN_DIR)
    if auth.method == "approle":
        section.update(
            role=auth.role, role_id_file=f"{APPROLE_DIR}/role_id", secret_id_file=f"{APPROLE_DIR}/secret_id"
        )
        return section, *_secret_volume(
            "vault-approle", auth.secret_name, ["role_id", "secret_id"], APPROLE_DIR
        )
    # kubernetes: a projected, audience-bound, short-lived service-account token (not the automounted one)
    section.update(role=auth.role, token_file=f"{TOKEN_DIR}/token")
    token: dict[str, Any] = {"path": "token", "expirationSeconds": 3600}
    if auth.audience:
        token["audience"] = auth.audience
    volume = {
        "name": "vault-token",
        "projected": {"defaultMode": 0o440, "sources": [{"serviceAccountToken": token}]},
    }
    return section, [volume], [{"name": "vault-token", "mountPath": TOKEN_DIR, "readOnly": True}]


def sidekick_container(
    *,
    image: str,
    vault_addr: str,
    auth: SidekickAuth,
    secrets: Sequence[SidekickSecret],
    config_map: str,
    output_dir: str = "/etc/secrets",
    mode: Literal["sidecar", "one-shot"] = "sidecar",
    native_sidecar: bool = True,
    vault_ca_secret: str | None = None,
    resources: Mapping[str, Any] | None = None,
    policies: Sequence[PolicyRules] | None = None,
    component: str = "sidekick_container",
    timing: Mapping[str, Any] | None = None,
) -> SidekickParts:
    """Containers, volumes and config for the sidekick.

    mode "sidecar": a native sidecar (init container with restartPolicy Always, whose startup probe holds
    the app back until the secrets are written); with `native_sidecar=False` (clusters before 1.29) a
    one-shot init container fetches first and a regular container keeps renewing. mode "one-shot": a plain
    init container that fetches once and exits (Jobs). The caller creates a ConfigMap named `config_map`
    holding `config_files`. With `policies` (plain rules), every secret is checked to be readable.
    `timing` becomes the config's `timing` block (renew_fraction, safety_buffer, kv_update, backoff_*).
    """
    who = component
    if not isinstance(vault_addr, str) or not vault_addr.startswith(("http://", "https://")):
        raise ConfigError(
            who,
            "vault_addr",
            f"{vault_addr!r} is not an http(s) URL",
            'use e.g. "https://vault.vault.svc:8200"',
        )
    if not isinstance(auth, SidekickAuth):
        raise ConfigError(
            who,
            "auth",
            f"{auth!r} is not a SidekickAuth",
            "use user.sidekick_auth(), kubernetes_auth.sidekick_auth(role) or app_role.sidekick_auth(role)",
        )
    if not posixpath.isabs(output_dir):
        raise ConfigError(who, "output_dir", f"{output_dir!r} is not absolute", 'use e.g. "/etc/secrets"')
    entries = [_resource_entry(s, i, who) for i, s in enumerate(secrets)]
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        if entry["name"] in seen or entry.get("file", entry["name"]) in seen:
            raise ConfigError(
                who,
                f"secrets[{i}].name",
                f"{entry['name']!r} is used twice",
                "give each secret its own name and file",
            )
        seen.update({entry["name"], entry.get("file", entry["name"])})
    if policies is not None:
        check_access(
            policies, entries, who, f"the {auth.method} identity{f' (role {auth.role})' if auth.role else ''}"
        )
    section, volumes, login_mounts = _auth_section(auth)
    vault: dict[str, Any] = {"addr": vault_addr}
    mounts = [
        {"name": SECRETS_VOLUME, "mountPath": output_dir},
        {"name": "vault-sidekick-config", "mountPath": CONFIG_DIR, "readOnly": True},
        *login_mounts,
    ]
    if vault_ca_secret:
        vault["ca_cert"] = f"{CA_DIR}/ca.crt"
        volumes.append(
            {
                "name": "vault-ca",
                "secret": {
                    "secretName": vault_ca_secret,
                    "defaultMode": 0o444,
                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                },
            }
        )
        mounts.append({"name": "vault-ca", "mountPath": CA_DIR, "readOnly": True})
    base = {"vault": vault, "auth": section, "output_dir": output_dir, "resources": entries}
    if timing:
        base["timing"] = _timing(timing, who)
    config = {**base, "one_shot": False, "renew_token": True, "listen": f"0.0.0.0:{PORT}"}
    one_shot = {**base, "one_shot": True, "renew_token": False, "listen": ""}
    volumes[:0] = [
        {"name": SECRETS_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
        {"name": "vault-sidekick-config", "configMap": {"name": config_map, "defaultMode": 0o444}},
    ]

    def container(name: str, config_file: str, long_running: bool) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "name": name,
            "image": image,
            "args": ["--config", f"{CONFIG_DIR}/{config_file}"],
            "volumeMounts": mounts,
            "securityContext": hardened(SIDEKICK_UID),
            "resources": dict(resources or DEFAULT_SIDEKICK_RESOURCES),
        }
        if long_running:
            probe = {"httpGet": {"path": "/readyz", "port": PORT}, "periodSeconds": 2, "timeoutSeconds": 2}
            spec["ports"] = [{"name": "sidekick", "containerPort": PORT, "protocol": "TCP"}]
            spec["startupProbe"] = {**probe, "failureThreshold": 90}
            spec["readinessProbe"] = {**probe, "periodSeconds": 10}
            spec["livenessProbe"] = {
                "httpGet": {"path": "/healthz", "port": PORT},
                "periodSeconds": 20,
                "timeoutSeconds": 2,
                "failureThreshold": 3,
            }
        return spec

    init: list[dict[str, Any]] = []
    containers: list[dict[str, Any]] = []
    if mode == "one-shot":
        init.append(container("vault-sidekick-init", ONE_SHOT_FILE, False))
    elif native_sidecar:
        init.append({**container("vault-sidekick", CONFIG_FILE, True), "restartPolicy": "Always"})
    else:
        init.append(container("vault-sidekick-init", ONE_SHOT_FILE, False))
        containers.append(container("vault-sidekick", CONFIG_FILE, True))
    for text in (config, one_shot):  # what we emit is what the sidekick accepts (else a bug here)
        _check(text, CONTRACT, who, "sidekick config")
    files = {CONFIG_FILE: render_config(config), ONE_SHOT_FILE: render_config(one_shot)}
    return SidekickParts(
        init,
        containers,
        volumes,
        {"name": SECRETS_VOLUME, "mountPath": output_dir, "readOnly": True},
        config,
        one_shot,
        files,
    )


def render_config(config: Mapping[str, Any]) -> str:
    """The config file text: JSON (valid YAML too), keys sorted so it only changes when the content does."""
    return json.dumps(config, indent=2, sort_keys=True) + "\n"
