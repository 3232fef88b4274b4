"""Turning a Resource into data from Vault: KV v1/v2, PKI issue, AWS, generic reads and writes."""

from __future__ import annotations

import time

from .contract import LEASE_RENEW_PATH, LEASE_REVOKE_PATH, http_method
from .errors import VaultRequestError
from .schedule import random_text
from .x509 import pem_validity

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true

if TYPE_CHECKING:
    from typing import Any

    from .config import Resource
    from .vault import VaultHttp


class Fetched:
    """What one fetch produced, with the timing facts the scheduler needs."""

    __slots__ = ("data", "lease_id", "not_after", "not_before", "obtained", "renewable", "ttl")

    def __init__(self, data: dict[str, Any], obtained: float, lease_id: str = "", ttl: float = 0.0,
                 renewable: bool = False) -> None:
        self.data = data
        self.obtained = obtained
        self.lease_id = lease_id
        self.ttl = ttl
        self.renewable = renewable
        self.not_before = 0.0
        self.not_after = 0.0

    @property
    def expires(self) -> float:
        """When the secret stops being valid: the certificate's NotAfter, else the lease end (inf: never)."""
        if self.not_after:
            return self.not_after
        return self.obtained + self.ttl if self.ttl else float("inf")


def _random_value(size: int) -> str:
    # os.urandom (schedule.random_text); `secrets` would import hashlib/OpenSSL (~3.5 MiB), `random` ~0.1 MiB
    return random_text(size, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


class Sources:
    def __init__(self, client: VaultHttp, clock: Any = time.time) -> None:
        self.client = client
        self.clock = clock
        self._mounts: dict[str, tuple[str, int]] = {}  # path → (mount, kv version)

    def fetch(self, res: Resource) -> Fetched:
        kind = res.type
        now = self.clock()
        if kind == "kv":
            return self._kv(res, now)
        if kind == "raw":
            resp = self.client.raw("GET", res.path, query=res.params or None)
            if resp.status >= 400:
                raise VaultRequestError(f"GET {res.path}: HTTP {resp.status}", resp.status, res.path)
            return Fetched({"content": resp.body.decode("utf-8", "replace")}, now)
        if http_method(kind) == "POST":  # the capability table decides (contract.CAPABILITIES)
            secret = self.client.write(res.path, dict(res.params))
        else:  # a read: params go in the query (aws ttl, role_arn; kv version)
            try:
                secret = self.client.read(res.path, query=res.params or None)
            except VaultRequestError as exc:
                if exc.status == 404 and res.create:
                    return self._create(res, now)
                raise
        if secret is None:
            raise VaultRequestError(f"{res.path}: Vault returned no data", 204, res.path)
        data = secret.data
        if kind == "secret" and _is_kv2(data):
            data = data["data"] or {}
        out = Fetched(data, now, secret.lease_id, float(secret.lease_duration), secret.renewable)
        if kind == "pki":
            cert = data.get("certificate")
            if not isinstance(cert, str):
                raise VaultRequestError(f"POST {res.path}: the response has no certificate", 200, res.path)
            try:
                out.not_before, out.not_after = pem_validity(cert)
            except (ValueError, IndexError):
                raise VaultRequestError(f"POST {res.path}: cannot read the certificate's validity", 200,
                                        res.path) from None
        return out

    def _create(self, res: Resource, now: float) -> Fetched:
        """vault-sidekick's create=true: store a random `value` when the secret does not exist yet."""
        body: dict[str, Any] = dict(res.params)
        body["value"] = _random_value(res.size)
        if "/data/" in f"/{res.path}/":
            body = {"data": body}
        self.client.write(res.path, body)
        secret = self.client.read(res.path)
        data = secret.data if secret else {}
        if _is_kv2(data):
            data = data["data"] or {}
        return Fetched(data, now)

    def kv_layout(self, path: str) -> tuple[str, int]:
        """(mount, version) of the KV engine holding `path`, from sys/internal/ui/mounts (cached)."""
        if path in self._mounts:
            return self._mounts[path]
        try:
            info = self.client.read(f"sys/internal/ui/mounts/{path}")
        except VaultRequestError as exc:
            if exc.retryable:
                raise
            info = None
        if info is None or not info.data.get("path"):
            # No permission to look: infer from the path (kv v2 API paths carry /data/).
            first, _, rest = path.partition("/")
            layout = (first + "/", 2 if rest.startswith("data/") else 1)
        else:
            options = info.data.get("options") or {}
            layout = (str(info.data["path"]), int(options.get("version") or 1))
        self._mounts[path] = layout
        return layout

    def _kv(self, res: Resource, now: float) -> Fetched:
        path = res.path
        version = res.kv_version
        mount = ""
        if version == 0:
            mount, version = self.kv_layout(path)
        query = dict(res.params) or None
        if version == 2:
            mount = mount or path.split("/", 1)[0] + "/"  # explicit kv_version: mount = first segment
            rest = path[len(mount):] if path.startswith(mount) else path.split("/", 1)[-1]
            if not rest.startswith("data/"):
                path = f"{mount.rstrip('/')}/data/{rest}"
            secret = self.client.read(path, query=query)
            data = (secret.data.get("data") if secret else None) or {}
            return Fetched(dict(data), now)
        secret = self.client.read(path, query=query)
        if secret is None:
            raise VaultRequestError(f"GET {path}: Vault returned no data", 204, path)
        return Fetched(secret.data, now, secret.lease_id, float(secret.lease_duration), secret.renewable)

    def renew(self, lease_id: str) -> tuple[float, bool]:
        """Renew a lease; returns (new ttl, renewable). Vault caps the ttl at the lease's max TTL."""
        secret = self.client.call("PUT", LEASE_RENEW_PATH, {"lease_id": lease_id})
        if secret is None:
            raise VaultRequestError(f"PUT {LEASE_RENEW_PATH}: empty response", 204)
        return float(secret.lease_duration), secret.renewable

    def revoke(self, lease_id: str) -> None:
        # The lease id in the URL (`(leases/)?revoke(/(?P<url_lease_id>.+))?`, vault/logical_system_paths.go)
        # lets a policy grant revoking only this resource's leases (sys/leases/revoke/<path>/*, what
        # `vaultconf validate` advises). A policy with only the unscoped sys/leases/revoke grant refuses that
        # form: then the lease id goes in the body, as before.
        if lease_id and ".." not in lease_id.split("/"):
            try:
                self.client.call("PUT", f"{LEASE_REVOKE_PATH}/{lease_id}")
                return
            except VaultRequestError as exc:
                if exc.status not in (400, 403, 404, 405):
                    raise
        self.client.call("PUT", LEASE_REVOKE_PATH, {"lease_id": lease_id})


def _is_kv2(data: dict[str, Any]) -> bool:
    return isinstance(data.get("data"), dict) and isinstance(data.get("metadata"), dict) and len(data) <= 2
