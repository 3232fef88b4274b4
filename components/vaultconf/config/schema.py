"""Schema validation of the merged tree, reported at the file and line each value came from."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from .findings import Finding, field_path
from .schema_def import DNS_LABEL, DNS_SUBDOMAIN, LOWER_NAME, MOUNT_PATTERN, NAME_PATTERN, TTL_PATTERN
from .tree import locate

PATTERN_HINTS = {
    DNS_LABEL: "use at most 63 lowercase letters, digits and '-', starting and ending alphanumeric",
    DNS_SUBDOMAIN: "use lowercase letters, digits, '-' and '.', starting and ending alphanumeric",
    MOUNT_PATTERN: "use letters, digits, '_', '.', '-' with '/' between segments, e.g. pki-int",
    NAME_PATTERN: "use letters, digits, '_', '.', '-' (at most 63), starting alphanumeric",
    LOWER_NAME: "use lowercase letters, digits, '_', '.', '@', '-' (Vault lowercases user and policy names)",
    TTL_PATTERN: "write whole seconds or a duration such as 90s, 30m, 72h, 1h30m, 2d",
}


@functools.cache
def schema() -> dict[str, Any]:
    text = resources.files("vaultconf").joinpath("schema/vaultconf.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


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
            f"add `{missing}:` — {sub.get('description', '')}".rstrip(" —"),
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
        return path, f"expected {wanted}, got {got}", desc or f"write a {wanted}"
    if validator == "pattern":
        hint = PATTERN_HINTS.get(str(error.validator_value)) or desc or f"match {error.validator_value}"
        return path, f"{_short(error.instance)} has the wrong form", hint
    if validator in ("minProperties", "maxProperties") and "exactly one" in desc:
        return path, "needs exactly one of: " + ", ".join(error.schema.get("properties", {})), desc
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
        return path, "is empty", desc or "add at least one value"
    if validator in ("minimum", "maximum"):
        return path, f"{_short(error.instance)} is out of range", desc
    message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
    return path, message, desc


def _leaf(error: ValidationError) -> ValidationError:
    """For anyOf/oneOf failures prefer the most specific sub-error, except for our own "one of" shapes."""
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
