"""Combining YAML files: files of one layer, then the stack overlay on top of the base.

Rules (docs/config.md):
* maps merge key by key, recursively; `key: null` in an overlay removes the key (back to its default);
* a list whose items are all maps with a `name` is a *named list*: an overlay item with the same name merges
  into the base item, a new name is appended, and `{name: x, _delete: true}` removes item x;
* any other list, and every scalar, is replaced by the overlay's value, and so are the one-of maps
  `identity`, `on_change` and `policy_document`;
* within one layer (several files in base/ or in <stack>/) sections combine the same way, but a value set
  twice is a conflict, because file order should not decide anything.
"""

from __future__ import annotations

from typing import Any

from .findings import Finding, Loc, Severity
from .tree import LocDict, LocList

DELETE = "_delete"
# maps that are one choice or one document: an overlay replaces them whole (switching a workload from
# `user:` to `kubernetes_role:` must not leave both)
REPLACED = frozenset({"identity", "on_change", "policy_document"})


def _is_named_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, dict) and isinstance(item.get("name"), str) for item in value
    )


def strip(value: Any) -> Any:
    """Drop null keys, which mean "absent" once layers are merged."""
    if isinstance(value, LocDict):
        out = LocDict(value.loc)
        for key, item in value.items():
            if item is not None:
                out[key] = strip(item)
                out.key_locs[key] = value.locate(key)
        return out
    if isinstance(value, LocList):
        seq = LocList(value.loc)
        for index, item in enumerate(value):
            seq.append(strip(item))
            seq.item_locs.append(value.locate(index))
        return seq
    return value


class Merger:
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def overlay(self, base: Any, over: Any, path: str = "") -> Any:
        """`over` (a stack overlay) applied on top of `base`."""
        return self._merge(base, over, path, conflict=False)

    def combine(self, first: Any, second: Any, path: str = "") -> Any:
        """Two files of the same layer."""
        return self._merge(first, second, path, conflict=True)

    def _merge(self, base: Any, over: Any, path: str, conflict: bool) -> Any:
        if isinstance(base, LocDict) and isinstance(over, LocDict):
            return self._merge_maps(base, over, path, conflict)
        if (
            isinstance(base, LocList)
            and isinstance(over, LocList)
            and _is_named_list(base)
            and _is_named_list(over)
        ):
            return self._merge_named(base, over, path, conflict)
        if conflict and isinstance(base, LocList) and isinstance(over, LocList):
            return self._concat(base, over)
        return strip(over)

    def _merge_maps(self, base: LocDict, over: LocDict, path: str, conflict: bool) -> LocDict:
        out = LocDict(base.loc)
        for key, value in base.items():
            out[key] = value
            out.key_locs[key] = base.locate(key)
        for key, value in over.items():
            sub = f"{path}.{key}" if path else key
            if value is None and not conflict:
                out.pop(key, None)
                out.key_locs.pop(key, None)
                continue
            if key in out and out[key] is not None and value is not None:
                both_maps = isinstance(out[key], dict) and isinstance(value, dict)
                both_lists = isinstance(out[key], list) and isinstance(value, list)
                if conflict and not (both_maps or both_lists) and out[key] != value:
                    self.findings.append(self._conflict_finding(over.locate(key), sub, base.locate(key)))
                if key in REPLACED and not conflict:
                    out[key] = strip(value)
                else:
                    out[key] = self._merge(out[key], value, sub, conflict)
                replaced = not both_maps or key in REPLACED
                if (replaced and not conflict) or not (both_maps or both_lists):
                    out.key_locs[key] = over.locate(key)
            else:  # same layer: keep nulls and _delete markers for the overlay step to act on
                out[key] = value if conflict else strip(value)
                out.key_locs[key] = over.locate(key)
        return out

    def _merge_named(self, base: LocList, over: LocList, path: str, conflict: bool) -> LocList:
        out = LocList(base.loc)
        index: dict[str, int] = {}
        for i, item in enumerate(base):
            index.setdefault(item["name"], len(out))
            out.append(item)
            out.item_locs.append(base.locate(i))
        removed: set[int] = set()
        for i, item in enumerate(over):
            name = item["name"]
            where = over.locate(i)
            if item.get(DELETE) is True and not conflict:
                if name in index:
                    removed.add(index[name])
                else:
                    self.findings.append(
                        Finding(
                            "merge",
                            where,
                            f"{path}[{name}]",
                            f"deletes '{name}', which the base does not define",
                            "remove this entry or fix the name",
                            Severity.WARNING,
                        )
                    )
                continue
            if name in index and not conflict:
                out[index[name]] = self._merge(out[index[name]], item, f"{path}[{name}]", conflict)
            else:  # new item, or a second definition in the same layer (reported as a duplicate later)
                index.setdefault(name, len(out))
                out.append(item if conflict else strip(item))
                out.item_locs.append(where)
        if not removed:
            return out
        kept = LocList(out.loc)
        for i, item in enumerate(out):
            if i not in removed:
                kept.append(item)
                kept.item_locs.append(out.locate(i))
        return kept

    @staticmethod
    def _concat(first: LocList, second: LocList) -> LocList:
        out = LocList(first.loc)
        for source in (first, second):
            for i, item in enumerate(source):
                out.append(item)
                out.item_locs.append(source.locate(i))
        return out

    @staticmethod
    def _conflict_finding(loc: Loc, path: str, other: Loc | None) -> Finding:
        where = f" (also set at {other})" if other else ""
        return Finding(
            "merge",
            loc,
            path,
            f"set in two files of the same layer{where}",
            "set it in one file only; use the stack overlay to change a base value",
        )
