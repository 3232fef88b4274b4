"""Schema validation of the merged tree, reported at the file and line each value came from.

Two validators, one verdict: fastjsonschema (the schema compiled to Python, ~7x faster on a large config)
says whether the tree is valid; only when it is not does jsonschema, the reference implementation, walk it
again to describe every error. The schema uses draft-07 keywords only, which both read the same way; where
fastjsonschema is stricter (it checks `format`, and anchors patterns at the very end) jsonschema has the last
word, so the fast path can cost time but never an error.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

from .findings import Finding, field_path
from .schema_def import (
    DNS_LABEL,
    DNS_SUBDOMAIN,
    LABEL_KEY,
    LOWER_NAME,
    MOUNT_PATTERN,
    NAME_PATTERN,
    TTL_PATTERN,
)
from .tree import locate

if TYPE_CHECKING:
    import jsonschema
    from jsonschema.exceptions import ValidationError

PATTERN_HINTS = {
    DNS_LABEL: "use at most 63 lowercase letters, digits and '-', starting and ending alphanumeric, "
    "e.g. team-a",
    DNS_SUBDOMAIN: "use lowercase letters, digits, '-' and '.', starting and ending alphanumeric, "
    "e.g. a.example",
    MOUNT_PATTERN: "use letters, digits, '_', '.', '-' with '/' between segments, e.g. pki-int",
    NAME_PATTERN: "use letters, digits, '_', '.', '-' (at most 63), starting alphanumeric, e.g. billing-api",
    LOWER_NAME: "use lowercase letters, digits, '_', '.', '@', '-' (Vault lowercases user and policy names), "
    "e.g. billing-api",
    TTL_PATTERN: "write whole seconds or a duration such as 90s, 30m, 72h, 1h30m, 2d",
    # the schema's other patterns: every hint says what to write, never the regex (a test checks all)
    r"^[A-Za-z0-9_.-]+$": "use letters, digits, '_', '.', '-', e.g. app-1",
    r"^[^\s/][^\s]*$": "write a path without spaces that does not start with '/', e.g. kv/data/app/db",
    r"^[^/\s][^\s]*$": "write a relative file name without spaces, e.g. db.json",
    r"^[^\s]+$": "write it without spaces, e.g. kv/data/app/*",
    r"^[!-~]{1,253}$": "write printable ASCII without spaces (at most 253), e.g. vault",
    LABEL_KEY: "write a label key such as app or example.com/tier (lowercase prefix, then up to 63 "
    "letters, digits, '-', '_', '.')",
    r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$": "write up to 63 letters, digits, '-', '_', '.', "
    "starting and ending alphanumeric, e.g. v1",
    r"^/": "write an absolute path, e.g. /etc/secrets",
    r"^[A-Z0-9]+$": "write the signal name in capitals without SIG, e.g. HUP",
    r"^[0-9A-Fa-f.:]+(/[0-9]{1,3})?$": "write an address or CIDR block, e.g. 10.0.0.0/8",
    r"^0?[0-7]{3}$": 'write an octal mode in quotes, e.g. "0600"',
    r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$": "write a path of letters, digits, '_', '.', '-' segments "
    "joined by '/', e.g. billing/db",
    r"^https?://": "write an http:// or https:// URL, e.g. https://vault.example:8200",
    r"^[A-Za-z_][A-Za-z0-9_]*$": "write a variable name of letters, digits and '_' (not starting with a "
    "digit), e.g. APP_MODE",
    # from the sidekick's schema (sidekick/config.schema.json), which the workload secrets derive from
    r"^[A-Za-z0-9_.@-]+$": "use letters, digits, '_', '.', '@', '-', e.g. db",
    r"[^/]": "write a Vault API path, not just '/', e.g. kv/data/app/db",
    r"^https?://[^/\s]+": "write an http:// or https:// URL with a host, e.g. http://127.0.0.1:8080/-/reload",
}
_EXAMPLES = {"string": '"..."', "integer": "1", "number": "1", "boolean": "true", "array": "[...]",
             "object": "{...}"}


def _example(sub: Any) -> str:
    """A value to write for a field of schema `sub` (never its regex or its description)."""
    if not isinstance(sub, dict):
        return "<value>"
    if "enum" in sub:
        return " | ".join(str(v) for v in sub["enum"][:6])
    if "const" in sub:
        return json.dumps(sub["const"])
    if "pattern" in sub and "e.g. " in PATTERN_HINTS.get(sub["pattern"], ""):
        return PATTERN_HINTS[sub["pattern"]].rsplit("e.g. ", 1)[1]
    if sub.get("pattern") == TTL_PATTERN:
        return "1h"
    for each in sub.get("anyOf", []) + sub.get("oneOf", []):
        if isinstance(each, dict) and each.get("pattern") == TTL_PATTERN:
            return "1h"
    kind = sub.get("type")
    kind = kind[0] if isinstance(kind, list) and kind else kind
    if kind in ("integer", "number") and "minimum" in sub:
        return str(sub["minimum"])
    return _EXAMPLES.get(str(kind), "<value>")


@functools.cache
def schema() -> dict[str, Any]:
    text = resources.files("vaultconf").joinpath("schema/vaultconf.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    import jsonschema  # ~0.13 s of imports, needed only to describe errors

    return jsonschema.Draft202012Validator(schema())


@functools.cache
def _fast_validator() -> Callable[[Any], Any] | None:
    """The schema compiled by fastjsonschema: generated into the package, never read from a user cache
    (vaultconf.config.schema_fast); None when fastjsonschema is not installed."""
    from . import schema_fast

    return schema_fast.load(schema())


def is_valid(tree: Any) -> bool | None:
    """The fast verdict: True/False, or None if it cannot be had (jsonschema decides alone)."""
    fast = _fast_validator()
    if fast is None:
        return None
    from fastjsonschema import JsonSchemaException

    try:
        fast(tree)
    except JsonSchemaException:
        return False
    return True


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(error: ValidationError) -> tuple[list[Any], str, str]:
    """(path, message, fix) for one leaf error."""
    path = list(error.absolute_path)
    validator = error.validator
    desc = error.schema.get("description", "") if isinstance(error.schema, dict) else ""
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        sub = error.schema.get("properties", {}).get(missing, {}) if isinstance(error.schema, dict) else {}
        return (
            path,
            f"missing required field '{missing}'",
            f"add `{missing}: {_example(sub)}`",
        )
    if validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {})) if isinstance(error.schema, dict) else []
        extra = (
            [k for k in (error.instance or {}) if k not in allowed]
            if isinstance(error.instance, dict)
            else []
        )
        key = extra[0] if extra else "?"
        return (
            [*path, key],
            f"unknown field '{key}'",
            f"remove it or fix the spelling; allowed: {', '.join(allowed)}",
        )
    if validator == "enum" and "propertyNames" in error.absolute_schema_path and "external" in (
        error.validator_value
    ):  # schema_def.owned_or_external: what an external object may carry
        return (
            path,
            f"{_short(error.instance)} is not set on an `external: true` object (its owning stack sets it)",
            f"remove it; an external object takes only: {', '.join(error.validator_value)}",
        )
    if validator == "enum":
        options = ", ".join(str(o) for o in error.validator_value)
        return path, f"{_short(error.instance)} is not allowed", f"use one of: {options}"
    if validator == "const":
        return path, f"{_short(error.instance)} is not allowed", f"use {error.validator_value!r}"
    if validator == "type":
        wanted = error.validator_value
        wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
        got = type(error.instance).__name__ if error.instance is not None else "null"
        got = {
            "dict": "mapping",
            "list": "list",
            "str": "string",
            "LocDict": "mapping",
            "LocList": "list",
        }.get(got, got)
        article = "an" if str(wanted)[:1] in "aeiou" else "a"
        fix = f"write {article} {wanted}, e.g. {_example(error.schema)}"
        return path, f"expected {wanted}, got {got}", fix
    if validator == "pattern":
        hint = PATTERN_HINTS.get(str(error.validator_value)) or "write it in the form docs/config.md shows"
        return path, f"{_short(error.instance)} has the wrong form", hint
    if validator in ("minProperties", "maxProperties") and "exactly one" in desc:
        keys = list(error.schema.get("properties", {}))
        return path, "needs exactly one of: " + ", ".join(keys), f"keep exactly one, e.g. {{{keys[0]}: NAME}}"
    if (
        validator == "oneOf"
        and isinstance(error.schema, dict)
        and error.schema.get("oneOf")
        == [
            {"required": ["rules"]},
            {"required": ["hcl"]},
        ]
    ):
        return path, "needs exactly one of `rules` or `hcl`", "keep structured rules or raw HCL, not both"
    if (
        validator == "anyOf"
        and isinstance(error.schema, dict)
        and "policy_document" in str(error.validator_value)
    ):
        return path, "needs policy_document, policy_arns or role_arns", "say what the AWS credentials may do"
    if validator == "uniqueItems":
        return path, "has duplicate entries", "list each value once"
    if validator in ("minItems", "minLength"):
        return path, "is empty", "add at least one value"
    if validator in ("minimum", "maximum"):
        bound = error.validator_value
        wanted = f"at least {bound}" if validator == "minimum" else f"at most {bound}"
        return path, f"{_short(error.instance)} is out of range", f"write a number {wanted}"
    message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
    return path, message, "write a value of the form docs/config.md shows for this field"


def _leaf(error: ValidationError) -> ValidationError:
    """For anyOf/oneOf failures prefer the most specific sub-error, except for our own "one of" shapes."""
    from jsonschema.exceptions import best_match

    if error.validator in ("anyOf", "oneOf") and error.context:
        shape = error.validator_value
        if isinstance(shape, list) and all(isinstance(s, dict) and set(s) == {"required"} for s in shape):
            return error
        # the branch whose type matched says what is wrong with the value; "expected integer" would not
        typed = [e for e in error.context if e.validator != "type"] or list(error.context)
        deeper = best_match(typed)
        return _leaf(deeper) if deeper is not None else error
    return error


def check(tree: Any) -> list[Finding]:
    if is_valid(tree):
        return []
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    errors = sorted(_validator().iter_errors(tree), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        path, message, fix = _describe(_leaf(error))
        field = field_path(path, tree)
        if (field, message) in seen:
            continue
        seen.add((field, message))
        findings.append(Finding("schema", locate(tree, path), field, message, fix))
    return findings
