"""The sidekick config the component library emits, held to the sidekick's own contract.

The sidekick package defines its config file once (sidekick/config.schema.json, read through
sidekick.contract); every secret, the timing block and the whole emitted config are checked against it
with jsonschema here, and the files each secret writes by the sidekick's own rules (sidekick.outputs), so
what `pulumi preview` accepts is what the sidekick accepts at the pod's start. Durations become seconds
here, once; the sidekick reads numbers.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict

import jsonschema
from sidekick import contract

from vaultconf.errors import ConfigError
from vaultconf.ttl import parse_ttl

# The sidekick's config file is defined once, by the sidekick package (sidekick/config.schema.json): what
# this module emits is checked against it, and the types, formats and capabilities come from it.
CONTRACT = contract.schema()
RESOURCE = CONTRACT["$defs"]["resource"]
TIMING = CONTRACT["properties"]["timing"]
TIMING_DURATIONS = tuple(k for k, v in TIMING["properties"].items() if v.get("$ref") == "#/$defs/duration")
class OnChange(TypedDict, total=False):
    """What the sidekick does after rewriting a file."""

    exec: Sequence[str | int]
    """argv, no shell (the sidekick's schema: strings or numbers, each passed as text)."""
    env: Mapping[str, str | int | float]
    """exec: variables added to the hook's scrubbed environment."""
    signal: Mapping[str, str]
    http: Mapping[str, str]
    timeout: int | str
    """Exec hook time limit (default 60s)."""
    debounce: int | str
    """A burst of changes within this time runs the hooks once (default 1s)."""


class SidekickSecret(TypedDict, total=False):
    """One secret the sidekick delivers (a `resources` entry of the sidekick config)."""

    name: str
    """Unique name (metrics, logs, default file name). Required."""
    type: Literal["kv", "pki", "aws", "secret", "write", "raw"]
    """Required: one of the sidekick's types (sidekick.contract.TYPES)."""
    path: str
    """Vault API path, e.g. "kv/data/team-a/db", PkiRole.issue_path, AwsRole.creds_path. Required."""
    kv_version: int
    version: int
    params: Mapping[str, Any]
    file: str
    """Relative to the output directory (default: the name)."""
    format: str
    template: str
    mode: str
    """Octal file mode (default "0640": the pod's fsGroup lets the app read it)."""
    update: int | str
    """Re-read interval: seconds, or a duration such as "5m" (emitted as seconds)."""
    renew: bool
    revoke: bool
    jitter: float
    on_change: OnChange


def _contract_error(error: jsonschema.ValidationError, who: str, where: str) -> ConfigError:
    """A refusal by the sidekick's schema, as the component library's one-line error."""
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    message = error.message
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    known = sorted(schema.get("properties") or {})
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        extra = sorted(str(k) for k in set(error.instance) - set(known))
        return ConfigError(who, f"{where}{path}.{extra[0]}", "unknown field", f"use {', '.join(known)}")
    if error.validator == "required" and isinstance(error.instance, Mapping):
        missing = [k for k in schema.get("required", ()) if k not in error.instance]
        return ConfigError(who, f"{where}{path}.{missing[0]}", "missing", f"set {', '.join(missing)}")
    hint = None
    while error is not None and not hint:  # the nearest description: an anyOf branch has none of its own
        part = error.schema if isinstance(error.schema, Mapping) else {}
        hint = part.get("description") or part.get("title")
        error = error.parent
    return ConfigError(who, f"{where}{path}", message, str(hint or "see the sidekick config contract"))


_VALIDATORS: dict[int, jsonschema.Draft202012Validator] = {}


def check(instance: Any, schema: Mapping[str, Any], who: str, where: str) -> None:
    """The first place `instance` breaks `schema` (a part of the sidekick's schema), as a ConfigError."""
    validator = _VALIDATORS.get(id(schema))
    if validator is None:  # a part of the schema, with the definitions its $refs name
        validator = jsonschema.Draft202012Validator({**schema, "$defs": CONTRACT["$defs"]})
        _VALIDATORS[id(schema)] = validator
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        raise _contract_error(error, who, where)


def resource_entry(secret: Any, index: int, who: str) -> dict[str, Any]:
    """One `resources` entry of the sidekick config: the sidekick's schema decides what is valid; here the
    durations become seconds (typed once, never re-parsed from "<n>s") and what only a pod needs is added:
    files inside the volume, a mode the app can read."""
    where = f"secrets[{index}]"
    if not isinstance(secret, Mapping):
        raise ConfigError(
            who,
            where,
            f"expected a mapping, got {secret!r}",
            'write e.g. {"name": "db", "type": "kv", "path": "kv/data/app/db"}',
        )
    unknown = sorted(set(secret) - set(SidekickSecret.__annotations__))
    if unknown:
        raise ConfigError(
            who, f"{where}.{unknown[0]}", "unknown field", f"use {', '.join(SidekickSecret.__annotations__)}"
        )
    entry = {k: v for k, v in secret.items() if v is not None}
    cmd = (entry.get("on_change") or {}).get("exec") if isinstance(entry.get("on_change"), Mapping) else None
    if isinstance(cmd, str):  # the sidekick would split it on spaces: here an argv is asked for
        raise ConfigError(
            who,
            f"{where}.on_change.exec",
            "must be a non-empty argv list (no shell)",
            'write e.g. ["/bin/app", "reload"]',
        )
    if "update" in entry:
        entry["update"] = parse_ttl(entry["update"], who, f"{where}.update")
    hooks = entry.get("on_change")
    if isinstance(hooks, Mapping):
        entry["on_change"] = json.loads(json.dumps(hooks))
        for key in ("timeout", "debounce"):
            if key in hooks:
                entry["on_change"][key] = parse_ttl(hooks[key], who, f"{where}.on_change.{key}")
    if "path" in entry and isinstance(entry["path"], str):
        entry["path"] = entry["path"].strip("/")
    mode = str(entry.get("mode", "0640"))
    entry["mode"] = mode if len(mode) != 3 else f"0{mode}"
    check(entry, RESOURCE, who, where)
    if not re.fullmatch(r"0[0-7]{3}", entry["mode"]):
        raise ConfigError(who, f"{where}.mode", f"{mode!r} is not an octal file mode", 'use e.g. "0640"')
    file = entry.get("file", entry["name"])
    if posixpath.isabs(file) or ".." in file.split("/"):
        raise ConfigError(
            who, f"{where}.file", f"{file!r} leaves the output directory", "use a relative path without '..'"
        )
    if entry.get("format") == "template" and not entry.get("template"):
        raise ConfigError(who, f"{where}.template", "format template needs a template", "add template")
    return entry


def timing_block(timing: Mapping[str, Any] | None, who: str) -> dict[str, Any]:
    """The config's `timing` block (docs/architecture.md): durations as seconds, the rest as the sidekick's
    schema says."""
    if not timing:
        return {}
    out = {k: parse_ttl(v, who, f"timing.{k}") if k in TIMING_DURATIONS else v for k, v in timing.items()}
    check(out, TIMING, who, "timing")
    return out


def check_files(config: Mapping[str, Any], who: str) -> None:
    """Every file each secret writes (a certificate's .crt/.key/.ca, an env file...), by the sidekick's own
    rules (sidekick.outputs.Claims): two secrets writing one file, or a name the sidekick reserves, are
    refused here, at `pulumi preview`, instead of by the sidekick at the pod's start."""
    from sidekick.config import Config
    from sidekick.config_file import apply
    from sidekick.errors import SidekickConfigError
    from sidekick.outputs import Claims

    cfg = apply(json.loads(json.dumps(config)), Config(), "sidekick config", lambda field: field)
    try:
        Claims.for_config(cfg)
    except SidekickConfigError as exc:
        raise ConfigError(who, "secrets", str(exc), "give each secret a file of its own (`file:`)") from None


def render_config(config: Mapping[str, Any]) -> str:
    """The config file text: JSON (valid YAML too), keys sorted so it only changes when the content does."""
    return json.dumps(config, indent=2, sort_keys=True) + "\n"
