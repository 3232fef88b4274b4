"""Promotion diff: how one stack's desired state differs from another's (never any secret value:
the YAML holds none — seeded KV values live in Pulumi secrets, and only their key names are compared)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from .tree import plain

# (section path, whether it is a named list) in display order
SECTIONS: tuple[tuple[str, bool], ...] = (
    ("settings", False),
    ("policies", True),
    ("users", True),
    ("pki.cas", True),
    ("pki.roles", True),
    ("aws.engine", False),
    ("aws.roles", True),
    ("kv", True),
    ("kubernetes_auth.mount", False),
    ("kubernetes_auth.kubernetes_host", False),
    ("kubernetes_auth.roles", True),
    ("approle.mount", False),
    ("approle.roles", True),
    ("workloads", True),
)


@dataclasses.dataclass(frozen=True)
class Change:
    kind: str  # added | removed | changed
    object: str  # e.g. users[dev-alice]
    fields: tuple[tuple[str, Any, Any], ...] = ()  # (field path, old, new) for changed

    def lines(self) -> list[str]:
        mark = {"added": "+", "removed": "-", "changed": "~"}[self.kind]
        out = [f"{mark} {self.object}"]
        out.extend(f"    {path}: {_show(old)} -> {_show(new)}" for path, old, new in self.fields)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "object": self.object,
            # a side where the field is unset has no "from"/"to" key (null would read as a YAML null)
            "fields": [
                {"field": p, **({} if o is _MISSING else {"from": o}), **({} if n is _MISSING else {"to": n})}
                for p, o, n in self.fields
            ],
        }


_MISSING = object()


def _show(value: Any) -> str:
    if value is _MISSING:
        return "(unset)"
    return json.dumps(value, sort_keys=True)


def _get(tree: Any, dotted: str) -> Any:
    node = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return plain(node)


def _field_changes(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_field_changes(old.get(key, _MISSING), new.get(key, _MISSING), sub))
        return out
    if _is_named(old) and _is_named(new):
        olds = {i["name"]: i for i in old}
        news = {i["name"]: i for i in new}
        out = []
        for key in list(olds) + [k for k in news if k not in olds]:
            out.extend(_field_changes(olds.get(key, _MISSING), news.get(key, _MISSING), f"{prefix}[{key}]"))
        return out
    return [] if old == new else [(prefix, old, new)]


def _is_named(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, dict) and "name" in i for i in value)


def diff(old_tree: Any, new_tree: Any) -> list[Change]:
    """Objects added, removed or changed going from `old_tree` to `new_tree` (merged trees)."""
    changes: list[Change] = []
    for section, named in SECTIONS:
        old, new = _get(old_tree, section), _get(new_tree, section)
        if named:
            olds = {i["name"]: i for i in old} if isinstance(old, list) else {}
            news = {i["name"]: i for i in new} if isinstance(new, list) else {}
            for key in olds:
                if key not in news:
                    changes.append(Change("removed", f"{section}[{key}]"))
                elif olds[key] != news[key]:
                    fields = tuple(_field_changes(olds[key], news[key]))
                    changes.append(Change("changed", f"{section}[{key}]", fields))
            changes.extend(Change("added", f"{section}[{key}]") for key in news if key not in olds)
        elif old != new:
            if old is _MISSING:
                changes.append(Change("added", section))
            elif new is _MISSING:
                changes.append(Change("removed", section))
            else:
                changes.append(Change("changed", section, tuple(_field_changes(old, new))))
    return changes
