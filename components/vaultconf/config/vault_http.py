"""A small Vault HTTP client (urllib) for `unmanaged` and `import`. The token comes from $VAULT_TOKEN and
never appears in an exception or log line."""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .findings import Loc, UnusableInput

# The largest answer read from Vault: a LIST of every policy of a large organisation is well under 1 MiB.
MAX_RESPONSE = 16 * 2**20


class VaultApiError(UnusableInput):
    """Vault refused a request or could not be reached (exit 2, like other unusable input)."""

    def __init__(self, addr: str, message: str, fix: str = "") -> None:
        super().__init__(Loc(addr, 0), message, fix)


class VaultClient:
    def __init__(
        self,
        addr: str,
        token: str,
        *,
        ca_cert: str | None = None,
        skip_verify: bool = False,
        timeout: float = 15.0,
    ) -> None:
        parsed = urllib.parse.urlparse(addr)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise VaultApiError(addr, "not an http(s) URL", "pass --vault-addr https://vault.example:8200")
        self.addr = addr.rstrip("/")
        self._token = token
        self.timeout = timeout
        self._context: ssl.SSLContext | None = None
        if parsed.scheme == "https":
            self._context = ssl.create_default_context(cafile=ca_cert)
            if skip_verify:
                self._context.check_hostname = False
                self._context.verify_mode = ssl.CERT_NONE

    @classmethod
    def from_env(cls, addr: str, *, ca_cert: str | None = None, skip_verify: bool = False) -> VaultClient:
        token = os.environ.get("VAULT_TOKEN", "").strip()
        if not token:
            raise VaultApiError(
                addr, "VAULT_TOKEN is not set", "export VAULT_TOKEN (it is never read from argv)"
            )
        return cls(addr, token, ca_cert=ca_cert, skip_verify=skip_verify)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """The JSON response (None for 404 or an empty body)."""
        url = f"{self.addr}/v1/{path.lstrip('/')}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("X-Vault-Token", self._token)
        req.add_header("X-Vault-Request", "true")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self._context) as resp:
                raw = resp.read(MAX_RESPONSE + 1)  # a hostile or broken server cannot fill memory
            if len(raw) > MAX_RESPONSE:
                raise VaultApiError(
                    self.addr, f"{method} {path}: the answer is larger than {MAX_RESPONSE // 2**20} MiB",
                    "check that --vault-addr/VAULT_ADDR is a Vault server (no proxy page or other service)",
                )
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            detail = _errors(exc)
            fix = ("give VAULT_TOKEN a token whose policies grant read and list on this path (vault token "
                   "capabilities PATH shows what it has)") if exc.code == 403 else ""
            raise VaultApiError(
                self.addr, f"{method} {path}: HTTP {exc.code} {detail}".strip(), fix
            ) from None
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise VaultApiError(
                self.addr, f"cannot reach Vault: {reason}",
                "set the address Vault listens on with --vault-addr or VAULT_ADDR (https://HOST:8200), and "
                "--ca-cert/VAULT_CACERT if its certificate is private"
            ) from None
        if not raw:
            return None
        try:
            loaded: dict[str, Any] = json.loads(raw)
        except json.JSONDecodeError:
            raise VaultApiError(
                self.addr, f"{method} {path}: response is not JSON", "is this a Vault server?"
            ) from None
        return loaded

    def read(self, path: str) -> dict[str, Any] | None:
        resp = self.request("GET", path)
        return None if resp is None else resp.get("data", resp)

    def list(self, path: str) -> list[str]:
        resp = self.request("LIST", path)
        keys = ((resp or {}).get("data") or {}).get("keys") or []
        return [str(k) for k in keys]

    def delete(self, path: str) -> None:
        self.request("DELETE", path)


def _errors(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read() or b"{}")
    except (json.JSONDecodeError, OSError):
        return ""
    errors = body.get("errors") if isinstance(body, dict) else None
    return "; ".join(str(e) for e in errors)[:200] if errors else ""
