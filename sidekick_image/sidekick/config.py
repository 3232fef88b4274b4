"""The sidekick's one configuration model, built from a YAML/JSON file (config_file.py) and/or the CLI
(cli.py), with the cross-field checks no schema expresses. The file's shape and word lists are the
schema's (contract.py, config.schema.json).

Plain classes with __slots__ rather than dataclasses: `dataclasses` pulls in `inspect` (~1.4 MiB RSS).
"""

from __future__ import annotations

import os
import re

from .contract import AUTH_METHODS, LOG_LEVELS, SCHEMA
from .errors import SidekickConfigError

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true

if TYPE_CHECKING:
    from typing import Any

K8S_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


class Hooks:
    __slots__ = ("debounce", "env", "exec", "exec_timeout", "http_method", "http_url", "signal_name",
                 "signal_pidfile", "signal_process")

    def __init__(self) -> None:
        self.exec: list[str] = []
        self.env: dict[str, str] = {}     # exec: added to the scrubbed environment (hooks.hook_env)
        self.exec_timeout: float = 60.0
        self.signal_name: str = ""
        self.signal_pidfile: str = ""
        self.signal_process: str = ""
        self.http_url: str = ""
        self.http_method: str = "POST"
        self.debounce: float = 1.0

    def __bool__(self) -> bool:
        return bool(self.exec or self.signal_name or self.http_url)


class Resource:
    __slots__ = ("create", "file", "format", "group", "hooks", "jitter", "kv_version", "max_jitter", "mode",
                 "name", "owner", "params", "path", "renew", "retries", "revoke", "revoke_delay", "size",
                 "template", "template_file", "type", "update")

    def __init__(self, name: str, type_: str, path: str) -> None:
        self.name = name
        self.type = type_
        self.path = path.strip("/")
        self.kv_version: int = 0          # 0: detect from the mount
        self.params: dict[str, Any] = {}  # Vault parameters (query for reads, body for writes)
        self.file: str = ""               # relative to output_dir unless absolute
        self.format: str = "json"
        self.template: str = ""
        self.template_file: str = ""
        self.mode: int | None = None      # None: 0600, or 0640 when a group is set
        self.owner: int | None = None
        self.group: int | None = None
        self.update: float | None = None  # fixed refresh interval (seconds), overrides lease timing
        self.renew: bool = True
        self.revoke: bool = False
        self.revoke_delay: float = 0.0
        self.jitter: float = 0.1          # fraction of the refresh delay taken off at random
        self.max_jitter: float = 0.0      # vault-sidekick's absolute jitter (seconds)
        self.retries: int = 0             # 0: the global default
        self.create: bool = False         # vault-sidekick: create a random secret when missing
        self.size: int = 20
        self.hooks = Hooks()

    @property
    def file_mode(self) -> int:
        if self.mode is not None:
            return self.mode
        return 0o640 if self.group is not None else 0o600

    @property
    def filename(self) -> str:
        return self.file or self.name

    def __repr__(self) -> str:  # paths only: never parameters (a write body may hold secrets)
        return f"Resource({self.name!r}, {self.type}:{self.path})"


