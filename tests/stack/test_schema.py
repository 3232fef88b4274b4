"""The published JSON Schema is current, valid draft 2020-12, and accepts every shipped file on its own."""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from vaultconf.config import schema_def

from tests.stack._helpers import EXAMPLE, ROOT

PUBLISHED = ROOT / "components" / "vaultconf" / "schema" / "vaultconf.schema.json"


def test_published_schema_matches_the_generator() -> None:
    assert PUBLISHED.read_text() == schema_def.render(), "run: python -m vaultconf.config.schema_def"


def test_schema_is_valid_2020_12_with_descriptions() -> None:
    schema = json.loads(PUBLISHED.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for name, definition in schema["$defs"].items():
        assert definition.get("description"), name
        for prop, sub in definition.get("properties", {}).items():
            assert sub.get("description") or "$ref" in sub, f"{name}.{prop}"


@pytest.mark.parametrize(
    "path", sorted((EXAMPLE / "base").glob("*.yaml")), ids=lambda p: str(p.relative_to(EXAMPLE))
)
def test_each_shipped_base_file_validates_alone(path) -> None:  # type: ignore[no-untyped-def]
    doc = yaml.safe_load(path.read_text())  # overlays are partial by design: validated merged onto base
    jsonschema.Draft202012Validator(json.loads(PUBLISHED.read_text())).validate(doc)


def test_schema_is_shipped_as_package_data() -> None:
    from importlib import resources

    text = resources.files("vaultconf").joinpath("schema/vaultconf.schema.json").read_text()
    assert json.loads(text)["title"] == "vaultconf desired state"


# --- the fast verdict (fastjsonschema) never passes what jsonschema rejects --------------------------------

_JUNK = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.floats(allow_nan=False),
                  st.sampled_from(["", "bad name!", "UPPER", "x" * 300, "0s", "/lead", "a/../b", "1h"]),
                  st.lists(st.sampled_from(["read", "sudo", "", "x"]), max_size=3),
                  st.dictionaries(st.sampled_from(["name", "path", "rules", "bogus"]), st.text(max_size=5),
                                  max_size=2))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


@functools.cache
def _dev_tree() -> Any:
    from vaultconf.config.loader import load_tree
    from vaultconf.config.tree import plain

    return plain(load_tree(EXAMPLE, "dev")[0])


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_fast_verdict_never_accepts_what_jsonschema_rejects(data: st.DataObject) -> None:
    from vaultconf.config import schema

    tree = copy.deepcopy(_dev_tree())
    assert schema.is_valid(tree) is True and not list(schema._validator().iter_errors(tree))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(tree)))
        parent = tree
        for part in path[:-1]:
            parent = parent[part]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            parent[data.draw(st.sampled_from(["bogus", "name", "ttl", "policies"]))] = data.draw(_JUNK)
        else:
            parent[path[-1]] = data.draw(_JUNK)
    errors = list(schema._validator().iter_errors(tree))
    if schema.is_valid(tree):
        assert not errors, [e.message for e in errors]
    else:
        # stricter only where documented: `format`, or `$` anchoring before a final newline
        assert errors or _only_format_or_newline(tree), tree


def _only_format_or_newline(tree: Any) -> bool:
    text = json.dumps(tree)
    return "\\n" in text or "://" in text or "@" in text


def test_fast_validator_comes_from_the_package_never_a_user_cache(tmp_path: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12: bytecode from ~/.cache was exec'd unverified. The validator is now the package's generated
    module (when it matches the schema) or compiled in memory; nothing is read from or written to a cache."""
    from vaultconf.config import _schema_compiled, schema, schema_fast

    tree = _dev_tree()
    pristine = json.dumps(schema.schema(), sort_keys=True)
    cache = tmp_path / "cache"
    planted = cache / "vaultconf"
    planted.mkdir(parents=True)
    for name in ("schema-0.cpython-311.bin", "x.py"):  # whatever an attacker leaves there is never run
        (planted / name).write_bytes(b"raise SystemExit('ran code from the cache')")
    try:
        monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
        monkeypatch.setenv("HOME", str(tmp_path))
        schema._fast_validator.cache_clear()
        regenerate = "run: python -m vaultconf.config.schema_def"
        assert schema._fast_validator() is _schema_compiled.validate, regenerate
        assert schema.is_valid(tree) is True and schema.is_valid({"users": "x"}) is False
        # a stale generated module (a schema edit not yet regenerated) is not trusted: compiled in memory
        monkeypatch.setattr(_schema_compiled, "SCHEMA_DIGEST", "0" * 64)
        schema._fast_validator.cache_clear()
        assert schema._fast_validator() is not _schema_compiled.validate
        assert schema.is_valid(tree) is True and schema.is_valid({"users": "x"}) is False
        assert sorted(p.name for p in planted.iterdir()) == ["schema-0.cpython-311.bin", "x.py"]
        assert sorted(p.name for p in cache.iterdir()) == ["vaultconf"]
        assert json.dumps(schema.schema(), sort_keys=True) == pristine  # jsonschema's copy left alone
    finally:
        schema._fast_validator.cache_clear()
    assert schema_fast.PATH.read_text(encoding="utf-8") == schema_fast.render(schema.schema()), (
        "run: python -m vaultconf.config.schema_def"
    )
