"""Rendering a secret's data into file contents. Pure functions: (resource, data) → [(file, bytes)].

The default names follow vault-sidekick: cert → FILE.crt/.key/.ca, bundle → FILE-bundle.pem, FILE.pem,
FILE-ca.pem, FILE-key.pem, txt with several keys → FILE.KEY.
"""

from __future__ import annotations

import binascii  # not base64: it imports struct; b64decode(validate=True) is this call
import json
import re

from .errors import VaultRequestError
from .outputs import OutputRefused, shown

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true

if TYPE_CHECKING:
    from typing import Any, NoReturn

    from .config import Resource


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _need(data: dict[str, Any], key: str, res: Resource) -> str:
    if key not in data:
        raise VaultRequestError(f"resource {res.name}: format {res.format} needs the key {key!r} in the "
                                "secret", 200)
    return _text(data[key])


def _nl(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _yaml(data: dict[str, Any]) -> bytes:
    """YAML without PyYAML (~1 MiB RSS): one `key: value` line per key, each scalar a JSON
    double-quoted string or literal, nested values in JSON flow style; JSON's escapes are valid YAML."""
    lines = [f"{json.dumps(str(key), ensure_ascii=False)}: {_flow(data[key])}\n" for key in sorted(data)]
    # characters YAML forbids raw, or reads as line breaks, go as \u escapes (they occur only in strings)
    out = _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", "".join(lines))
    return out.encode() if lines else b"{}\n"


def _flow(value: Any) -> str:
    """One value in YAML flow style that YAML 1.1 (PyYAML) and 1.2 readers both parse back to it."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)}: {_flow(value[k])}"
                               for k in sorted(value)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return ".nan" if value != value else (".inf" if value > 0 else "-.inf")
        text = repr(value)
        mantissa, e, exponent = text.partition("e")
        # YAML 1.1 reads 1e-05 as a string: its floats need a dot in the mantissa
        return f"{mantissa}.0e{exponent}" if e and "." not in mantissa else text
    return json.dumps(value, ensure_ascii=False)


_YAML_UNSAFE = re.compile("[\x7f-\x9f\ud800-\udfff\ufffe\uffff\u2028\u2029]")


def _env_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


# Names a shell or the dynamic loader interprets, or that bash itself sets or ignores when assigned:
# a secret key may not become one of them (BASH_ENV/ENV are expanded, command substitution included, by
# every later non-interactive shell; PATH, IFS, SHELLOPTS or LC_* change what the rest of the file and
# the app's shells do; RANDOM, SECONDS, UID ... do not keep what is assigned). Bash manual, "Shell
# Variables"; POSIX "Shell Variables".
_RESERVED_NAMES = """
    CDPATH COLUMNS COMPREPLY COPROC DIRSTACK EMACS ENV EPOCHREALTIME EPOCHSECONDS EUID EXECIGNORE FCEDIT
    FIGNORE FUNCNAME FUNCNEST GLOBIGNORE GROUPS HISTCMD HISTCONTROL HISTFILE HISTFILESIZE HISTIGNORE
    HISTSIZE HISTTIMEFORMAT HOSTFILE HOSTNAME HOSTTYPE IFS IGNOREEOF INPUTRC INSIDE_EMACS LANG
    LANGUAGE LINENO LINES MACHTYPE MAIL MAILCHECK MAILPATH MAPFILE NLSPATH OLDPWD OPTARG OPTERR OPTIND
    OSTYPE PATH PIPESTATUS POSIXLY_CORRECT PPID PROMPT_COMMAND PROMPT_DIRTRIM PS0 PS1 PS2 PS3 PS4 PWD
    RANDOM REPLY SECONDS SHELL SHELLOPTS SHLVL SRANDOM TIMEFORMAT TMOUT UID _
"""
_SHELL_RESERVED = frozenset(_RESERVED_NAMES.split())
_SHELL_RESERVED_PREFIXES = ("BASH", "COMP_", "LC_", "LD_", "DYLD_", "READLINE_")
_SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _env(res: Resource, data: dict[str, Any]) -> bytes:
    """KEY='value' lines that `set -a; . FILE` reads back exactly and that never run anything: keys are
    shell identifiers (upper-cased, as vault-sidekick does), values single-quoted (nothing expands inside
    single quotes; a quote is closed, escaped and reopened)."""
    names: dict[str, str] = {}
    lines = []
    for key in sorted(data):
        if not _SHELL_NAME.fullmatch(key):
            _refuse(res, f"key {shown(key)} is not a shell variable name ([A-Za-z_][A-Za-z0-9_]*)")
        name = key.upper()
        if name in _SHELL_RESERVED or name.startswith(_SHELL_RESERVED_PREFIXES):
            _refuse(res, f"key {shown(key)} would set {name}, which the shell or the loader interprets")
        if name in names:
            _refuse(res, f"keys {shown(names[name])} and {shown(key)} are both the variable {name}")
        names[name] = key
        value = _text(data[key])
        if "\x00" in value:
            _refuse(res, f"the value of {shown(key)} holds a NUL byte, which a shell variable cannot")
        lines.append(f"{name}={_env_quote(value)}\n")
    return _utf8(res, "".join(lines))


_INI_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@+/~-]*")
# line breaks of any reader (str.splitlines too), other control characters
_LINE_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")


def _ini(res: Resource, data: dict[str, Any]) -> bytes:
    """`key = value` lines without a section (vault-sidekick's ini). configparser (interpolation off:
    values are raw, a `%` is a `%`) reads them back exactly; what it could not is refused: keys other
    than [A-Za-z0-9_][A-Za-z0-9_.@+/~-]*, two keys equal but for case (ini readers fold case), values with
    a line break or control character (they would start a new line: a section or another key) or with
    leading or trailing whitespace (readers strip it)."""
    seen: dict[str, str] = {}
    lines = []
    for key in sorted(data):
        if not _INI_KEY.fullmatch(key):
            _refuse(res, f"key {shown(key)} is not an ini key ([A-Za-z0-9_][A-Za-z0-9_.@+/~-]*)")
        if key.lower() in seen:
            _refuse(res, f"keys {shown(seen[key.lower()])} and {shown(key)} differ only in case")
        seen[key.lower()] = key
        value = _text(data[key])
        if _LINE_UNSAFE.search(value) or value != value.strip():
            _refuse(res, f"the value of {shown(key)} has a line break, a control character or "
                         "surrounding whitespace, which an ini file cannot hold")
        lines.append(f"{key} = {value}\n")
    return _utf8(res, "".join(lines))


def _csv_field(res: Resource, value: str) -> str:
    if "\x00" in value:
        _refuse(res, "a key or value holds a NUL byte, which CSV readers reject")
    if _LINE_UNSAFE.search(value) or any(c in value for c in ',"') or value != value.strip():
        return '"' + value.replace('"', '""') + '"'  # RFC 4180: anything inside quotes, quotes doubled
    return value


_AWS_VALUE = re.compile(r"[!-~]*")


def _aws(res: Resource, data: dict[str, Any]) -> bytes:
    """An AWS credentials file. Values are refused unless printable ASCII without spaces: a line break
    would let the secret add keys such as `credential_process`, which the SDKs run as a command."""
    pairs = [("aws_access_key_id", _need(data, "access_key", res)),
             ("aws_secret_access_key", _need(data, "secret_key", res))]
    token = data.get("security_token") or data.get("session_token")
    if token:
        pairs += [("aws_session_token", _text(token)), ("aws_security_token", _text(token))]
    for name, value in pairs:
        if not _AWS_VALUE.fullmatch(value):
            _refuse(res, f"{name} has whitespace, a line break or a non-ASCII character")
    return ("[default]\n" + "".join(f"{name}={value}\n" for name, value in pairs)).encode()


def _refuse(res: Resource, why: str) -> NoReturn:
    raise OutputRefused(f"resource {res.name}: format {res.format}: {why}; nothing was written")


def _utf8(res: Resource, text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which JSON's \ud800 escape can produce
        _refuse(res, "a key or value is not valid unicode (a lone surrogate)")


def file_names(res: Resource) -> tuple[list[str], str]:
    """The files a resource writes: the names fixed by its configuration, and, for a format that names
    files after keys, the prefix such names start with (followed by exactly one key). One definition,
    used by `render`, by the clash check at start and by the writer's ownership check."""
    base, fmt = res.filename, res.format
    if fmt == "cert":
        return [f"{base}.crt", f"{base}.key", f"{base}.ca"], ""
    if fmt == "certchain":
        return [f"{base}-cert-chain.pem", f"{base}.pem", f"{base}-ca.pem", f"{base}-key.pem"], ""
    if fmt == "bundle":
        return [f"{base}-bundle.pem", f"{base}.pem", f"{base}-ca.pem", f"{base}-key.pem"], ""
    return [base], (f"{base}." if fmt == "txt" else "")


# Formats whose files are one certificate with its key and chain: a reader must never pair a new key with
# an old certificate, so they switch together behind one symlink (swap.py). Other multi-file output
# (`txt` FILE.KEY) names its files after the secret's keys, which may come and go: written file by file.
_SWITCHED_TOGETHER = frozenset({"cert", "certchain", "bundle"})


def switched_together(res: Resource) -> bool:
    return res.format in _SWITCHED_TOGETHER


def render(res: Resource, data: dict[str, Any], everything: dict[str, dict[str, Any]] | None = None
           ) -> list[tuple[str, bytes]]:
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        _refuse(res, "the secret is not a JSON object")
    fmt = res.format
    base = res.filename
    names, _ = file_names(res)
    keys = sorted(data)
    if fmt == "json":
        return [(base, (json.dumps(data, indent=4, sort_keys=True) + "\n").encode())]
    if fmt in ("yaml", "yml"):
        return [(base, _yaml(data))]
    if fmt == "env":
        return [(base, _env(res, data))]
    if fmt == "ini":
        return [(base, _ini(res, data))]
    if fmt == "csv":
        rows = (f"{_csv_field(res, k)},{_csv_field(res, _text(data[k]))}\n" for k in keys)
        return [(base, _utf8(res, "".join(rows)))]
    if fmt == "txt":
        # each key names a file (FILE.KEY): the writer refuses a key that is not one safe file name
        if len(keys) == 1:
            return [(base, _utf8(res, _text(data[keys[0]])))]
        return [(f"{base}.{k}", _utf8(res, _text(data[k]))) for k in keys]
    if fmt == "cert":
        texts = [_nl(_need(data, k, res)) for k in ("certificate", "private_key", "issuing_ca")]
        return [(name, _utf8(res, text)) for name, text in zip(names, texts, strict=True)]
    if fmt == "certchain":
        chain: list[Any] = data.get("ca_chain") or [data.get("issuing_ca", "")]
        if not isinstance(chain, list):
            _refuse(res, "ca_chain is not a list")
        cert = _nl(_need(data, "certificate", res))
        ca = _nl(_need(data, "issuing_ca", res))
        chained = cert + "".join(_nl(_text(c)) for c in chain)
        texts = [chained, cert, ca, _nl(_need(data, "private_key", res))]
        return [(name, _utf8(res, text)) for name, text in zip(names, texts, strict=True)]
    if fmt == "bundle":
        cert = _nl(_need(data, "certificate", res))
        key = _nl(_need(data, "private_key", res))
        ca = _nl(_need(data, "issuing_ca", res))
        texts = [cert + ca + key, cert, ca, key]
        return [(name, _utf8(res, text)) for name, text in zip(names, texts, strict=True)]
    if fmt == "aws":
        return [(base, _aws(res, data))]
    if fmt == "credential":
        try:
            raw = binascii.a2b_base64(_need(data, "private_key_data", res).encode("ascii"), strict_mode=True)
        except ValueError:
            raise VaultRequestError(f"resource {res.name}: private_key_data is not base64", 200) from None
        return [(base, raw)]
    if fmt == "template":
        return [(base, _utf8(res, render_template(res, data, everything or {})))]
    raise VaultRequestError(f"resource {res.name}: unknown format {fmt}", 0)


_ENV: Any = None


def render_template(res: Resource, data: dict[str, Any], everything: dict[str, dict[str, Any]]) -> str:
    """Sandboxed Jinja2 (imported only when a template output exists: ~5 MiB RSS)."""
    global _ENV
    if _ENV is None:
        from jinja2 import StrictUndefined
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        _ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                                             keep_trailing_newline=True)
    source = res.template
    if not source:
        with open(res.template_file, encoding="utf-8") as fh:
            source = fh.read()
    from jinja2 import TemplateError

    try:
        return str(_ENV.from_string(source).render(data=data, secrets=everything, **_safe_names(data)))
    except TemplateError as exc:
        # The message names the template problem (a missing key, a syntax error), not secret values.
        raise OutputRefused(f"resource {res.name}: template error: {exc.__class__.__name__}: "
                            f"{str(exc)[:200]}") from None
    except (ArithmeticError, LookupError, TypeError, ValueError, RecursionError) as exc:
        # what a template's own expressions raise on unexpected data: the class only (a message could
        # quote a value); the resource fails, the others go on
        raise OutputRefused(f"resource {res.name}: template error: {exc.__class__.__name__}") from None


def _safe_names(data: dict[str, Any]) -> dict[str, Any]:
    """The resource's own keys as top-level names (vault-sidekick templates use {{ .key }})."""
    return {k: v for k, v in data.items() if k.isidentifier() and k not in ("data", "secrets")}
