"""The sidekick's contract with whoever writes its configuration: the schema of the config file and the
Vault capability each kind of secret needs. Standard library only, so the component library
(vaultconf.sidecar, vaultconf.config.schema_def, vaultconf.config.lint) and the policy pack import it too.

config.schema.json, next to this file and published with the package, is the one definition of the config
file: the sidekick enforces it (schema_check), the component library validates what it emits against it,
and the desired-state YAML derives its workload secrets from it. The word lists below are read from it.
"""

from __future__ import annotations

import json
import os

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true
if TYPE_CHECKING:
    from typing import Any

SCHEMA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "config.schema.json")


def _load() -> dict[str, Any]:
    with open(SCHEMA_FILE, encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


SCHEMA = _load()
_DEFS = SCHEMA["$defs"]
_RESOURCE = _DEFS["resource"]["properties"]

TYPES: tuple[str, ...] = tuple(_RESOURCE["type"]["enum"])
FORMATS: tuple[str, ...] = tuple(_RESOURCE["format"]["enum"])
AUTH_METHODS: tuple[str, ...] = tuple(SCHEMA["properties"]["auth"]["properties"]["method"]["enum"])
LOG_LEVELS: tuple[str, ...] = tuple(SCHEMA["properties"]["log_level"]["enum"])
SIGNALS: tuple[str, ...] = tuple(_DEFS["signal_name"]["enum"])
NAME_PATTERN: str = _RESOURCE["name"]["pattern"]
ENV_NAME_PATTERN: str = _DEFS["on_change"]["properties"]["env"]["propertyNames"]["pattern"]


def schema() -> dict[str, Any]:
    """A fresh copy of the config file's JSON Schema (callers may derive from it freely)."""
    return _load()


# What a policy must grant on a resource's path: any one of these capabilities. The first is also the one
# the sidekick exercises, so it decides the HTTP method it uses (read: GET with `params` as the query;
# update: POST with `params` as the body). One table for the sidekick (sources.py), the component library's
# access check (vaultconf.sidecar) and `vaultconf validate`'s least-privilege rule (vaultconf.config.lint).
CAPABILITIES: dict[str, tuple[str, ...]] = {
    "kv": ("read",),
    "secret": ("read",),
    "raw": ("read",),
    # aws/creds/<role> and aws/sts/<role> are one path in Vault's AWS engine, answering GET and POST alike,
    # with ttl, role_arn and role_session_name readable from the query (builtin/logical/aws/path_user.go):
    # the sidekick reads, so `read` is enough for either, with or without params.
    "aws": ("read",),
    "pki": ("update",),  # <mount>/issue/<role> issues on POST only
    "write": ("update", "create"),
}
# Leases the sidekick renews and revokes: `update` on these (the revoke path carries the lease id, so a
# policy may grant it for one resource's leases only: sys/leases/revoke/<path>/*; sources.py).
LEASE_RENEW_PATH = "sys/leases/renew"
LEASE_REVOKE_PATH = "sys/leases/revoke"


def capabilities(kind: str) -> tuple[str, ...]:
    """Any one of these on the path lets the sidekick fetch a secret of this type."""
    return CAPABILITIES[kind]


def http_method(kind: str) -> str:
    return "GET" if CAPABILITIES[kind][0] == "read" else "POST"
