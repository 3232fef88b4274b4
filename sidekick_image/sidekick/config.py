"""The sidekick's one validated configuration model, built from a YAML/JSON file and/or the CLI.

Plain classes with __slots__ rather than dataclasses: `dataclasses` pulls in `inspect` (~1.4 MiB RSS).
"""

from __future__ import annotations

import os
import re

from . import structured
from .errors import ConfigError
from .values import parse_bool, parse_duration, parse_float, parse_int, parse_mode

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

TYPES = ("kv", "pki", "aws", "secret", "write", "raw")
FORMATS = (
    "json", "yaml", "yml", "env", "ini", "txt", "cert", "certchain", "bundle", "aws", "csv", "template",
    "credential",
)
AUTH_METHODS = ("userpass", "kubernetes", "approle", "token")
SIGNALS = ("HUP", "INT", "QUIT", "USR1", "USR2", "TERM", "KILL", "WINCH")
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
        """Cross-field checks; raises ConfigError with one line naming the problem."""
        where = self.source
        if not re.match(r"^https?://[^/\s:]+(:\d+)?/?$", self.vault_addr or ""):
            raise ConfigError(f"{where}: vault address {self.vault_addr!r} is not a URL like "
                              "https://vault.example:8200 (set -vault= or VAULT_ADDR)")
        if self.auth_method not in AUTH_METHODS:
            raise ConfigError(f"{where}: auth method {self.auth_method!r} is not supported; "
                              f"use one of {', '.join(AUTH_METHODS)}")
        if self.ca_cert and not os.access(self.ca_cert, os.R_OK):
            raise ConfigError(f"{where}: CA certificate file {self.ca_cert} is not readable")
        if self.ca_cert and self.tls_skip_verify:
            raise ConfigError(f"{where}: both a CA certificate and tls_skip_verify given; choose one")
        if self.listen and not re.match(r"^([^\s:\[\]]*|\[[0-9A-Fa-f:.]+\]):\d{1,5}$", self.listen):
            raise ConfigError(f"{where}: listen {self.listen!r} must be HOST:PORT (e.g. 0.0.0.0:9191, "
                              "127.0.0.1:9191, [::]:9191) or \"\" to disable")
        if self.listen and int(self.listen.rsplit(":", 1)[1]) > 65535:
            raise ConfigError(f"{where}: listen {self.listen!r}: a port is at most 65535")
        if self.one_shot_timeout <= 0:
            raise ConfigError(f"{where}: one_shot_timeout must be a positive duration (e.g. 60s)")
        if self.log_level not in ("debug", "info", "warning", "error"):
            raise ConfigError(f"{where}: log level {self.log_level!r}: use debug, info, warning or error")
        if not self.resources and not self.one_shot:
            raise ConfigError(f"{where}: no resources declared (add -cn=TYPE:PATH or resources: in the file)")
        seen: set[str] = set()
        for res in self.resources:
            _validate_resource(res, where)
            if res.name in seen:
                raise ConfigError(f"{where}: resource name {res.name!r} is used twice; names must be unique")
            seen.add(res.name)
        from .outputs import Claims

        try:  # every file each resource (and the state file) writes: two owners of one file stop us here
            Claims.for_config(self)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        return self


def _validate_resource(res: Resource, where: str) -> None:
    at = f"{where}: resource {res.name!r}"
    if res.type not in TYPES:
        raise ConfigError(f"{at}: type {res.type!r} is not supported; use one of {', '.join(TYPES)}")
    if not res.path:
        raise ConfigError(f"{at}: path is empty")
    if res.format not in FORMATS:
        raise ConfigError(f"{at}: unknown format {res.format!r}; use one of {', '.join(FORMATS)}")
    if res.format == "template" and not (res.template or res.template_file):
        raise ConfigError(f"{at}: format template needs `template` (inline) or `template_file`")
    if res.template_file and not os.access(res.template_file, os.R_OK):
        raise ConfigError(f"{at}: template file {res.template_file} is not readable")
    if res.type == "pki" and "common_name" not in res.params:
        raise ConfigError(f"{at}: a pki resource needs the common_name parameter")
    if res.kv_version not in (0, 1, 2):
        raise ConfigError(f"{at}: kv_version must be 1 or 2")
    if not os.path.isabs(res.filename) and ".." in res.filename.split("/"):
        raise ConfigError(f"{at}: file {res.filename!r} must stay inside the output directory")
    if res.hooks.signal_name and not (res.hooks.signal_pidfile or res.hooks.signal_process):
        raise ConfigError(f"{at}: on_change.signal needs a pidfile or a process name")


# ---------------------------------------------------------------------------------------------- file


_TOP_KEYS = {"vault", "auth", "output_dir", "one_shot", "renew_token", "listen", "resources", "log_level",
             "state_file", "dryrun", "exec_timeout", "timing", "retries", "one_shot_timeout", "keep_token"}
_VAULT_KEYS = {"addr", "ca_cert", "tls_skip_verify", "timeout"}
_AUTH_KEYS = {"method", "mount", "file", "role", "token_file", "role_id_file", "secret_id_file", "login_path",
              "format"}
