"""The sidekick's config schema (sidekick/config.schema.json) and its small checker (sidekick.schema_check).

The sidekick cannot afford `jsonschema` at run time (memory), so it checks its config with a checker of its
own; these tests prove that checker accepts and refuses exactly what `jsonschema` does with the same schema,
on documents generated from the schema itself (valid ones, and ones broken in every field).
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sidekick import contract
from sidekick.config_file import checker
from sidekick.schema_check import Checker, Invalid

SCHEMA = contract.schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

# Values that are valid somewhere and wrong elsewhere: the near misses a hand-written file holds.
POOL: list[Any] = [
    None, True, False, 0, 1, 2, 2.0, 0.5, 0.95, 0.05, -1, 1.5, 70000, "", " ", "x", "5m", "1h30m", "500ms",
    "1.5h", "30", "-5s", "often", "0600", "600", "0o640", "0666", "yes", "off", "TRUE", "HUP", "usr1",
    "kv", "pki", "raw", "json", "yml", "XML", "userpass", "http://a", "https://v:8200", "ftp://x", "/bin/x",
    "a b", "/", "db@x", "bad name", [], {}, ["a"], [1], [True], ["/bin/x", 2], {"A": "b"}, {"bad name": 1},
    {"A": 1.5}, {"A": True}, {"name": "HUP"}, {"url": "http://h"}, {"url": "ftp://h"}, {"method": "POST"},
]


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    target: Any = SCHEMA
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return target  # type: ignore[no-any-return]


def documents(node: dict[str, Any] | None = None, depth: int = 0) -> st.SearchStrategy[Any]:
    """Mostly shaped like the schema, sometimes a near miss from POOL, at every level."""
    node = _resolve(SCHEMA if node is None else node)
    junk = st.sampled_from(POOL).map(copy.deepcopy)
    options: list[st.SearchStrategy[Any]] = []
    if "anyOf" in node:
        options += [documents(option, depth) for option in node["anyOf"]]
    if "enum" in node:
        options.append(st.sampled_from(node["enum"]))
    types = node.get("type", [])
    types = types if isinstance(types, list) else [types]
    if "properties" in node and depth < 4:
        props = node["properties"]
        fields = {key: documents(sub, depth + 1) for key, sub in props.items()}

        @st.composite
        def mapping(draw: Any) -> dict[str, Any]:
            keys = draw(st.lists(st.sampled_from(sorted(props)), unique=True, max_size=len(props)))
            out = {key: draw(fields[key]) for key in keys}
            for key in node.get("required", []):
                if key not in out and draw(st.integers(0, 9)):
                    out[key] = draw(fields[key])
            if not draw(st.integers(0, 15)):
                out[draw(st.sampled_from(["formt", "nmae", "extra", "1"]))] = draw(junk)
            return out

        options.append(mapping())
    elif "additionalProperties" in node and isinstance(node["additionalProperties"], dict):
        options.append(st.dictionaries(st.sampled_from(["A", "APP_MODE", "bad name", "_x", "9x"]),
                                       documents(node["additionalProperties"], depth + 1), max_size=3))
    if "items" in node and depth < 4:
        options.append(st.lists(documents(node["items"], depth + 1), max_size=3))
    if "string" in types:
        options.append(st.sampled_from([p for p in POOL if isinstance(p, str)]))
    options += [junk, valid_documents(node, depth)]  # near misses beside valid siblings
    return st.one_of(*options)


def valid_documents(node: dict[str, Any] | None = None, depth: int = 0) -> st.SearchStrategy[Any]:
    """Documents the schema accepts: every branch, every type, every optional field."""
    node = _resolve(SCHEMA if node is None else node)
    if "anyOf" in node:
        return st.one_of(*[valid_documents(option, depth) for option in node["anyOf"]])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    types = node.get("type", [])
    if not types:  # no constraint: any JSON scalar
        return st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5))
    options: list[st.SearchStrategy[Any]] = []
    for kind in types if isinstance(types, list) else [types]:
        if kind == "null":
            options.append(st.none())
        elif kind == "boolean":
            options.append(st.booleans())
        elif kind == "integer":
            options.append(st.integers(node.get("minimum", -5), node.get("maximum", 70000)))
        elif kind == "number":
            low, high = node.get("minimum", -5), node.get("maximum", 1e6)
            options.append(st.floats(low, high))
            if int(-(-low // 1)) <= int(high):
                options.append(st.integers(int(-(-low // 1)), int(high)))
        elif kind == "string":
            pattern = node.get("pattern")
            text = st.from_regex(pattern) if pattern else st.text(max_size=12)
            options.append(text.filter(lambda t: len(t) >= node.get("minLength", 0)))
        elif kind == "array":
            options.append(st.lists(valid_documents(node.get("items", {}), depth + 1),
                                    min_size=node.get("minItems", 0), max_size=3))
        elif kind == "object" and "properties" in node:
            props = node["properties"]
            required = node.get("required", [])
            options.append(st.fixed_dictionaries(
                {key: valid_documents(props[key], depth + 1) for key in required},
                optional={key: valid_documents(sub, depth + 1) for key, sub in props.items()
                          if key not in required} if depth < 4 else {}).map(_cross_field))
        elif kind == "object":
            names = st.from_regex(node["propertyNames"]["pattern"]) if "propertyNames" in node else st.text()
            values = valid_documents(node.get("additionalProperties", {}), depth + 1)
            options.append(st.dictionaries(names, values, max_size=3))
    return st.one_of(*options)


def _cross_field(doc: dict[str, Any]) -> dict[str, Any]:
    """Meet the schema's allOf rules (a pki resource names its certificate, a template format has one)."""
    if doc.get("type") == "pki":
        doc["params"] = {**(doc.get("params") or {}), "common_name": "a.example"}
    if doc.get("format") == "template" and "template" not in doc and "template_file" not in doc:
        doc["template"] = "{{ x }}"
    return doc


