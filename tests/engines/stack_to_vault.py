"""Write the Vault resources the stack registers (captured under Pulumi mocks) to a real Vault.

Each pulumi-vault resource type maps onto the HTTP API calls its provider makes, with the same parameters
(camelCase inputs → Vault's snake_case fields). Outputs that only exist after a real write (the PKI CSR, the
signed intermediate) are taken from Vault's answers, since the mocks can only invent placeholders. A type
without a mapping is an error: a new resource kind must be added here, not silently skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from vaultconf.testing import MockRun, Recorded

from tests.support.vault import VaultBase

JSON = dict[str, Any]


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def body(inputs: JSON, *, drop: tuple[str, ...] = (), rename: dict[str, str] | None = None) -> JSON:
    """Inputs as Vault fields: snake_case, minus path/identity keys."""
    rename = rename or {}
    return {rename.get(k, snake(k)): v for k, v in inputs.items() if k not in drop and v is not None}


def _ttl_config(inputs: JSON) -> JSON:
    config: JSON = {}
    if inputs.get("maxLeaseTtlSeconds"):
        config["max_lease_ttl"] = f"{inputs['maxLeaseTtlSeconds']}s"
    if inputs.get("defaultLeaseTtlSeconds"):
        config["default_lease_ttl"] = f"{inputs['defaultLeaseTtlSeconds']}s"
    return config


class Applier:
    """Applies recorded resources in dependency order; `written` lists (type, API path) per call."""

    def __init__(self, vault: VaultBase, run: MockRun) -> None:
        self.vault, self.run = vault, run
        self.real: dict[str, JSON] = {}  # URN → Vault's answer data (for CSR / signed certificate)
        self.written: list[tuple[str, str]] = []
        self.handlers: dict[str, Callable[[Recorded], None]] = {
            "vault:index/policy:Policy": self._policy,
            "vault:index/mount:Mount": self._mount,
            "vault:index/authBackend:AuthBackend": self._auth_backend,
            "vault:aws/secretBackend:SecretBackend": self._aws_backend,
            "vault:aws/secretBackendRole:SecretBackendRole": self._aws_role,
            "vault:kv/secretBackendV2:SecretBackendV2": self._kv_config,
            "vault:kv/secretV2:SecretV2": self._kv_secret,
            "vault:kubernetes/authBackendConfig:AuthBackendConfig": self._k8s_config,
            "vault:kubernetes/authBackendRole:AuthBackendRole": self._k8s_role,
            "vault:appRole/authBackendRole:AuthBackendRole": self._approle_role,
            "vault:index/userpassAuthBackendUser:UserpassAuthBackendUser": self._userpass_user,
            "vault:pkiSecret/secretBackendRootCert:SecretBackendRootCert": self._pki_root,
            "vault:pkiSecret/secretBackendIntermediateCertRequest:SecretBackendIntermediateCertRequest":
                self._pki_csr,
            "vault:pkiSecret/secretBackendRootSignIntermediate:SecretBackendRootSignIntermediate":
                self._pki_sign,
            "vault:pkiSecret/secretBackendIntermediateSetSigned:SecretBackendIntermediateSetSigned":
                self._pki_set_signed,
            "vault:pkiSecret/secretBackendConfigUrls:SecretBackendConfigUrls": self._pki_urls,
            "vault:pkiSecret/secretBackendRole:SecretBackendRole": self._pki_role,
        }

    def vault_resources(self) -> list[Recorded]:
        return [r for r in self.run.resources if r.type.startswith("vault:") and r.custom]

    def apply_all(self) -> None:
        done: set[str] = set()
        by_urn = {r.urn: r for r in self.vault_resources()}

        def visit(rec: Recorded) -> None:
            if rec.urn in done:
                return
            done.add(rec.urn)
            for dep in rec.dependencies:
                if dep in by_urn:
                    visit(by_urn[dep])
            self.apply(rec)

        for rec in self.vault_resources():
            visit(rec)

    def apply(self, rec: Recorded) -> None:
        handler = self.handlers.get(rec.type)
        if handler is None:
            raise AssertionError(f"no HTTP API mapping for {rec.type} ({rec.name}): add one to {__name__}")
        handler(rec)

    def call(self, rec: Recorded, method: str, path: str, data: JSON | None = None) -> JSON:
        self.written.append((rec.type, path))
        answer = self.vault.request(method, path, data)
        self.real[rec.urn] = answer.get("data") or {}
        return answer

    def _dep_answer(self, rec: Recorded, typ: str) -> JSON:
        for dep in rec.dependencies:
            other = self.run.by_urn(dep)
            if other.type == typ:
                return self.real[dep]
        raise AssertionError(f"{rec.name}: no dependency of type {typ}")

    # --- sys ------------------------------------------------------------------------------------------

    def _policy(self, rec: Recorded) -> None:
        self.call(rec, "PUT", f"sys/policies/acl/{rec.inputs['name']}", {"policy": rec.inputs["policy"]})
        stored = self.vault.request("GET", f"sys/policies/acl/{rec.inputs['name']}")["data"]["policy"]
        assert stored == rec.inputs["policy"]

    def _mount(self, rec: Recorded) -> None:
        i = rec.inputs
        data = {"type": i["type"], "description": i.get("description", ""), "config": _ttl_config(i),
                "options": i.get("options") or {}}
        self.call(rec, "POST", f"sys/mounts/{i['path']}", data)

    def _auth_backend(self, rec: Recorded) -> None:
        i = rec.inputs
        self.call(rec, "POST", f"sys/auth/{i.get('path') or i['type']}",
                  {"type": i["type"], "description": i.get("description", "")})

    # --- secrets engines ------------------------------------------------------------------------------

    def _aws_backend(self, rec: Recorded) -> None:
        i = rec.inputs
        self.call(rec, "POST", f"sys/mounts/{i['path']}", {"type": "aws", "config": _ttl_config(i)})
        root = body(i, drop=("path", "maxLeaseTtlSeconds", "defaultLeaseTtlSeconds", "description"))
        self.call(rec, "POST", f"{i['path']}/config/root", root)

    def _aws_role(self, rec: Recorded) -> None:
        i = rec.inputs
        self.call(rec, "POST", f"{i['backend']}/roles/{i['name']}", body(i, drop=("backend", "name")))

    def _kv_config(self, rec: Recorded) -> None:
        i = rec.inputs
        self.call(rec, "POST", f"{i['mount']}/config", body(i, drop=("mount",)))

    def _kv_secret(self, rec: Recorded) -> None:
        i = rec.inputs
        data = json.loads(i["dataJson"])
        self.call(rec, "POST", f"{i['mount']}/data/{i['name']}", {"data": data})
        stored = self.vault.request("GET", f"{i['mount']}/data/{i['name']}")["data"]["data"]
        assert stored == data

    def _pki_root(self, rec: Recorded) -> None:
        i = rec.inputs
        self.call(rec, "POST", f"{i['backend']}/root/generate/{i['type']}", body(i, drop=("backend", "type")))

    def _pki_csr(self, rec: Recorded) -> None:
        i = rec.inputs
        self.call(rec, "POST", f"{i['backend']}/intermediate/generate/{i['type']}",
                  body(i, drop=("backend", "type")))

    def _pki_sign(self, rec: Recorded) -> None:
        i = dict(rec.inputs)
        i["csr"] = self._dep_answer(rec, "vault:pkiSecret/secretBackendIntermediateCertRequest:"
                                         "SecretBackendIntermediateCertRequest")["csr"]
        self.call(rec, "POST", f"{i['backend']}/root/sign-intermediate", body(i, drop=("backend",)))

    def _pki_set_signed(self, rec: Recorded) -> None:
        i = dict(rec.inputs)
        signed = self._dep_answer(rec, "vault:pkiSecret/secretBackendRootSignIntermediate:"
                                       "SecretBackendRootSignIntermediate")
        i["certificate"] = signed["certificate"]
        self.call(rec, "POST", f"{i['backend']}/intermediate/set-signed", {"certificate": i["certificate"]})

    def _pki_urls(self, rec: Recorded) -> None:
        i = rec.inputs
        self.call(rec, "POST", f"{i['backend']}/config/urls", body(i, drop=("backend",)))

    def _pki_role(self, rec: Recorded) -> None:
        i = rec.inputs
        self.call(rec, "POST", f"{i['backend']}/roles/{i['name']}", body(i, drop=("backend", "name")))

    # --- auth methods ---------------------------------------------------------------------------------

    def _k8s_config(self, rec: Recorded) -> None:
        i = rec.inputs
        self.call(rec, "POST", f"auth/{i['backend']}/config", body(i, drop=("backend",)))

    def _k8s_role(self, rec: Recorded) -> None:
        i = rec.inputs
        self.call(rec, "POST", f"auth/{i['backend']}/role/{i['roleName']}",
                  body(i, drop=("backend", "roleName")))

    def _approle_role(self, rec: Recorded) -> None:
        i = rec.inputs
        self.call(rec, "POST", f"auth/{i['backend']}/role/{i['roleName']}",
                  body(i, drop=("backend", "roleName", "roleId")))

    def _userpass_user(self, rec: Recorded) -> None:
        i = dict(rec.inputs)
        # Write-only password (pulumi-vault's password_wo): sent as `password`, never read back.
        i["password"] = i.pop("passwordWo", None) or i.pop("password", None)
        i.pop("passwordWoVersion", None)
        self.call(rec, "POST", f"auth/{i['mount']}/users/{i['username']}",
                  body(i, drop=("mount", "username")))