_TIMING_KEYS = {"renew_fraction", "safety_buffer", "kv_update", "backoff_initial", "backoff_cap"}
_RES_KEYS = {"name", "type", "path", "kv_version", "version", "params", "file", "format", "template",
             "template_file", "mode", "owner", "group", "update", "renew", "revoke", "revoke_delay", "jitter",
             "retries", "on_change", "create", "size"}
_HOOK_KEYS = {"exec", "env", "signal", "http", "timeout", "debounce"}


class _Where:
    """Maps a dotted field path to its line in the YAML source, for error messages."""

    def __init__(self, path: str, lines: dict[str, int]) -> None:
        self.path = path
        self.lines = lines

    def __call__(self, field: str) -> str:
        line = self.lines.get(field)
        while line is None and "." in field:
            field = field.rsplit(".", 1)[0]
            line = self.lines.get(field)
        return f"{self.path}:{line}" if line else self.path


def read_structured(path: str, what: str) -> tuple[Any, dict[str, int]]:
    """Parse a JSON or YAML file, bounded (sidekick.structured); returns (data, {field: line})."""
    return structured.parse(structured.read_bounded(path, what), path, what)


def parse_structured(text: str, path: str, what: str) -> Any:
    return structured.parse(text, path, what)[0]


def _check_keys(data: Any, allowed: set[str], field: str, where: _Where) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where(field)}: {field or 'the file'} must be a mapping")
    for key in data:
        if key not in allowed:
            import difflib

            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(sorted(allowed))}"
            name = f"{field}.{key}" if field else str(key)
            raise ConfigError(f"{where(name)}: unknown field {name!r}{hint}")
    return data


def load_file(path: str, cfg: Config | None = None) -> Config:
    """Read the sidekick config file (docs/architecture.md contract) into `cfg`."""
    data, lines = read_structured(path, "sidekick config")
    where = _Where(path, lines)
    top = _check_keys(data, _TOP_KEYS, "", where)
    cfg = cfg or Config()
    cfg.source = path

    def err(field: str, exc: ConfigError) -> ConfigError:
        return ConfigError(f"{where(field)}: {exc}")

    def conv(field: str, func: Any, value: Any, *args: Any) -> Any:
        try:
            return func(value, field, *args)
        except ConfigError as exc:
            raise err(field, exc) from None

    vault = _check_keys(top.get("vault"), _VAULT_KEYS, "vault", where)
    if "addr" in vault:
        cfg.vault_addr = str(vault["addr"])
    if "ca_cert" in vault:
        cfg.ca_cert = str(vault["ca_cert"] or "")
    if "tls_skip_verify" in vault:
        cfg.tls_skip_verify = conv("vault.tls_skip_verify", parse_bool, vault["tls_skip_verify"])
    if "timeout" in vault:
        cfg.vault_timeout = conv("vault.timeout", parse_duration, vault["timeout"])
    auth = _check_keys(top.get("auth"), _AUTH_KEYS, "auth", where)
    mapping = {"method": "auth_method", "mount": "auth_mount", "file": "auth_file", "role": "role",
               "token_file": "token_file", "role_id_file": "role_id_file", "secret_id_file": "secret_id_file",
               "login_path": "login_path", "format": "auth_format"}
    for key, attr in mapping.items():
        if key in auth:
            setattr(cfg, attr, str(auth[key] or ""))
    if "output_dir" in top:
        cfg.output_dir = str(top["output_dir"])
    for key in ("one_shot", "renew_token", "dryrun", "keep_token"):
        if key in top:
            setattr(cfg, key, conv(key, parse_bool, top[key]))
    if "listen" in top:
        cfg.listen = "" if top["listen"] in (None, False) else str(top["listen"])
    if "log_level" in top:
        cfg.log_level = str(top["log_level"]).lower()
    if "state_file" in top:
        cfg.state_file = str(top["state_file"] or "")
    if "retries" in top:
        cfg.retries = conv("retries", parse_int, top["retries"])
    if "one_shot_timeout" in top:
        cfg.one_shot_timeout = conv("one_shot_timeout", parse_duration, top["one_shot_timeout"])
    exec_timeout = None
    if "exec_timeout" in top:
        exec_timeout = conv("exec_timeout", parse_duration, top["exec_timeout"])
    timing = _check_keys(top.get("timing"), _TIMING_KEYS, "timing", where)
    if "renew_fraction" in timing:
        cfg.renew_fraction = conv("timing.renew_fraction", parse_float, timing["renew_fraction"], 0.1, 0.95)
    for key in ("safety_buffer", "kv_update", "backoff_initial", "backoff_cap"):
        if key in timing:
            setattr(cfg, key, conv(f"timing.{key}", parse_duration, timing[key]))
    resources = top.get("resources") or []
    if not isinstance(resources, list):
        raise ConfigError(f"{where('resources')}: resources must be a list")
    for i, item in enumerate(resources):
        field = f"resources[{i}]"
        res = _resource_from_dict(item, field, where, conv)
        if exec_timeout is not None:
            res.hooks.exec_timeout = exec_timeout
        cfg.resources.append(res)
    return cfg


