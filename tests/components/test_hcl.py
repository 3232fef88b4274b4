"""Structured rules → HCL."""

from __future__ import annotations

import pytest
from vaultconf.errors import ConfigError
from vaultconf.hcl import hcl_string, render_policy


def test_renders_path_blocks_sorted_with_canonical_capability_order() -> None:
    text = render_policy({"kv/data/b": ["list", "read", "read"], "kv/data/a/*": ["update", "create"]})
    assert text == (
        'path "kv/data/a/*" {\n  capabilities = ["create", "update"]\n}\n\n'
        'path "kv/data/b" {\n  capabilities = ["read", "list"]\n}\n'
    )


def test_parameters() -> None:
    rule = {
        "capabilities": ["update"],
        "allowed_parameters": {"ttl": ["1h", 2], "*": []},
        "denied_parameters": {"alt_names": []},
        "required_parameters": ["common_name"],
    }
    assert render_policy({"pki/issue/web": rule}) == (
        'path "pki/issue/web" {\n'
        '  capabilities = ["update"]\n'
        "  allowed_parameters = {\n"
        '    "*" = []\n'
        '    "ttl" = ["1h", 2]\n'
        "  }\n"
        "  denied_parameters = {\n"
        '    "alt_names" = []\n'
        "  }\n"
        '  required_parameters = ["common_name"]\n'
        "}\n"
    )


def test_same_rules_same_text_whatever_the_input_order() -> None:
    a = {"x/1": ["read"], "x/2": {"capabilities": ["list"], "allowed_parameters": {"b": [], "a": []}}}
    b = {"x/2": {"allowed_parameters": {"a": [], "b": []}, "capabilities": ["list"]}, "x/1": ["read"]}
    assert render_policy(a) == render_policy(b)


@pytest.mark.parametrize(
    ("raw", "quoted"),
    [
        ('a"b', r'"a\"b"'),
        ("a\\b", r'"a\\b"'),
        ("line\nbreak", r'"line\nbreak"'),
        ("${var}", r'"\u0024{var}"'),
        ("{{identity.entity.name}}", '"{{identity.entity.name}}"'),
    ],
)
def test_strings_cannot_break_out(raw: str, quoted: str) -> None:
    assert hcl_string(raw) == quoted


def test_escaped_parameter_values() -> None:
    text = render_policy({"kv/a": {"capabilities": ["create"], "allowed_parameters": {"k": ['"}\npath "x']}}})
    assert '"k" = ["\\"}\\npath \\"x"]' in text
    assert text.count("path ") == 2  # the block header and the escaped text inside the value, nothing more


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({}, "the policy is empty"),
        ({"kv/a": []}, "grants nothing"),
        ({"kv/a": ["write"]}, "unknown capability 'write'"),
        ({"kv/a": {"capabilities": ["read"], "required_parameters": "x"}}, "list of names"),
        ([["kv/a", ["read"]]], "must be a mapping"),
    ],
)
def test_bad_rules(rules: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        render_policy(rules, component="Policy 'p'")
    assert str(err.value).startswith("Policy 'p': field ")
    assert "Fix: " in str(err.value)
