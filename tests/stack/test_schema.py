"""The published JSON Schema is current, valid draft 2020-12, and accepts every shipped file on its own."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml
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