def _resource_from_dict(item: Any, field: str, where: _Where, conv: Any) -> Resource:
    data = _check_keys(item, _RES_KEYS, field, where)
    for key in ("name", "type", "path"):
        if not data.get(key):
            raise ConfigError(f"{where(field)}: {field}.{key} is required")
    res = Resource(str(data["name"]), str(data["type"]), str(data["path"]))
    if not re.fullmatch(r"[A-Za-z0-9_.@-]+", res.name):
        raise ConfigError(f"{where(field + '.name')}: {field}.name {res.name!r} may only hold letters, "
                          "digits and _.@-")
    res.format = {"pki": "cert", "aws": "aws"}.get(res.type, "json")
    if "kv_version" in data:
        res.kv_version = conv(f"{field}.kv_version", parse_int, data["kv_version"], 1)
    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{where(field + '.params')}: {field}.params must be a mapping")
    res.params = dict(params)
    if "version" in data:
        res.params["version"] = conv(f"{field}.version", parse_int, data["version"], 1)
    for key in ("file", "format", "template", "template_file"):
        if key in data:
            setattr(res, key, str(data[key]))
    res.format = res.format.lower()
    if "mode" in data:
        res.mode = conv(f"{field}.mode", parse_mode, data["mode"])
    for key in ("owner", "group"):
        if key in data and data[key] is not None:
            setattr(res, key, conv(f"{field}.{key}", parse_int, data[key]))
    if "update" in data and data["update"] is not None:
        res.update = conv(f"{field}.update", parse_duration, data["update"])
    for key in ("renew", "revoke", "create"):
        if key in data:
            setattr(res, key, conv(f"{field}.{key}", parse_bool, data[key]))
    if "revoke_delay" in data:
        res.revoke_delay = conv(f"{field}.revoke_delay", parse_duration, data["revoke_delay"])
    if "jitter" in data:
        jitter = data["jitter"]
        if isinstance(jitter, (int, float)) and not isinstance(jitter, bool) and 0 <= jitter <= 1:
            res.jitter = float(jitter)
        else:  # vault-sidekick style: an absolute duration
            res.max_jitter = conv(f"{field}.jitter", parse_duration, jitter)
    if "retries" in data:
        res.retries = conv(f"{field}.retries", parse_int, data["retries"])
    if "size" in data:
        res.size = conv(f"{field}.size", parse_int, data["size"], 1)
    hooks = _check_keys(data.get("on_change"), _HOOK_KEYS, f"{field}.on_change", where)
    _hooks_from_dict(res.hooks, hooks, f"{field}.on_change", where, conv)
    return res


def _hooks_from_dict(h: Hooks, data: Mapping[str, Any], field: str, where: _Where, conv: Any) -> None:
    if "exec" in data:
        argv = data["exec"]
        if isinstance(argv, str):
            argv = argv.split()
        if not isinstance(argv, list) or not argv or not all(isinstance(a, (str, int)) for a in argv):
            raise ConfigError(f"{where(field + '.exec')}: {field}.exec must be a non-empty argv list")
        h.exec = [str(a) for a in argv]
    if "env" in data:
        env = data["env"] or {}
        if not isinstance(env, dict) or not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(k))
                                                and isinstance(v, (str, int, float)) for k, v in env.items()):
            raise ConfigError(f"{where(field + '.env')}: {field}.env must map variable names to values, "
                              "e.g. {APP_MODE: reload}")
        h.env = {str(k): str(v) for k, v in env.items()}
    if "timeout" in data:
        h.exec_timeout = conv(f"{field}.timeout", parse_duration, data["timeout"])
    if "debounce" in data:
        h.debounce = conv(f"{field}.debounce", parse_duration, data["debounce"])
    sig = data.get("signal")
    if sig is not None:
        if isinstance(sig, str):
            sig = {"name": sig}
        sig = _check_keys(sig, {"name", "pidfile", "process"}, f"{field}.signal", where)
        name = str(sig.get("name", "HUP")).upper().removeprefix("SIG")
        if name not in SIGNALS:
            raise ConfigError(f"{where(field + '.signal')}: signal {name!r}: use one of {', '.join(SIGNALS)}")
        h.signal_name = name
        h.signal_pidfile = str(sig.get("pidfile") or "")
        h.signal_process = str(sig.get("process") or "")
    web = data.get("http")
    if web is not None:
        if isinstance(web, str):
            web = {"url": web}
        web = _check_keys(web, {"url", "method"}, f"{field}.http", where)
        url = str(web.get("url") or "")
        if not re.match(r"^https?://[^/\s]+", url):
            raise ConfigError(f"{where(field + '.http')}: {field}.http.url {url!r} is not an http(s) URL")
        h.http_url = url
        h.http_method = str(web.get("method") or "POST").upper()
