"""The sidekick config file (docs/architecture.md contract) → Config.

Three steps, each done once: read it bounded (structured.py), check it against the contract's JSON Schema
(contract.py, schema_check.py), then turn the checked values into typed ones (values.py: durations become
seconds, modes ints). Every refusal is one line naming the file, the line and the field.
"""

from __future__ import annotations

from . import structured
from .config import Config, Hooks, Resource
from .contract import SCHEMA
from .errors import SidekickConfigError
from .schema_check import Checker, Invalid
from .values import parse_bool, parse_duration, parse_float, parse_int, parse_mode

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_checker: Checker | None = None


def checker() -> Checker:
    global _checker
    if _checker is None:
        _checker = Checker(SCHEMA)
    return _checker


class _Where:
    """Maps a dotted field path to its line in the YAML source, for error messages."""

    def __init__(self, path: str, lines: dict[str, int]) -> None:
        self.path = path
        self.lines = lines

    def __call__(self, field: str) -> str:
        line = self.lines.get(field)
        while line is None and ("." in field or "[" in field):
            field = field[:max(field.rfind("."), field.rfind("["))]
            line = self.lines.get(field)
        return f"{self.path}:{line}" if line else self.path


def fold_case(data: Any) -> Any:
    """The words the sidekick takes in any case (format, log_level, signal names, http method), folded to
    the schema's case before it is checked: `format: JSON`, `signal: SIGhup` and `method: post` work."""
    if not isinstance(data, dict):
        return data
    if isinstance(data.get("log_level"), str):
        data["log_level"] = data["log_level"].lower()
    for res in data.get("resources") or []:
        if not isinstance(res, dict):
            continue
        if isinstance(res.get("format"), str):
            res["format"] = res["format"].lower()
        hooks = res.get("on_change")
        if not isinstance(hooks, dict):
            continue
        sig = hooks.get("signal")
        if isinstance(sig, str):
            hooks["signal"] = _signal_name(sig)
        elif isinstance(sig, dict) and isinstance(sig.get("name"), str):
            sig["name"] = _signal_name(sig["name"])
        web = hooks.get("http")
        if isinstance(web, dict) and isinstance(web.get("method"), str):
            web["method"] = web["method"].upper()
    return data


def _signal_name(name: str) -> str:
    return name.strip().upper().removeprefix("SIG")


def load_file(path: str, cfg: Config | None = None) -> Config:
    """Read the sidekick config file into `cfg` (a fresh Config by default)."""
    data, lines = structured.parse(structured.read_bounded(path, "sidekick config"), path, "sidekick config")
    where = _Where(path, lines)
    data = fold_case(data)
    try:
        checker().check(data)
    except Invalid as exc:
        raise SidekickConfigError(f"{where(exc.field)}: {exc}") from None
    return apply(data or {}, cfg or Config(), path, where)


def _as_is(value: Any, field: str) -> Any:
    return value


def _text(value: Any, field: str) -> str:
    return value or ""  # null (or listen: false) is the empty setting


def _fraction(value: Any, field: str) -> float:
    return parse_float(value, field, 0.1, 0.95)


# Each top-level setting: (its dotted field in the file, its Config attribute, how its value is typed).
_FIELDS: tuple[tuple[str, str, Callable[[Any, str], Any]], ...] = (
    ("vault.addr", "vault_addr", _as_is),
    ("vault.ca_cert", "ca_cert", _text),
    ("vault.tls_skip_verify", "tls_skip_verify", parse_bool),
    ("vault.timeout", "vault_timeout", parse_duration),
    *((f"auth.{key}", attr, _text) for key, attr in (
        ("method", "auth_method"), ("mount", "auth_mount"), ("file", "auth_file"), ("role", "role"),
        ("token_file", "token_file"), ("role_id_file", "role_id_file"), ("secret_id_file", "secret_id_file"),
        ("login_path", "login_path"), ("format", "auth_format"))),
    ("output_dir", "output_dir", _as_is),
    *((key, key, parse_bool) for key in ("one_shot", "renew_token", "dryrun", "keep_token")),
    ("listen", "listen", _text),
    ("log_level", "log_level", _as_is),
    ("state_file", "state_file", _text),
    ("retries", "retries", parse_int),
    ("one_shot_timeout", "one_shot_timeout", parse_duration),
    ("timing.renew_fraction", "renew_fraction", _fraction),
    *((f"timing.{key}", key, parse_duration)
      for key in ("safety_buffer", "kv_update", "backoff_initial", "backoff_cap")),
)


