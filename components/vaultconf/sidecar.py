"""The sidekick beside an app: its config (the contract in docs/architecture.md), containers and volumes.

`sidekick_container(...)` is pure — no resources — so users can add the sidekick to pods they build
themselves; `Workload` uses it for its own Deployments and Jobs.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
from sidekick import contract

from vaultconf import names
from vaultconf._base import http_url
from vaultconf.acl import PolicyRules, allows
from vaultconf.auth import SidekickAuth
from vaultconf.errors import ConfigError
from vaultconf.policy_analysis.certificates import certificate_problems
from vaultconf.sidekick_config import (
    CONTRACT,
    SidekickSecret,
    check,
    check_files,
    render_config,
    resource_entry,
    timing_block,
)
from vaultconf.sidekick_config import OnChange as OnChange  # re-exported (vaultconf.stackbuild)

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

DEFAULT_SIDEKICK_RESOURCES = {
    "requests": {"cpu": "10m", "memory": "32Mi"},
    "limits": {"cpu": "200m", "memory": "64Mi"},
}


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
        return section, *_secret_volume(names.LOGIN_VOLUME, auth.secret_name, [key], LOGIN_DIR)
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
    http_url(vault_addr, who, "vault_addr", "https://vault.vault.svc:8200")
    if not isinstance(auth, SidekickAuth):
        raise ConfigError(
            who,
            "auth",
            f"{auth!r} is not a SidekickAuth",
            "use user.sidekick_auth(), kubernetes_auth.sidekick_auth(role) or app_role.sidekick_auth(role)",
        )
    if not posixpath.isabs(output_dir):
        raise ConfigError(who, "output_dir", f"{output_dir!r} is not absolute", 'use e.g. "/etc/secrets"')
    entries = [resource_entry(s, i, who) for i, s in enumerate(secrets)]
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
        base["timing"] = timing_block(timing, who)
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
        check(text, CONTRACT, who, "sidekick config")
    check_files(config, who)
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
