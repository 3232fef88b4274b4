"""Logging in to Vault. Credentials are read from disk at every login, so a rotated password (a
Kubernetes Secret updated through its symlink swap) is picked up by the next login, and the scheduler asks
`credentials_changed()` on every wake-up so that login happens as soon as the file changes."""

from __future__ import annotations

import os
import time

from .config import K8S_TOKEN, Config
from .errors import SidekickConfigError, VaultRequestError
from .log import log
from .structured import parse, read_bounded

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true

if TYPE_CHECKING:
    from typing import Any

    from .vault import VaultHttp


class CredentialsError(VaultRequestError):
    """The credentials themselves are missing or unreadable as credentials (no password, no token, no
    role): no request was made, and retrying cannot help until someone fixes the file, so a one-shot fails
    at once (tokens.py: `retryable` decides) instead of backing off as if Vault were unreachable."""

    @property
    def retryable(self) -> bool:
        return False


class Token:
    __slots__ = ("obtained", "renewable", "ttl")

    def __init__(self, ttl: float, renewable: bool, obtained: float) -> None:
        self.ttl = ttl              # seconds; 0 = never expires (root-like tokens)
        self.renewable = renewable
        self.obtained = obtained

    @property
    def expires(self) -> float:
        return self.obtained + self.ttl if self.ttl else float("inf")


# A token, a service-account JWT or a small JSON/YAML login: far below this. A larger file is not ours.
CREDENTIALS_LIMIT = 64 * 1024


def _read_text(path: str, what: str) -> str:
    """A credentials file's text, read through the one bounded reader. A file not (yet) readable is retried
    (kubelet may still be placing it); one too large or not UTF-8 is permanent: retrying cannot help."""
    if not os.access(path, os.R_OK):
        raise VaultRequestError(f"cannot read the {what} {path}", 0, path)
    try:
        return read_bounded(path, what, CREDENTIALS_LIMIT).strip()
    except SidekickConfigError as exc:
        raise CredentialsError(str(exc), 0, path) from None


