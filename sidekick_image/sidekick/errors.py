"""The sidekick's one error hierarchy (kept tiny: imported everywhere).

Named apart from the component library's `vaultconf.errors.ConfigError` and the test helpers' `VaultError`,
so that a traceback or an import says which side of the contract it came from.
"""

from __future__ import annotations


class SidekickError(Exception):
    """Anything the sidekick refuses or fails at."""


class SidekickConfigError(SidekickError):
    """Bad configuration: reported as one line, exit code 2."""


class VaultRequestError(SidekickError):
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


class suppress:  # lower case: a drop-in for contextlib.suppress
    """`contextlib.suppress` without contextlib (which costs ~0.1 MiB RSS at run time, issue 16): the block
    stops at the first exception of one of these types, which is swallowed; any other propagates."""

    __slots__ = ("_types",)

    def __init__(self, *types: type[BaseException]) -> None:
        self._types = types

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, _exc: object, _tb: object) -> bool:
        return kind is not None and issubclass(kind, self._types)
