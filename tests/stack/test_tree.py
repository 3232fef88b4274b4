"""The YAML loader behind every finding's file:line (vaultconf.config.tree)."""

from __future__ import annotations

import pytest
from vaultconf.config.findings import UnusableInput
from vaultconf.config.tree import LocDict, load_text, plain


def test_lines_of_keys_and_items() -> None:
    doc = load_text("# c\nusers:\n  - name: a\n    policies: [p]\n  - name: b\n", "u.yaml")
    assert isinstance(doc, LocDict) and doc.locate("users").line == 2
    users = doc["users"]
    assert [users.locate(i).line for i in range(2)] == [3, 5]
    assert users[0].locate("policies").line == 4 and str(users[1].locate("name")) == "u.yaml:5"


def test_scalars_typed_as_the_safe_loader_does() -> None:
    text = "a: 1\nb: 0o17\nc: 1.5e3\nd: yes\ne: true\nf: ~\ng: 2026-01-01\nh: '01'\ni: !vault x\n"
    doc = load_text(text, "f")
    assert plain(doc) == {"a": 1, "b": 15, "c": 1500.0, "d": "yes", "e": True, "f": None,
                          "g": "2026-01-01", "h": "01", "i": "x"}


def test_yaml_1_2_core_schema_not_yaml_1_1() -> None:
    """`no`, `on`, `017`, `1:30` are the YAML 1.1 traps (the "Norway problem"); editors read 1.2."""
    text = "a: no\nb: on\nc: 017\nd: 1:30\ne: 0x1F\nf: -.inf\ng: 1_000\nh: !!int '7'\ni: !!bool 'true'\n"
    assert plain(load_text(text, "f")) == {"a": "no", "b": "on", "c": 17, "d": "1:30", "e": 31,
                                           "f": float("-inf"), "g": "1_000", "h": 7, "i": True}


def test_merge_keys_and_anchors() -> None:
    doc = load_text("d: &d {a: 1, b: 2}\ne: &e {a: 5}\nx:\n  <<: [*e, *d]\n  b: 3\ny: *d\n", "f")
    assert plain(doc["x"]) == {"a": 5, "b": 3} and doc["x"].locate("b").line == 5
    assert plain(doc["y"]) == {"a": 1, "b": 2}


@pytest.mark.parametrize(("text", "line", "message"), [
    ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a'"),
    ("a: !!int abc\n", 1, "not a valid !!int"),
    ("a: &a [*a]\n", 1, "alias refers to a node that contains it"),
    ("a: 1\n---\nb: 2\n", 2, "invalid YAML"),
    ("a: [1, 2\n", 2, "invalid YAML"),
    ("d: &d [1]\nx:\n  <<: *d\n", 1, "merges mappings only"),
    ("a:" + " [" * 70 + " ]" * 70 + "\n", 1, "nesting deeper than 64"),
])
def test_bad_yaml_is_one_error_with_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(UnusableInput) as info:
        load_text(text, "bad.yaml")
    assert info.value.loc.file == "bad.yaml" and info.value.loc.line == line, str(info.value)
    assert message in str(info.value)


def test_an_alias_used_many_times_is_built_once() -> None:
    # five levels of nine aliases: 9**5 leaves if each alias were expanded, built as shared values
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 5)]
    doc = load_text("\n".join(lines) + "\n", "f")
    assert doc["l4"][0] is doc["l4"][1] and doc["l4"][0][0] is doc["l3"][0]


def test_an_alias_bomb_is_refused_before_it_is_walked() -> None:
    # nine levels of nine aliases: 9**9 (387 million) leaves; every later walk (merge, schema) would
    # visit each one, so the expanded size is bounded at load time (tests/stack/test_hostile_config.py
    # runs the CLI on it under a memory limit)
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    with pytest.raises(UnusableInput, match="expands to more than") as exc:
        load_text("\n".join(lines) + "\n", "f")
    assert exc.value.loc.line == 7  # the first value past the budget: 9**7 leaves
