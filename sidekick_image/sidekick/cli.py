"""vault-sidekick compatible command line: Go-style flags (-flag=value, -flag value, --flag) and -cn specs.

An existing vault-sidekick container's args work unchanged; `-config=FILE` adds our YAML/JSON file.
"""

from __future__ import annotations

import os
import posixpath
import re

from . import structured
from .config import Config, Resource
from .config_file import load_file
from .errors import SidekickConfigError
from .values import parse_bool, parse_duration, parse_int, parse_mode

USAGE = """\
Usage: sidekick [flags]

Logs in to Vault, writes an application's secrets to a shared volume and keeps them fresh.
vault-sidekick compatible: its flags and -cn resource specs work unchanged.

Flags (Go style: -flag=value, -flag value or --flag=value; booleans: -flag or -flag=false):
  -vault URL            Vault address (env VAULT_ADDR; default https://127.0.0.1:8200)
  -auth FILE            authentication file, JSON or YAML: {"method": "userpass", "username": ..,
                        "password": ..} | {"method": "approle", "role_id": .., "secret_id": ..} |
                        {"method": "token", "token": ..} | {"method": "kubernetes", "role": ..}
                        (env AUTH_FILE). Re-read at every login. Without it: VAULT_AUTH_METHOD
                        (default token) with VAULT_TOKEN / VAULT_SIDEKICK_* variables.
  -format NAME          auth file format: default | kubernetes-vault (env AUTH_FORMAT)
  -output DIR           where files are written (env VAULT_OUTPUT; default /etc/secrets)
  -cn TYPE:PATH[:OPTS]  a resource (repeatable), see below
  -config FILE          sidekick config file (YAML or JSON; see sidekick_image/README.md)
  -one-shot             fetch every resource once and exit (init containers, Jobs)
  -one-shot-timeout DUR one-shot: exit 1 if not done within DUR, login and retries included
                        (env VAULT_SIDEKICK_ONE_SHOT_TIMEOUT; default 60s)
  -keep-token           do not revoke our Vault token at exit (when it is handed on). By default a
                        token obtained by login is revoked at exit (auth/token/revoke-self), unless
                        a lease in use was created with it; a given token (method token) is kept.
  -renew-token          renew the Vault token at ~2/3 of its TTL (always on with -config)
  -ca-cert FILE         CA bundle to verify Vault's certificate
  -tls-skip-verify      do not verify Vault's certificate (not recommended; warned at start)
  -exec-timeout DUR     timeout of exec hooks (default 1m)
  -dryrun               print what would be written instead of writing it (no hooks run)
  -listen HOST:PORT     bind address of /healthz, /readyz, /metrics (env VAULT_SIDEKICK_LISTEN; default
                        0.0.0.0:9191; 127.0.0.1:9191 or [::]:9191 work; "" disables; config: listen)
  -log-level LEVEL      debug | info | warning | error (default info)
  -state-file FILE      state file (default OUTPUT/.sidekick-state.json)
  -version              print the version and exit
  -help                 this text
  Accepted and ignored (vault-sidekick/glog): -logtostderr -alsologtostderr -v -vmodule -log_dir
  -stderrthreshold -log_backtrace_at -stats

Resource spec: -cn=TYPE:PATH[:KEY=VALUE,KEY=VALUE,...]
  TYPE   secret (any read; KV v2 is unwrapped), kv, pki, aws, raw, transit (write), write,
         and vault-sidekick's aliases cubbyhole, mysql, postgres, database, gcp, cassandra
  PATH   Vault API path; ${VAR}, $VAR and %VAR% are expanded from the environment
  file=NAME   output file (default: basename(PATH).TYPE), relative to -output unless absolute
  fmt=FORMAT  json | yaml | env | ini | txt | cert | certchain | bundle | aws | csv | credential
              | template (default yaml, as in vault-sidekick)
  mode=0600   file mode          update=DUR  fixed refresh interval     renew=BOOL  renew the lease
  revoke=BOOL revoke replaced leases (and on shutdown)   delay=DUR  wait before revoking
  exec=CMD    run CMD on change (argv split on spaces; a lone command gets the file as argument)
  retries=N   one-shot attempts  jitter=DUR  random time taken off a refresh
  tpl=FILE    template file for fmt=template (Jinja2, sandboxed)
  any other KEY=VALUE is a Vault parameter (common_name=, ttl=, version=, ...); a | in a value means ,

Exit codes:
  0  one-shot: every resource written after a successful login; sidecar: clean shutdown (SIGTERM/SIGINT)
  1  one-shot failed: login refused (bad credentials, 403: at once), a resource refused (404, 400, 403:
     at once), transient errors (unreachable, 5xx, sealed, 429) still failing after the retries, the
     -one-shot-timeout bound reached, or stopped by a signal before done; also: the output directory
     cannot be created
  2  bad configuration (one line on stderr), or the -listen address cannot be bound
"""

