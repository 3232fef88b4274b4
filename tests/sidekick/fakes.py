"""Test doubles for the sidekick: a fake clock and an in-memory Vault speaking the client's interface."""

from __future__ import annotations

import datetime
from typing import Any

from sidekick.errors import VaultRequestError
from sidekick.vault import Response, Secret


class FakeClock:
    """time.time() replacement; sleep() advances it instantly."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(seconds, 0.001)


def make_cert(not_before: float, not_after: float, cn: str = "a.example") -> tuple[str, str]:
    """A self-signed certificate (PEM) and key (PEM) with the given validity (cryptography: tests only)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    utc = datetime.UTC
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(datetime.datetime.fromtimestamp(not_before, utc))
            .not_valid_after(datetime.datetime.fromtimestamp(not_after, utc))
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return pem, key_pem


class FakeVault:
    """Just enough of Vault for the scheduler: userpass login, token renew, KV, leases, PKI."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.token = ""
        self.metrics: Any = None
        self.down = False
        self.calls: list[tuple[str, str]] = []
        self.kv: dict[str, dict[str, Any]] = {}
        self.token_ttl = 3600.0
        self.token_max_ttl = 36000.0
        self.valid_tokens: dict[str, float] = {}      # token → expiry
        self.token_created: dict[str, float] = {}
        self.lease_ttl = 600.0
        self.lease_max_ttl = 1800.0
        self.leases: dict[str, tuple[float, float]] = {}  # lease → (created, expiry)
        self.cert_ttl = 3600.0
        self.serial = 0
        self.password = "s3cret-pass"
        self.renew_refused = False
        self.logins_fail = False
        self.failing: dict[str, int] = {}   # path → HTTP status it answers (0: unreachable)
        self.revoked_tokens: list[str] = []
        self.aws_queries: list[dict[str, Any]] = []

    # the client's interface ----------------------------------------------------------------------
    def close(self) -> None:
        pass

    def read(self, path: str, query: dict[str, Any] | None = None) -> Secret | None:
        return self.call("GET", path, query=query)

    def write(self, path: str, body: dict[str, Any]) -> Secret | None:
        return self.call("POST", path, body)

    def raw(self, method: str, path: str, body: Any = None, query: Any = None, auth: bool = True) -> Response:
        return Response(200, {}, b"raw-content")

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             query: dict[str, Any] | None = None, auth: bool = True) -> Secret | None:
        self.calls.append((method, path))
        now = self.clock()
        if self.down:
            raise VaultRequestError(f"{method} {path}: cannot reach Vault", 0, path)
        if path in self.failing:
            raise VaultRequestError(f"{method} {path}: HTTP {self.failing[path]}", self.failing[path], path)
        if path.startswith("auth/userpass/login/"):
            if self.logins_fail:
                raise VaultRequestError(f"{method} {path}: HTTP 500", 500, path)
            if (body or {}).get("password") != self.password:
                raise VaultRequestError("invalid username or password", 400, path)
            self.serial += 1
            token = f"tok-{self.serial}"
            self.valid_tokens[token] = now + self.token_ttl
            self.token_created[token] = now
            return Secret({"auth": {"client_token": token, "lease_duration": self.token_ttl,
                                    "renewable": True}})
        if self.valid_tokens.get(self.token, 0) <= now:
            raise VaultRequestError(f"{method} {path}: HTTP 403: permission denied", 403, path)
        if path == "auth/token/revoke-self":
            self.valid_tokens.pop(self.token)
            self.revoked_tokens.append(self.token)
            return None
        if path == "auth/token/renew-self":
            cap = self.token_created[self.token] + self.token_max_ttl
            expiry = min(now + self.token_ttl, cap)
            self.valid_tokens[self.token] = expiry
            return Secret({"auth": {"client_token": self.token, "lease_duration": expiry - now,
                                    "renewable": True}})
        if path.startswith("sys/internal/ui/mounts/"):
            return Secret({"data": {"path": "kv/", "type": "kv", "options": {"version": "2"}}})
        if path.startswith("kv/data/"):
            key = path[len("kv/data/"):]
            if key not in self.kv:
                raise VaultRequestError(f"GET {path}: HTTP 404", 404, path)
            return Secret({"data": {"data": dict(self.kv[key]), "metadata": {"version": 1}}})
        if path.startswith("database/creds/"):
            self.serial += 1
            lease = f"database/creds/app/{self.serial}"
            self.leases[lease] = (now, now + self.lease_ttl)
            return Secret({"lease_id": lease, "lease_duration": self.lease_ttl, "renewable": True,
                           "data": {"username": f"user-{self.serial}", "password": f"pw-{self.serial}-xyz"}})
        if path.startswith(("aws/creds/", "aws/sts/")):
            # a policy granting `read` only (contract.CAPABILITIES): a POST here is refused like Vault would
            self.aws_queries.append(dict(query or {}))
            if method != "GET":
                raise VaultRequestError(f"{method} {path}: HTTP 403: permission denied", 403, path)
            self.serial += 1
            lease = f"{path}/{self.serial}"
            self.leases[lease] = (now, now + self.lease_ttl)
            return Secret({"lease_id": lease, "lease_duration": self.lease_ttl, "renewable": True, "data": {
                "access_key": f"AKIA{self.serial:016d}", "secret_key": f"sk-{self.serial}-secret",
                "security_token": f"st-{self.serial}" if path.startswith("aws/sts/") else None}})
        if path == "sys/leases/renew":
            lease = (body or {})["lease_id"]
            created, expiry = self.leases.get(lease, (0, 0))
            if expiry <= now or self.renew_refused:
                raise VaultRequestError("lease not found", 400, path)
            new_expiry = min(now + self.lease_ttl, created + self.lease_max_ttl)
            self.leases[lease] = (created, new_expiry)
            return Secret({"lease_id": lease, "lease_duration": new_expiry - now, "renewable": True})
        if path == "sys/leases/revoke":
            self.leases.pop((body or {})["lease_id"], None)
            return None
        if path.startswith("pki/issue/"):
            cert, key = make_cert(now - 30, now + self.cert_ttl)
            self.serial += 1
            return Secret({"lease_id": "", "lease_duration": 0, "data": {
                "certificate": cert, "private_key": key, "issuing_ca": cert, "ca_chain": [cert],
                "serial_number": str(self.serial)}})
        raise VaultRequestError(f"{method} {path}: HTTP 404", 404, path)
