"""What every vaultconf component shares: type token, child options and names, error labels."""

from __future__ import annotations

from typing import Any, TypeVar

import pulumi

from vaultconf import names
from vaultconf.errors import ConfigError, component_label

T = TypeVar("T")


class Component(pulumi.ComponentResource):
    """Base of the vaultconf components: type token `vaultconf:index:<ClassName>`.

    Subclasses validate their plain inputs *before* calling `__init__` here (so bad input registers
    nothing), create children with `self.opts()` and `self.child()`, and end with `register_outputs`.
    """

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(names.component_type(type(self).__name__), name, None, opts)
        self._resource_name = name

    def opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Child options: always parented here, so providers and aliases flow from the caller's opts."""
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def child(self, suffix: str) -> str:
        return names.child(self._resource_name, suffix)


def label(cls: type, name: str) -> str:
    return component_label(cls.__name__, name)


def _as_dict(args: Any, who: str) -> dict[str, Any]:
    if not isinstance(args, dict):
        raise ConfigError(
            who,
            "args",
            f"expected a dict of arguments, got {type(args).__name__}",
            "pass the Args TypedDict as a plain dict",
        )
    return args


def start(cls: type, resource_name: str, args: Any, allowed: type) -> str:
    """The error label of a component being built; rejects keys its Args TypedDict does not declare (a
    typo would otherwise be silently ignored)."""
    who = label(cls, resource_name)
    known = set(getattr(allowed, "__annotations__", {}))
    unknown = sorted(set(_as_dict(args, who)) - known)
    if unknown:
        raise ConfigError(who, unknown[0], "unknown argument", f"use one of {', '.join(sorted(known))}")
    return who


def require(args: Any, key: str, who: str, fix: str) -> Any:
    """A mandatory Args field, or one clear error."""
    value = _as_dict(args, who).get(key)
    if value is None or (isinstance(value, str | list | tuple | dict) and not value):
        raise ConfigError(who, key, "missing", fix)
    return value


def require_instance(args: Any, key: str, cls: type[T], who: str) -> T:
    """A mandatory Args field that must be another component (e.g. the CA of a PKI role)."""
    value = require(args, key, who, f"pass the {cls.__name__} component")
    if not isinstance(value, cls):
        raise ConfigError(
            who, key, f"{value!r} is not a {cls.__name__}", f"pass the {cls.__name__} component"
        )
    return value


def count(value: Any, who: str, field: str, minimum: int = 0) -> int:
    """A whole number >= minimum (counters, versions, replicas), or one clear error."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(
            who, field, f"{value!r} is not a whole number >= {minimum}", f"use an integer >= {minimum}"
        )
    return value


def http_url(value: Any, who: str, field: str, example: str) -> str:
    """An http(s) URL such as a Vault address, or one clear error."""
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ConfigError(who, field, f"{value!r} is not an http(s) URL", f'use e.g. "{example}"')
    return value


def refuse_foreign_mount_settings(args: Any, who: str, mount_args: tuple[str, ...]) -> bool:
    """`create_mount` (default True). False: the auth mount is another stack's (docs/scaling.md), so the
    arguments that set up the mount itself are refused, the first one set named in the error."""
    if args.get("create_mount", True):
        return True
    extra = [key for key in mount_args if args.get(key) is not None]
    if extra:
        verb = "describes" if extra[0] == "description" else "configures"
        raise ConfigError(who, extra[0], f"{verb} the mount, which another stack owns (create_mount: false)",
                          "set it in the stack that owns the mount")
    return False