def apply(top: dict[str, Any], cfg: Config, source: str, where: Callable[[str], str]) -> Config:
    """Checked file data → typed Config fields (what the schema cannot say: value grammar, ranges)."""
    cfg.source = source

    def conv(field: str, func: Any, value: Any, *args: Any) -> Any:
        try:
            return func(value, field, *args)
        except SidekickConfigError as exc:
            raise SidekickConfigError(f"{where(field)}: {exc}") from None

    for field, attr, convert in _FIELDS:
        section, _, key = field.rpartition(".")
        data = (top.get(section) or {}) if section else top
        if key in data:
            setattr(cfg, attr, conv(field, convert, data[key]))
    exec_timeout = None
    if "exec_timeout" in top:
        exec_timeout = conv("exec_timeout", parse_duration, top["exec_timeout"])
    for i, item in enumerate(top.get("resources") or []):
        res = _resource(item, f"resources[{i}]", conv)
        if exec_timeout is not None and "timeout" not in (item.get("on_change") or {}):
            res.hooks.exec_timeout = exec_timeout
        cfg.resources.append(res)
    return cfg


def _resource(data: dict[str, Any], field: str, conv: Any) -> Resource:
    res = Resource(data["name"], data["type"], data["path"])
    res.format = data.get("format") or {"pki": "cert", "aws": "aws"}.get(res.type, "json")
    if "kv_version" in data:
        res.kv_version = conv(f"{field}.kv_version", parse_int, data["kv_version"], 1)
    res.params = dict(data.get("params") or {})
    if "version" in data:
        res.params["version"] = conv(f"{field}.version", parse_int, data["version"], 1)
    for key in ("file", "template", "template_file"):
        if key in data:
            setattr(res, key, data[key])
    if "mode" in data:
        res.mode = conv(f"{field}.mode", parse_mode, data["mode"])
    for key in ("owner", "group"):
        if data.get(key) is not None:
            setattr(res, key, conv(f"{field}.{key}", parse_int, data[key]))
    if data.get("update") is not None:
        res.update = conv(f"{field}.update", parse_duration, data["update"])
    for key in ("renew", "revoke", "create"):
        if key in data:
            setattr(res, key, conv(f"{field}.{key}", parse_bool, data[key]))
    if "revoke_delay" in data:
        res.revoke_delay = conv(f"{field}.revoke_delay", parse_duration, data["revoke_delay"])
    if "jitter" in data:
        jitter = data["jitter"]
        if isinstance(jitter, (int, float)) and 0 <= jitter <= 1:  # a fraction (the schema refused bools)
            res.jitter = float(jitter)
        else:  # vault-sidekick style: an absolute duration
            res.max_jitter = conv(f"{field}.jitter", parse_duration, jitter)
    if "retries" in data:
        res.retries = conv(f"{field}.retries", parse_int, data["retries"])
    if "size" in data:
        res.size = conv(f"{field}.size", parse_int, data["size"], 1)
    _hooks(res.hooks, data.get("on_change") or {}, f"{field}.on_change", conv)
    return res


def _hooks(h: Hooks, data: dict[str, Any], field: str, conv: Any) -> None:
    if "exec" in data:
        argv = data["exec"]
        h.exec = argv.split() if isinstance(argv, str) else [str(a) for a in argv]
    if data.get("env"):
        h.env = {k: str(v) for k, v in data["env"].items()}
    if "timeout" in data:
        h.exec_timeout = conv(f"{field}.timeout", parse_duration, data["timeout"])
    if "debounce" in data:
        h.debounce = conv(f"{field}.debounce", parse_duration, data["debounce"])
    sig = data.get("signal")
    if sig is not None:
        sig = {"name": sig} if isinstance(sig, str) else sig
        h.signal_name = sig.get("name") or "HUP"
        h.signal_pidfile = sig.get("pidfile") or ""
        h.signal_process = sig.get("process") or ""
    web = data.get("http")
    if web is not None:
        web = {"url": web} if isinstance(web, str) else web
        h.http_url = web["url"]
        h.http_method = web.get("method") or "POST"