class Config:
    __slots__ = ("auth_file", "auth_format", "auth_method", "auth_mount", "backoff_cap", "backoff_initial",
                 "ca_cert", "dryrun", "keep_token", "kv_update", "listen", "log_level", "login_path",
                 "one_shot", "one_shot_timeout", "output_dir", "renew_fraction", "renew_token", "resources",
                 "retries", "role", "role_id_file", "safety_buffer", "secret_id_file", "source", "state_file",
                 "tls_skip_verify", "token_file", "vault_addr", "vault_timeout")

    def __init__(self) -> None:
        self.source = "command line"
        self.vault_addr = os.environ.get("VAULT_ADDR", "https://127.0.0.1:8200")
        self.ca_cert = ""
        self.tls_skip_verify = False
        self.vault_timeout = 30.0
        self.auth_method = "token"
        self.auth_mount = ""
        self.auth_file = ""
        self.auth_format = "default"
        self.role = ""
        self.token_file = ""
        self.role_id_file = ""
        self.secret_id_file = ""
        self.login_path = ""
        self.output_dir = "/etc/secrets"
        self.one_shot = False
        self.one_shot_timeout = 60.0      # one-shot: exit 1 if not done within this (login and retries too)
        self.keep_token = False           # do not revoke our own token at exit (it is handed on)
        self.renew_token = True
        self.dryrun = False
        self.listen = "0.0.0.0:9191"
        self.log_level = "info"
        self.state_file = ""              # default: <output_dir>/.sidekick-state.json
        self.renew_fraction = 2.0 / 3.0   # refresh at this fraction of a TTL
        self.safety_buffer = 30.0         # never later than expiry minus this (scaled down for short TTLs)
        self.kv_update = 300.0            # static secrets are re-read this often
        self.retries = 5                  # one-shot: attempts after the first before exiting 1
        self.backoff_initial = 1.0
        self.backoff_cap = 300.0
        self.resources: list[Resource] = []

    @property
    def mount(self) -> str:
        return (self.auth_mount or self.auth_method).strip("/")

    @property
    def state_path(self) -> str:
        return self.state_file or os.path.join(self.output_dir, ".sidekick-state.json")

    def validate(self) -> Config:
        """Cross-field checks; raises SidekickConfigError with one line naming the problem."""
        where = self.source
        if not re.match(r"^https?://[^/\s:]+(:\d+)?/?$", self.vault_addr or ""):
            raise SidekickConfigError(f"{where}: vault address {self.vault_addr!r} is not a URL like "
                                      "https://vault.example:8200 (set -vault= or VAULT_ADDR)")
        if self.auth_method not in AUTH_METHODS:
            raise SidekickConfigError(f"{where}: auth method {self.auth_method!r} is not supported; "
                                      f"use one of {', '.join(AUTH_METHODS)}")
        if self.ca_cert and not os.access(self.ca_cert, os.R_OK):
            raise SidekickConfigError(f"{where}: CA certificate file {self.ca_cert} is not readable")
        if self.ca_cert and self.tls_skip_verify:
            raise SidekickConfigError(f"{where}: both a CA certificate and tls_skip_verify given; choose one")
        if self.listen and not re.match(r"^([^\s:\[\]]*|\[[0-9A-Fa-f:.]+\]):\d{1,5}$", self.listen):
            raise SidekickConfigError(f"{where}: listen {self.listen!r} must be HOST:PORT (e.g. "
                                      "0.0.0.0:9191, 127.0.0.1:9191, [::]:9191) or \"\" to disable")
        if self.listen and int(self.listen.rsplit(":", 1)[1]) > 65535:
            raise SidekickConfigError(f"{where}: listen {self.listen!r}: a port is at most 65535")
        if self.one_shot_timeout <= 0:
            raise SidekickConfigError(f"{where}: one_shot_timeout must be a positive duration (e.g. 60s)")
        if self.log_level not in LOG_LEVELS:
            raise SidekickConfigError(f"{where}: log level {self.log_level!r}: use {', '.join(LOG_LEVELS)}")
        if not self.resources and not self.one_shot:
            raise SidekickConfigError(f"{where}: no resources declared (add -cn=TYPE:PATH or resources: in "
                                      "the file)")
        seen: set[str] = set()
        for res in self.resources:
            _validate_resource(res, where)
            if res.name in seen:
                raise SidekickConfigError(f"{where}: resource name {res.name!r} is used twice; names must be "
                                          "unique")
            seen.add(res.name)
        from .outputs import Claims

        try:  # every file each resource (and the state file) writes: two owners of one file stop us here
            Claims.for_config(self)
        except SidekickConfigError as exc:
            raise SidekickConfigError(f"{where}: {exc}") from None
        return self


def _validate_resource(res: Resource, where: str) -> None:
    """What the schema says of a resource (type, format, a pki common_name, a template...), checked on
    every resource however it was made (a -cn spec never passes through the file's check), then what only
    the filesystem can tell."""
    from .config_file import checker
    from .schema_check import Invalid

    at = f"{where}: resource {res.name!r}"
    doc: dict[str, Any] = {"name": res.name, "type": res.type, "path": res.path, "format": res.format,
                           "params": dict(res.params)}
    for key in ("template", "template_file", "kv_version"):
        if getattr(res, key):
            doc[key] = getattr(res, key)
    try:
        checker().check(doc, SCHEMA["$defs"]["resource"], "")
    except Invalid as exc:
        raise SidekickConfigError(f"{at}: {exc if exc.field else exc.problem}") from None
    if res.template_file and not os.access(res.template_file, os.R_OK):
        raise SidekickConfigError(f"{at}: template file {res.template_file} is not readable")
    if not os.path.isabs(res.filename) and ".." in res.filename.split("/"):
        raise SidekickConfigError(f"{at}: file {res.filename!r} must stay inside the output directory")
    if res.hooks.signal_name and not (res.hooks.signal_pidfile or res.hooks.signal_process):
        raise SidekickConfigError(f"{at}: on_change.signal needs a pidfile or a process name")
