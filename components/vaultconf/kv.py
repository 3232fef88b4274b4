"""KvStore: a KV version 2 mount, optionally seeded with secrets from stack secrets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypedDict

import pulumi
import pulumi_vault as vault

from vaultconf import names
from vaultconf._base import Component, count, start
from vaultconf._types import Input
from vaultconf.errors import ConfigError
from vaultconf.ttl import optional_ttl


class KvStoreArgs(TypedDict, total=False):
    """Arguments of `KvStore`."""

    path: str
    """Mount path (default: the component's name)."""
    max_versions: int
    """Versions kept per secret (default 10)."""
    cas_required: bool
    """Writers must pass check-and-set (default False)."""
    delete_version_after: int | str
    """Delete versions older than this (default: never)."""
    description: str
    """Mount description (default "vaultconf KV v2"; `vaultconf import` keeps an adopted mount's own)."""
    secrets: Mapping[str, Input[Mapping[str, Any]]]
    """Seeded secrets: name (e.g. "team-a/db") → data, typically from `config.require_secret_object`.
    Stored as secrets in state."""


class KvStore(Component):
    """A KV v2 secrets mount."""

    path: str
    secret_paths: dict[str, str]
    """Seeded secret name → its API path for reads (`<mount>/data/<name>`)."""

    def __init__(
        self, resource_name: str, args: KvStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        who = start(KvStore, resource_name, args, KvStoreArgs)
        self.path = names.mount_path(args.get("path", resource_name), who, "path")
        max_versions = count(args.get("max_versions", 10), who, "max_versions")
        delete_after = optional_ttl(args.get("delete_version_after"), who, "delete_version_after")
        secrets = dict(args.get("secrets", {}))
        for key in secrets:
            names.mount_path(key, who, f"secrets[{key!r}]")
        if secrets and args.get("cas_required"):
            # Vault then refuses every write without `cas` = the current version, which a declarative seed
            # cannot know on update (found by writing the schema-reach fixture to a real Vault).
            raise ConfigError(
                who,
                "cas_required",
                "set together with seeded secrets: Vault refuses their writes without check-and-set",
                "seed in a store without cas_required, or drop the seeded secrets",
            )
        self.secret_paths = {key: self.data_path(key) for key in secrets}
        super().__init__(resource_name, opts)
        mount = vault.Mount(
            self.child(names.MOUNT_CHILD),
            path=self.path,
            type="kv",
            options={"version": "2"},
            description=args.get("description", "vaultconf KV v2"),
            opts=self.opts(),
        )
        config = vault.kv.SecretBackendV2(
            self.child(names.KV_CONFIG_CHILD),
            mount=mount.path,
            max_versions=max_versions,
            cas_required=args.get("cas_required", False),
            delete_version_after=delete_after,
            opts=self.opts(),
        )
        for key, data in sorted(secrets.items()):
            text: pulumi.Output[str] = pulumi.Output.from_input(data).apply(
                lambda d: json.dumps(d, sort_keys=True)
            )
            secret_text: pulumi.Output[str] = pulumi.Output.secret(text)
            vault.kv.SecretV2(
                self.child(f"secret-{names.k8s_name(key)}"),
                mount=mount.path,
                name=key,
                data_json=secret_text,
                opts=self.opts(depends_on=[config]),
            )
        self.register_outputs({"path": self.path})

    def data_path(self, name: str) -> str:
        """API path a workload reads secret `name` from (KV v2 puts data under `data/`)."""
        return f"{self.path}/data/{name}"