VERSION = "0.1.0"

# vault-sidekick resource types → ours. Its database-style types are plain reads of leased secrets.
TYPE_ALIASES = {
    "secret": "secret", "cubbyhole": "secret", "mysql": "secret", "postgres": "secret",
    "database": "secret", "gcp": "secret", "cassandra": "secret", "kv": "kv", "pki": "pki", "aws": "aws",
    "raw": "raw", "transit": "write", "write": "write",
}
_STRING_FLAGS = {"vault", "auth", "format", "output", "ca-cert", "exec-timeout", "listen", "log-level",
                 "state-file", "config", "cn", "stats", "one-shot-timeout"}
_BOOL_FLAGS = {"one-shot", "renew-token", "tls-skip-verify", "dryrun", "version", "help", "h", "keep-token"}
_IGNORED_STRING = {"v", "vmodule", "log_dir", "stderrthreshold", "log_backtrace_at"}
_IGNORED_BOOL = {"logtostderr", "alsologtostderr"}


class Parsed:
    """The raw flag values, before they are applied to a Config."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.cn: list[str] = []


def split_flags(argv: list[str]) -> Parsed:
    out = Parsed()
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            if i < len(argv):
                raise SidekickConfigError(f"unexpected argument {argv[i]!r}: sidekick takes flags only")
            break
        if not arg.startswith("-") or arg == "-":
            raise SidekickConfigError(f"unexpected argument {arg!r}: sidekick takes flags only (see -help)")
        name = arg.lstrip("-")
        value: str | None = None
        if "=" in name:
            name, value = name.split("=", 1)
        if name in _BOOL_FLAGS or name in _IGNORED_BOOL:
            out.values[name] = "true" if value is None else value
            continue
        if name not in _STRING_FLAGS and name not in _IGNORED_STRING:
            raise SidekickConfigError(f"flag provided but not defined: -{name} (see -help)")
        if value is None:
            if i >= len(argv):
                raise SidekickConfigError(f"flag needs an argument: -{name}")
            value = argv[i]
            i += 1
        if name == "cn":
            out.cn.append(value)
        else:
            out.values[name] = value
    return out


def expand_env(text: str) -> str:
    """${VAR} and $VAR (Go's os.ExpandEnv: unset is empty) and vault-sidekick's older %VAR%."""
    text = re.sub(r"%([A-Za-z_][A-Za-z0-9_]*)%", lambda m: os.environ.get(m.group(1), m.group(0)), text)
    return re.sub(r"\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)",
                  lambda m: os.environ.get(m.group(1) or m.group(2), ""), text)


def parse_cn(spec: str, exec_timeout: float = 60.0) -> Resource:
    """One vault-sidekick resource spec → a Resource (CLI defaults: yaml, rotate rather than renew)."""
    where = f"-cn={spec}"
    expanded = expand_env(spec)
    sep = os.environ.get("VAULT_SIDEKICK_SEPARATOR", ":")
    parts = expanded.split(sep)
    if len(parts) < 2 or len(parts) > 3:
        raise SidekickConfigError(f"{where}: must be TYPE:PATH[:OPTIONS] "
                                  "(e.g. -cn=secret:secret/db:fmt=json)")
    kind, path = parts[0].strip(), parts[1].strip()
    if not kind or not path:
        raise SidekickConfigError(f"{where}: neither TYPE nor PATH may be empty")
    if kind not in TYPE_ALIASES:
        raise SidekickConfigError(f"{where}: unsupported resource type {kind!r}; use one of "
                                  f"{', '.join(sorted(TYPE_ALIASES))}")
    res = Resource("", TYPE_ALIASES[kind], path)
    res.format = "yaml"
    res.renew = False  # vault-sidekick: fetch a fresh secret rather than renew, unless renew=true
    res.hooks.exec_timeout = exec_timeout
    opt_sep = os.environ.get("VAULT_SIDEKICK_OPTIONS_SEPARATOR", ",")
    if len(parts) == 3 and parts[2].strip():
        for item in parts[2].split(opt_sep):
            if "=" not in item:
                raise SidekickConfigError(f"{where}: invalid option {item!r}, must be KEY=VALUE")
            key, value = item.split("=", 1)
            key, value = key.strip(), value.replace("|", ",")
            if not value:
                raise SidekickConfigError(f"{where}: option {key!r} must have a value")
            _apply_option(res, key, value, f"{where}: option {key}")
    base = res.file or f"{posixpath.basename(res.path)}.{kind}"
    if not os.path.isabs(base):
        base = posixpath.basename(base)  # vault-sidekick keeps relative files in the output dir
    res.file = base
    res.name = re.sub(r"[^A-Za-z0-9_.@-]", "_", posixpath.basename(base)) or "resource"
    return res


def _apply_option(res: Resource, key: str, value: str, field: str) -> None:
    if key in ("file", "fn"):
        res.file = value
    elif key == "fmt":
        fmt = value.lower()
        res.format = "yaml" if fmt == "yml" else fmt
    elif key == "mode":
        res.mode = parse_mode(value, field)
    elif key == "update":
        res.update = parse_duration(value, field)
    elif key == "renew":
        res.renew = parse_bool(value, field)
    elif key == "revoke":
        res.revoke = parse_bool(value, field)
    elif key == "delay":
        res.revoke_delay = parse_duration(value, field)
    elif key == "exec":
        res.hooks.exec = value.split()
    elif key == "retries":
        res.retries = parse_int(value, field)
    elif key == "jitter":
        res.max_jitter = parse_duration(value, field)
    elif key == "tpl":
        res.template_file = value
    elif key == "create":
        res.create = parse_bool(value, field)
    elif key == "size":
        res.size = parse_int(value, field, 1)
    elif key == "kv_version":
        res.kv_version = parse_int(value, field, 1)
    else:
        res.params[key] = value


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "")
    try:
        return parse_bool(raw, name) if raw else default
    except SidekickConfigError:
        return default


def build_config(argv: list[str]) -> Config | str:
    """Config from argv; returns the text to print instead for -help/-version."""
    parsed = split_flags(argv)
    v = parsed.values
    if parse_bool(v.get("help", v.get("h", "false")), "-help"):
        return USAGE
    if parse_bool(v.get("version", "false"), "-version"):
        return f"sidekick {VERSION}\n"
    cfg = Config()
    config_file = v.get("config", "")
    if config_file:
        load_file(config_file, cfg)
    else:
        # vault-sidekick's environment defaults
        cfg.renew_token = _env_bool("VAULT_SIDEKICK_RENEW_TOKEN", False)
        cfg.dryrun = _env_bool("VAULT_SIDEKICK_DRY_RUN", False)
        cfg.tls_skip_verify = _env_bool("VAULT_SIDEKICK_SKIP_TLS_VERIFY", False)
        cfg.one_shot = _env_bool("VAULT_SIDEKICK_ONE_SHOT", False)
        cfg.ca_cert = os.environ.get("VAULT_SIDEKICK_CA_CERT", "") or os.environ.get("VAULT_CACERT", "")
        cfg.output_dir = os.environ.get("VAULT_OUTPUT", cfg.output_dir)
        cfg.auth_method = os.environ.get("VAULT_AUTH_METHOD", "token")
        cfg.auth_file = os.environ.get("AUTH_FILE", "")
        cfg.auth_format = os.environ.get("AUTH_FORMAT", "default")
        cfg.listen = os.environ.get("VAULT_SIDEKICK_LISTEN", cfg.listen)
        if os.environ.get("VAULT_SIDEKICK_ONE_SHOT_TIMEOUT"):
            cfg.one_shot_timeout = parse_duration(os.environ["VAULT_SIDEKICK_ONE_SHOT_TIMEOUT"],
                                                  "VAULT_SIDEKICK_ONE_SHOT_TIMEOUT")
    exec_timeout = parse_duration(v.get("exec-timeout", os.environ.get("VAULT_SIDEKICK_EXEC_TIMEOUT", "60s")),
                                  "-exec-timeout")
    if "vault" in v:
        cfg.vault_addr = v["vault"]
    if "output" in v:
        cfg.output_dir = v["output"]
    if "ca-cert" in v:
        cfg.ca_cert = v["ca-cert"]
    if "listen" in v:
        cfg.listen = v["listen"]
    if "one-shot-timeout" in v:
        cfg.one_shot_timeout = parse_duration(v["one-shot-timeout"], "-one-shot-timeout")
    if "log-level" in v:
        cfg.log_level = v["log-level"].lower()
    if "state-file" in v:
        cfg.state_file = v["state-file"]
    if "format" in v:
        cfg.auth_format = v["format"]
    for flag, attr in (("one-shot", "one_shot"), ("renew-token", "renew_token"),
                       ("tls-skip-verify", "tls_skip_verify"), ("dryrun", "dryrun"),
                       ("keep-token", "keep_token")):
        if flag in v:
            setattr(cfg, attr, parse_bool(v[flag], f"-{flag}"))
    if "auth" in v:
        cfg.auth_file = v["auth"]
    if cfg.auth_file and (not config_file or "auth" in v):
        apply_auth_file(cfg)
    elif not config_file:
        apply_auth_env(cfg)
    if "exec-timeout" in v:
        for res in cfg.resources:
            res.hooks.exec_timeout = exec_timeout
    for spec in parsed.cn:
        res = parse_cn(spec, exec_timeout)
        names = {r.name for r in cfg.resources}
        base, n = res.name, 2
        while res.name in names:
            res.name, n = f"{base}-{n}", n + 1
        cfg.resources.append(res)
    if config_file and "auth" not in v and cfg.auth_file:
        check_auth_file(cfg)
    return cfg.validate()


def apply_auth_file(cfg: Config) -> None:
    """vault-sidekick's -auth file: its `method` picks the login method; the file is re-read per login."""
    data = check_auth_file(cfg)
    method = str(_ci(data, "method") or cfg.auth_method or "token")
    cfg.auth_method = method
    addr = _ci(data, "vaultAddr") or _ci(data, "vault_addr")
    if addr:
        cfg.vault_addr = str(addr)
    login_path = _ci(data, "login_path") or _ci(data, "path")
    if login_path:
        cfg.login_path = str(login_path)
    if method == "kubernetes":
        cfg.role = str(_ci(data, "role") or os.environ.get("VAULT_SIDEKICK_ROLE", cfg.role))
        cfg.token_file = str(_ci(data, "token_path") or os.environ.get("VAULT_K8S_TOKEN_PATH", "")
                             or cfg.token_file)
        cfg.login_path = cfg.login_path or os.environ.get("VAULT_K8S_LOGIN_PATH", "")
    if method == "approle":
        cfg.login_path = cfg.login_path or os.environ.get("VAULT_APPROLE_LOGIN_PATH", "")


def apply_auth_env(cfg: Config) -> None:
    if cfg.auth_method == "kubernetes":
        cfg.role = os.environ.get("VAULT_SIDEKICK_ROLE", cfg.role)
        cfg.token_file = os.environ.get("VAULT_K8S_TOKEN_PATH", cfg.token_file)
        cfg.login_path = os.environ.get("VAULT_K8S_LOGIN_PATH", cfg.login_path)
    elif cfg.auth_method == "approle":
        cfg.login_path = os.environ.get("VAULT_APPROLE_LOGIN_PATH", cfg.login_path)


def check_auth_file(cfg: Config) -> dict[str, object]:
    """The auth file must be readable and a mapping at startup (exit 2 otherwise)."""
    what = "authentication file"
    data, _ = structured.parse(structured.read_bounded(cfg.auth_file, what), cfg.auth_file, what)
    if isinstance(data, str) and data.strip() and cfg.auth_method == "token":
        return {"method": "token"}  # a bare token file
    if not isinstance(data, dict):
        raise SidekickConfigError(f"{cfg.auth_file}: the authentication file must be a JSON/YAML mapping "
                                  "like {\"method\": \"userpass\", \"username\": ..., \"password\": ...}")
    return data


def _ci(data: dict[str, object], key: str) -> object:
    """Case-insensitive lookup: vault-sidekick (Go) accepted Username as well as username."""
    if key in data:
        return data[key]
    lower = key.lower()
    for k, value in data.items():
        if str(k).lower() == lower:
            return value
    return None
