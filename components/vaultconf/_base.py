"""What every vaultconf component shares: type token, child options and names, error labels."""

from __future__ import annotations

from typing import Any

import pulumi

from vaultconf import names
from vaultconf.errors import ConfigError, component_label


class Component(pulumi.ComponentResource):
    """Base of the vaultconf components: type token `vaultconf:index:<ClassName>`.

    Subclasses validate their plain inputs *before* calling `__init__` here (so bad input registers
    nothing), create children with `self.opts()` and `self.child()`, and end with `register_outputs`.
    """

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(f"vaultconf:index:{type(self).__name__}", name, None, opts)
        self._resource_name = name

    def opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Child options: always parented here, so providers and aliases flow from the caller's opts."""
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def child(self, suffix: str) -> str:
        return names.child(self._resource_name, suffix)


def label(cls: type, name: str) -> str:
    return component_label(cls.__name__, name)


def require(args: Any, key: str, who: str, fix: str) -> Any:
    """A mandatory Args field, or one clear error."""
    if not isinstance(args, dict):
        raise ConfigError(
            who,
            "args",
            f"expected a dict of arguments, got {type(args).__name__}",
            "pass the Args TypedDict as a plain dict",
        )
    value = args.get(key)
    if value is None or (isinstance(value, str | list | tuple | dict) and not value):
        raise ConfigError(who, key, "missing", fix)
    return value


def check_args(args: Any, allowed: type, who: str) -> dict[str, Any]:
    """Reject keys the Args TypedDict does not declare (a typo would otherwise be silently ignored)."""
    if not isinstance(args, dict):
        raise ConfigError(
            who,
            "args",
            f"expected a dict of arguments, got {type(args).__name__}",
            "pass the Args TypedDict as a plain dict",
        )
    known = set(getattr(allowed, "__annotations__", {}))
    unknown = sorted(set(args) - known)
    if unknown:
        raise ConfigError(who, unknown[0], "unknown argument", f"use one of {', '.join(sorted(known))}")
    return args
