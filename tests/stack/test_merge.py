"""Overlay merging: maps by key, named lists by name, null and _delete remove, other lists replace."""

from __future__ import annotations

import pathlib

from vaultconf.config import load_tree, validate
from vaultconf.config.tree import locate, plain

from tests.stack._helpers import write_tree

BASE = {
    "base/users.yaml": """
        users:
          - name: a
            policies: [p1, p2]
            namespaces: [team]
            token_ttl: 1h
          - name: b
            policies: [p1]
        policies:
          - name: p1
            rules: {kv/data/a/*: [read]}
          - name: p2
            rules:
              kv/data/b/*: [read]
              kv/data/c/*: [read]
        kv:
          - name: apps
            max_versions: 10
            cas_required: false
        """,
}


def test_named_lists_merge_by_name_and_append(tmp_path: pathlib.Path) -> None:
    root = write_tree(
        tmp_path,
        {
            **BASE,
            "dev/o.yaml": """
        users:
          - name: a
            token_ttl: 5m
          - name: c
            policies: [p1]
        """,
        },
    )
    tree = plain(load_tree(root, "dev")[0])
    assert [u["name"] for u in tree["users"]] == ["a", "b", "c"]
    assert tree["users"][0] == {
        "name": "a",
        "policies": ["p1", "p2"],
        "namespaces": ["team"],
        "token_ttl": "5m",
    }


def test_plain_lists_are_replaced_not_appended(tmp_path: pathlib.Path) -> None:
    root = write_tree(tmp_path, {**BASE, "dev/o.yaml": "users: [{name: a, policies: [p2]}]\n"})
    tree = plain(load_tree(root, "dev")[0])
    assert tree["users"][0]["policies"] == ["p2"]


def test_delete_marker_removes_a_named_item(tmp_path: pathlib.Path) -> None:
    root = write_tree(tmp_path, {**BASE, "dev/o.yaml": "users: [{name: b, _delete: true}]\n"})
    tree, findings, _ = load_tree(root, "dev")
    assert [u["name"] for u in tree["users"]] == ["a"]
    assert findings == []


def test_deleting_an_unknown_name_is_a_warning_with_its_line(tmp_path: pathlib.Path) -> None:
    root = write_tree(tmp_path, {**BASE, "dev/o.yaml": "users:\n  - name: zz\n    _delete: true\n"})
    _, findings, _ = load_tree(root, "dev")
    assert len(findings) == 1
    assert findings[0].severity.value == "warning"
    assert str(findings[0]).startswith(f"{root / 'dev' / 'o.yaml'}:2: warning: users[zz]")


def test_null_removes_a_key_and_map_keys_merge(tmp_path: pathlib.Path) -> None:
    root = write_tree(
        tmp_path,
        {
            **BASE,
            "dev/o.yaml": """
        users:
          - name: a
            token_ttl: null
        policies:
          - name: p2
            rules:
              kv/data/c/*: null
              kv/data/d/*: [read, list]
        """,
        },
    )
    tree = plain(load_tree(root, "dev")[0])
    assert "token_ttl" not in tree["users"][0]
    assert tree["policies"][1]["rules"] == {"kv/data/b/*": ["read"], "kv/data/d/*": ["read", "list"]}


def test_null_section_removes_it(tmp_path: pathlib.Path) -> None:
    root = write_tree(tmp_path, {**BASE, "dev/o.yaml": "kv: null\n"})
    assert "kv" not in load_tree(root, "dev")[0]


def test_locations_follow_the_overlay_that_set_the_value(tmp_path: pathlib.Path) -> None:
    root = write_tree(tmp_path, {**BASE, "dev/o.yaml": "# x\n# y\nusers:\n  - name: a\n    token_ttl: 5m\n"})
    tree = load_tree(root, "dev")[0]
    assert locate(tree, ["users", 0, "token_ttl"]).file.endswith("dev/o.yaml")
    assert locate(tree, ["users", 0, "token_ttl"]).line == 5
    assert locate(tree, ["users", 0, "policies"]).file.endswith("base/users.yaml")
    assert locate(tree, ["users", 0, "policies"]).line == 3


def test_files_of_one_layer_combine_and_conflicts_are_reported(tmp_path: pathlib.Path) -> None:
    root = write_tree(
        tmp_path,
        {
            **BASE,
            "base/more.yaml": "users: [{name: d, policies: [p1]}]\nsettings: {userpass_mount: up}\n",
            "base/zz.yaml": "settings: {userpass_mount: other}\n",
        },
    )
    tree, findings, _ = load_tree(root, None)
    assert [u["name"] for u in tree["users"]] == ["d", "a", "b"]
    assert len(findings) == 1 and "set in two files of the same layer" in str(findings[0])
    assert "base/zz.yaml:1" in str(findings[0]) and "base/more.yaml" in str(findings[0])


def test_same_name_twice_in_one_layer_is_a_duplicate_error(tmp_path: pathlib.Path) -> None:
    root = write_tree(tmp_path, {**BASE, "base/zz.yaml": "# x\nusers:\n  - name: a\n    policies: [p1]\n"})
    result = validate(root, None)
    messages = [str(f) for f in result.errors]
    assert any("zz.yaml:3" in m and "'a' is defined twice" in m for m in messages), messages


def test_the_shipped_overlays_differ_meaningfully() -> None:
    from tests.stack._helpers import EXAMPLE

    configs = {s: validate(EXAMPLE, s).config for s in ("dev", "staging", "prod")}
    assert all(c is not None for c in configs.values())
    replicas = {
        s: next(w.replicas for w in c.workloads if w.name == "billing-api") for s, c in configs.items()
    }  # type: ignore[union-attr]
    assert replicas == {"dev": 1, "staging": 2, "prod": 3}
    assert "dev-alice" in {u.name for u in configs["dev"].users}  # type: ignore[union-attr]
    assert "dev-alice" not in {u.name for u in configs["prod"].users}  # type: ignore[union-attr]
    assert not configs["prod"].kubernetes_roles  # type: ignore[union-attr]
    ttls = {s: next(r.ttl for r in c.pki_roles) for s, c in configs.items()}  # type: ignore[union-attr]
    assert ttls == {"dev": "1h", "staging": "24h", "prod": "72h"}
