"""Exceptions shared by the sidekick's modules (kept tiny: imported everywhere)."""

from __future__ import annotations


class ConfigError(Exception):
    """Bad configuration: reported as one line, exit code 2."""


class VaultError(Exception):
    """A Vault request failed. `status` is the HTTP status (0 for a transport error)."""

    def __init__(self, message: str, status: int = 0, path: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.path = path

    @property
    def permission_denied(self) -> bool:
        return self.status == 403

    @property
    def retryable(self) -> bool:
        # Transport errors, 5xx, 429 (rate limit) and 412 (eventual consistency) are worth retrying.
        return self.status == 0 or self.status >= 500 or self.status in (412, 429)