def verdict(doc: Any) -> bool:
    try:
        checker().check(doc)
    except Invalid:
        return False
    return True


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_the_checker_agrees_with_jsonschema(doc: Any) -> None:
    expected = VALIDATOR.is_valid(doc)
    assert verdict(doc) == expected, (doc, [e.message for e in VALIDATOR.iter_errors(doc)][:3])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(documents(SCHEMA["$defs"]["resource"]), min_size=1, max_size=3))
def test_the_checker_agrees_on_resources(resources: list[Any]) -> None:
    doc = {"resources": resources}
    assert verdict(doc) == VALIDATOR.is_valid(doc), doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_documents())
def test_every_valid_document_is_accepted(doc: Any) -> None:
    assert VALIDATOR.is_valid(doc), doc  # the generator's own check
    assert verdict(doc), doc


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_cross_field_rules_speak_for_themselves() -> None:
    with pytest.raises(Invalid, match=r"resources\[0\]: a pki resource needs the common_name"):
        checker().check({"resources": [{"name": "a", "type": "pki", "path": "pki/issue/x", "params": {}}]})
    with pytest.raises(Invalid, match=r"format template needs `template` \(inline\) or `template_file`"):
        checker().check({"resources": [{"name": "a", "type": "kv", "path": "kv/a", "format": "template"}]})


def test_a_keyword_the_checker_does_not_implement_is_refused() -> None:
    with pytest.raises(ValueError, match="'oneOf' is not implemented"):
        Checker({"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}]}}})


def test_json_equality_keeps_booleans_apart_from_numbers() -> None:
    check = Checker({"enum": [1, 2, "1"]})
    check.check(1.0)
    with pytest.raises(Invalid):
        check.check(True)


def test_the_word_lists_come_from_the_schema() -> None:
    resource = SCHEMA["$defs"]["resource"]["properties"]
    assert tuple(resource["type"]["enum"]) == contract.TYPES
    assert tuple(resource["format"]["enum"]) == contract.FORMATS
    assert set(contract.CAPABILITIES) == set(contract.TYPES)  # every type has its capability


def test_the_schema_is_published_with_the_package() -> None:
    import tomllib

    from tests.support.engines import ROOT

    data = tomllib.loads((ROOT / "sidekick_image" / "pyproject.toml").read_text())
    assert "config.schema.json" in data["tool"]["setuptools"]["package-data"]["sidekick"]
