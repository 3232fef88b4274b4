"""Rendering a secret's data into file contents. Pure functions: (resource, data) → [(file, bytes)].

The default names follow vault-sidekick: cert → FILE.crt/.key/.ca, bundle → FILE-bundle.pem, FILE.pem,
FILE-ca.pem, FILE-key.pem, txt with several keys → FILE.KEY.
"""

from __future__ import annotations

import base64
import json
import re

from .errors import VaultError

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true

if TYPE_CHECKING:
    from typing import Any

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
        raise VaultError(f"resource {res.name}: format {res.format} needs the key {key!r} in the secret", 200)
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


def _csv_field(value: str) -> str:
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def render(res: Resource, data: dict[str, Any], everything: dict[str, dict[str, Any]] | None = None
           ) -> list[tuple[str, bytes]]:
    fmt = res.format
    base = res.filename
    keys = sorted(data)
    if fmt == "json":
        return [(base, (json.dumps(data, indent=4, sort_keys=True) + "\n").encode())]
    if fmt in ("yaml", "yml"):
        return [(base, _yaml(data))]
    if fmt == "env":
        lines = "".join(f"{k.upper()}={_env_quote(_text(data[k]))}\n" for k in keys)
        return [(base, lines.encode())]
    if fmt == "ini":
        return [(base, "".join(f"{k} = {_text(data[k])}\n" for k in keys).encode())]
    if fmt == "csv":
        return [(base, "".join(f"{_csv_field(k)},{_csv_field(_text(data[k]))}\n" for k in keys).encode())]
    if fmt == "txt":
        if len(keys) == 1:
            return [(base, _text(data[keys[0]]).encode())]
        return [(f"{base}.{k}", _text(data[k]).encode()) for k in keys]
    if fmt == "cert":
        files = [(f"{base}.crt", _nl(_need(data, "certificate", res))),
                 (f"{base}.key", _nl(_need(data, "private_key", res))),
                 (f"{base}.ca", _nl(_need(data, "issuing_ca", res)))]
        return [(name, text.encode()) for name, text in files]
    if fmt == "certchain":
        chain: list[Any] = data.get("ca_chain") or [data.get("issuing_ca", "")]
        cert = _nl(_need(data, "certificate", res))
        ca = _nl(_need(data, "issuing_ca", res))
        chained = cert + "".join(_nl(_text(c)) for c in chain)
        pairs = [(f"{base}-cert-chain.pem", chained), (f"{base}.pem", cert), (f"{base}-ca.pem", ca),
                 (f"{base}-key.pem", _nl(_need(data, "private_key", res)))]
        return [(name, text.encode()) for name, text in pairs]
    if fmt == "bundle":
        cert = _nl(_need(data, "certificate", res))
        key = _nl(_need(data, "private_key", res))
        ca = _nl(_need(data, "issuing_ca", res))
        files = [(f"{base}-bundle.pem", cert + ca + key), (f"{base}.pem", cert), (f"{base}-ca.pem", ca),
                 (f"{base}-key.pem", key)]
        return [(name, text.encode()) for name, text in files]
    if fmt == "aws":
        rows = ["[default]", f"aws_access_key_id={_need(data, 'access_key', res)}",
                f"aws_secret_access_key={_need(data, 'secret_key', res)}"]
        token = data.get("security_token") or data.get("session_token")
        if token:
            rows += [f"aws_session_token={token}", f"aws_security_token={token}"]
        return [(base, ("\n".join(rows) + "\n").encode())]
    if fmt == "credential":
        try:
            raw = base64.b64decode(_need(data, "private_key_data", res), validate=True)
        except ValueError:
            raise VaultError(f"resource {res.name}: private_key_data is not base64", 200) from None
        return [(base, raw)]
    if fmt == "template":
        return [(base, render_template(res, data, everything or {}).encode())]
    raise VaultError(f"resource {res.name}: unknown format {fmt}", 0)


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
        raise VaultError(f"resource {res.name}: template error: {exc.__class__.__name__}: "
                         f"{str(exc)[:200]}", 0) from None


def _safe_names(data: dict[str, Any]) -> dict[str, Any]:
    """The resource's own keys as top-level names (vault-sidekick templates use {{ .key }})."""
    return {k: v for k, v in data.items() if k.isidentifier() and k not in ("data", "secrets")}