def _identity(path: str) -> tuple[int, int, int, int] | None:
    """Which file a path holds now, without reading it: kubelet swaps a Secret's files by symlink, so a
    rotation gives a new inode; an in-place rewrite changes size or mtime."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _ci(data: dict[str, Any], *keys: str) -> str:
    lowered = {str(k).lower(): v for k, v in data.items()}
    for key in keys:
        value = lowered.get(key.lower())
        if value not in (None, ""):
            return str(value)
    return ""


class Authenticator:
    def __init__(self, cfg: Config, client: VaultHttp, clock: Any = time.time) -> None:
        self.cfg = cfg
        self.client = client
        self.clock = clock
        self._seen: tuple[int, int, int, int] | None = None  # the credentials file as last read or noticed

    def credentials_changed(self) -> bool:
        """True once per change of the credentials file since the last login read it."""
        if not self.cfg.auth_file or self._seen is None:
            return False
        now = _identity(self.cfg.auth_file)
        if now is None or now == self._seen:
            return False
        self._seen = now
        return True

    def _auth_file(self) -> dict[str, Any]:
        if not self.cfg.auth_file:
            return {}
        self._seen = _identity(self.cfg.auth_file)
        text = _read_text(self.cfg.auth_file, "credentials file")
        try:
            data = parse(text, self.cfg.auth_file, "credentials file")[0]
        except SidekickConfigError as exc:
            raise CredentialsError(str(exc), 0, self.cfg.auth_file) from None
        if isinstance(data, str):  # a bare token file
            return {"token": data}
        if not isinstance(data, dict):
            raise CredentialsError(f"the credentials file {self.cfg.auth_file} is not a mapping", 0)
        if self.cfg.auth_format == "kubernetes-vault" and _ci(data, "clientToken"):
            data = {"method": "token", "token": _ci(data, "clientToken")}
        return data

    def _missing(self, what: str, method: str) -> str:
        """One line naming the credentials file and what it lacks (names of fields only, never values)."""
        where = (f"the credentials file {self.cfg.auth_file}" if self.cfg.auth_file else
                 "the environment (no credentials file given)")
        if method == "userpass":
            how = 'write {"method": "userpass", "username": ..., "password": ...}'
        else:
            how = ('give it a token, or a "method" (e.g. userpass with username and password): without one '
                   "the token method is used")
        return f"{where} has {what} for {method} login: {how}"

    def _login_path(self, default_suffix: str = "login") -> str:
        if self.cfg.login_path:
            path = self.cfg.login_path.strip("/")
            return path[3:] if path.startswith("v1/") else path
        return f"auth/{self.cfg.mount}/{default_suffix}"

    def login(self) -> Token:
        """Obtain a fresh token (sets it on the client). Raises VaultRequestError on failure."""
        method = self.cfg.auth_method
        creds = self._auth_file()
        now = self.clock()
        if method == "token":
            token = _ci(creds, "token")
            if not token and self.cfg.token_file:
                token = _read_text(self.cfg.token_file, "token file")
            token = token or os.environ.get("VAULT_TOKEN", "")
            if not token:
                raise CredentialsError(self._missing("no token", "token") if self.cfg.auth_file else
                                       "no Vault token: give -auth FILE with a token, auth.file, or "
                                       "VAULT_TOKEN", 0)
            log.redact("token", token)
            self.client.token = token
            info = self.client.read("auth/token/lookup-self")
            data = info.data if info else {}
            return Token(float(data.get("ttl") or 0), bool(data.get("renewable")), now)
        if method == "userpass":
            username = _ci(creds, "username") or os.environ.get("VAULT_SIDEKICK_USERNAME", "")
            password = _ci(creds, "password") or os.environ.get("VAULT_SIDEKICK_PASSWORD", "")
            if not username or not password:
                pairs = (("username", username), ("password", password))
                missing = " and no ".join(name for name, value in pairs if not value)
                raise CredentialsError(self._missing(f"no {missing}", "userpass"), 0)
            log.redact("password", password)
            path = f"{self._login_path()}/{username}"
            body: dict[str, Any] = {"password": password}
        elif method == "kubernetes":
            jwt = _read_text(self.cfg.token_file or K8S_TOKEN, "service account token")
            role = self.cfg.role or _ci(creds, "role") or os.environ.get("VAULT_SIDEKICK_ROLE", "")
            if not role:
                raise CredentialsError("kubernetes auth needs a role (auth.role or VAULT_SIDEKICK_ROLE)", 0)
            log.redact("jwt", jwt)
            path, body = self._login_path(), {"role": role, "jwt": jwt}
        elif method == "approle":
            cfg = self.cfg
            role_id = (_read_text(cfg.role_id_file, "role_id file") if cfg.role_id_file else
                       _ci(creds, "role_id", "roleid") or os.environ.get("VAULT_SIDEKICK_ROLE_ID", ""))
            env_secret_id = os.environ.get("VAULT_SIDEKICK_SECRET_ID", "")
            secret_id = (_read_text(cfg.secret_id_file, "secret_id file") if cfg.secret_id_file else
                         _ci(creds, "secret_id", "secretid") or env_secret_id)
            if not role_id:
                raise CredentialsError("approle auth needs a role_id (auth.role_id_file or the auth "
                                       "file)", 0)
            log.redact("approle", secret_id)
            path = self._login_path()
            body = {"role_id": role_id}
            if secret_id:
                body["secret_id"] = secret_id
        else:  # validated earlier; defensive
            raise CredentialsError(f"unsupported auth method {method}", 0)
        # the old token stays on the client until a new one arrives: it may still be valid
        resp = self.client.call("POST", path, body, auth=False)
        auth = resp.auth if resp else {}
        token = str(auth.get("client_token") or "")
        if not token:
            raise VaultRequestError(f"POST {path}: Vault returned no client token", 0, path)
        log.redact("token", token)
        self.client.token = token
        return Token(float(auth.get("lease_duration") or 0), bool(auth.get("renewable")), now)

    def renew(self) -> Token:
        """Renew our own token; Vault caps the new TTL at the token's max TTL."""
        now = self.clock()
        resp = self.client.call("POST", "auth/token/renew-self", {})
        auth = resp.auth if resp else {}
        return Token(float(auth.get("lease_duration") or 0), bool(auth.get("renewable")), now)

    def revoke_self(self) -> None:
        """Revoke our own token (and, by Vault's rules, every lease and child token created with it)."""
        self.client.call("POST", "auth/token/revoke-self", {})
        self.client.token = ""
