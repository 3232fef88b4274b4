"""TTLs as people write them ("90s", "30m", "1h30m", "2d", 3600) → whole seconds, validated early."""

from __future__ import annotations

import re
from typing import Any

from vaultconf.errors import ConfigError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+)([smhd])")
_FORMAT = 'write whole seconds (3600) or a duration such as "90s", "30m", "1h30m", "2d"'


def parse_ttl(value: Any, component: str, field: str) -> int:
    """Seconds in `value`; ConfigError (naming component and field) if it is negative or unparsable."""
    if isinstance(value, bool):
        raise ConfigError(component, field, f"{value!r} is not a duration", _FORMAT)
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        seconds = int(value.strip())
    elif isinstance(value, str):
        text = value.strip().lower()
        if text.startswith("-"):
            raise ConfigError(component, field, f"{value!r} is negative", "use a duration of zero or more")
        parts = _PART.findall(text)
        if not text or "".join(n + u for n, u in parts) != text:
            raise ConfigError(component, field, f"{value!r} is not a duration", _FORMAT)
        seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    else:
        raise ConfigError(component, field, f"{value!r} is not a duration", _FORMAT)
    if seconds < 0:
        raise ConfigError(component, field, f"{value!r} is negative", "use a duration of zero or more")
    return seconds


def optional_ttl(value: Any, component: str, field: str) -> int | None:
    """parse_ttl, passing None (unset: the Vault default) through."""
    return None if value is None else parse_ttl(value, component, field)


def ttl_string(value: Any, component: str, field: str) -> str | None:
    """For provider fields typed as strings (PKI): seconds rendered as "<n>s"."""
    seconds = optional_ttl(value, component, field)
    return None if seconds is None else f"{seconds}s"


def check_max(ttl: int | None, max_ttl: int | None, component: str, field: str) -> None:
    """A TTL above its maximum is silently capped by Vault; say so up front instead."""
    if ttl is not None and max_ttl is not None and max_ttl and ttl > max_ttl:
        raise ConfigError(
            component, field, f"ttl {ttl}s exceeds max_ttl {max_ttl}s", "raise max_ttl or lower ttl"
        )
