"""A small JSON Schema checker for the sidekick's own schema (config.schema.json).

`jsonschema` costs ~10 MiB RSS and several dependencies, half the sidekick's memory budget, so the sidekick
checks its config with this instead. It implements exactly the keywords the schema uses (listed in the
schema's description) with draft 2020-12 semantics, and refuses a schema that uses any other keyword, so the
schema can never say more than what is enforced. tests/sidekick/test_contract_schema.py proves, on generated
documents, that it accepts and refuses exactly what `jsonschema` does.

A refusal is one SidekickConfigError naming the dotted field (`resources[0].update`); the caller adds the
file and line.
"""

from __future__ import annotations

import re

from .errors import SidekickConfigError

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true
if TYPE_CHECKING:
    from typing import Any

ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "title", "description"})
KEYWORDS = frozenset({"type", "enum", "const", "pattern", "minLength", "minimum", "maximum", "minItems",
                      "properties", "additionalProperties", "required", "items", "propertyNames", "anyOf",
                      "allOf", "if", "then", "$ref"})


class Invalid(SidekickConfigError):
    """A refusal, with the dotted field it concerns (`field`) and the problem alone (`problem`)."""

    def __init__(self, field: str, problem: str) -> None:
        # "unknown field 'x'" and "x is required" name the field themselves
        named = problem.startswith("unknown field") or problem.endswith("is required")
        super().__init__(problem if named else f"{field or 'the file'}: {problem}")
        self.field = field
        self.problem = problem


def _is_type(value: Any, name: str) -> bool:
    # JSON's types, not Python's: a bool is no number, and 2.0 is an integer (draft 2020-12)
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "string":
        return isinstance(value, str)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return name == "number" or isinstance(value, int) or float(value).is_integer()


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Checker:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.root = schema
        self._patterns: dict[str, Any] = {}
        self._audit(schema, "#")

    def _audit(self, node: Any, where: str) -> None:
        """Every keyword must be one this checker implements (the schema cannot out-say the checker)."""
        if not isinstance(node, dict):
            return
        unknown = set(node) - KEYWORDS - ANNOTATIONS
        if unknown:
            raise ValueError(f"{where}: keyword {sorted(unknown)[0]!r} is not implemented by schema_check")
        for key in ("properties", "$defs"):
            for name, sub in (node.get(key) or {}).items():
                self._audit(sub, f"{where}/{key}/{name}")
        for key in ("items", "additionalProperties", "propertyNames", "if", "then"):
            self._audit(node.get(key), f"{where}/{key}")
        for key in ("anyOf", "allOf"):
            for i, sub in enumerate(node.get(key) or []):
                self._audit(sub, f"{where}/{key}/{i}")

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        if ref is None:
            return node
        target: Any = self.root
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        return target

    def check(self, value: Any, node: dict[str, Any] | None = None, field: str = "") -> None:
        """Raise Invalid for the first place `value` breaks the schema (the root schema by default)."""
        node = self.root if node is None else node
        if "$ref" in node:
            target = self.resolve(node)
            try:
                self.check(value, target, field)
            except Invalid as exc:
                if "title" in node and "title" not in target and exc.field == field:
                    raise Invalid(field, f"{_shown(value)} is not {node['title']}") from None
                raise
        if "anyOf" in node:
            self._any_of(value, node, field)
        if "type" in node:
            types: list[str] = node["type"] if isinstance(node["type"], list) else [node["type"]]
            if not any(_is_type(value, t) for t in types):
                words = " or ".join(_TYPE_WORDS.get(t) or t for t in types)
                title = node.get("title")
                raise Invalid(field, f"{_shown(value)} is not {title}" if title else f"must be {words}")
        if "const" in node and not _equal(value, node["const"]):
            raise Invalid(field, f"must be {node['const']!r}")
        if "enum" in node and not any(_equal(value, option) for option in node["enum"]):
            key = field.rsplit(".", 1)[-1] or "value"
            words = ", ".join(dict.fromkeys(str(o) for o in node["enum"]
                                            if o is not None and not isinstance(o, bool)))
            raise Invalid(field, f"unknown {key} {_shown(value)}; use one of {words}")
        if isinstance(value, str):
            self._string(value, node, field)
        elif _is_type(value, "number"):
            if "minimum" in node and value < node["minimum"]:
                raise Invalid(field, f"must be >= {node['minimum']}, got {_shown(value)}")
            if "maximum" in node and value > node["maximum"]:
                raise Invalid(field, f"must be <= {node['maximum']}, got {_shown(value)}")
        elif isinstance(value, list):
            if len(value) < node.get("minItems", 0):
                title = node.get("title")
                raise Invalid(field, f"{_shown(value)} is not {title}" if title
                              else f"needs at least {node['minItems']} item(s)")
            if "items" in node:
                for i, item in enumerate(value):
                    self.check(item, node["items"], f"{field}[{i}]")
        elif isinstance(value, dict):
            self._object(value, node, field)
        for rule in node.get("allOf") or ():  # cross-field rules: if this holds, then that must
            self.check(value, rule, field)
        if "if" in node:
            try:
                self.check(value, node["if"], field)
            except Invalid:
                return
            if "then" in node:
                try:
                    self.check(value, node["then"], field)
                except Invalid as exc:  # the rule's own words say it best
                    raise Invalid(field, node["then"]["title"]) if "title" in node["then"] else exc from None

    def _any_of(self, value: Any, node: dict[str, Any], field: str) -> None:
        deepest: Invalid | None = None
        for option in node["anyOf"]:
            try:
                self.check(value, option, field)
                return
            except Invalid as exc:
                if exc.field != field and (deepest is None or len(exc.field) > len(deepest.field)):
                    deepest = exc  # an option of the right shape failed inside: that is the real problem
        if deepest is not None:
            raise deepest
        raise Invalid(field, f"{_shown(value)} is not {node.get('title', 'allowed here')}")

    def _string(self, value: str, node: dict[str, Any], field: str) -> None:
        if len(value) < node.get("minLength", 0):
            raise Invalid(field, "must not be empty")
        pattern = node.get("pattern")
        if pattern is not None:
            regex = self._patterns.get(pattern)
            if regex is None:
                regex = self._patterns[pattern] = re.compile(pattern)
            if not regex.search(value):
                raise Invalid(field, f"{_shown(value)} is not {node.get('title', 'in the expected form')}")

    def _object(self, value: dict[str, Any], node: dict[str, Any], field: str) -> None:
        props = node.get("properties") or {}
        extra = node.get("additionalProperties", True)
        names = node.get("propertyNames")
        for key in value:
            name = f"{field}.{key}" if field else str(key)
            if names is not None:
                try:
                    self.check(key, names, name)
                except Invalid:
                    raise Invalid(field, f"{_shown(value)} is not {node.get('title', 'allowed here')}"
                                  ) from None
            if key not in props and extra is False:
                import difflib

                close = difflib.get_close_matches(str(key), sorted(props), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(sorted(props))}"
                raise Invalid(name, f"unknown field {name!r}{hint}")
        for key in node.get("required") or ():
            if key not in value:
                name = f"{field}.{key}" if field else key
                raise Invalid(name, f"{name} is required")
        for key, item in value.items():
            name = f"{field}.{key}" if field else str(key)
            if key in props:
                self.check(item, props[key], name)
            elif isinstance(extra, dict):
                self.check(item, extra, name)


_TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "text", "integer": "a whole number",
               "number": "a number", "boolean": "true or false", "null": "empty"}
