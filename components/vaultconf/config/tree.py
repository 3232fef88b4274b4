"""YAML loading that keeps where every value came from.

ruamel.yaml's round-trip loader knows each key's and item's line; we copy the document into plain dicts and
lists (so jsonschema and the merge see ordinary JSON types) that also carry those positions.
"""

from __future__ import annotations

import datetime
import pathlib
from collections.abc import Iterable
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar

from .findings import UNKNOWN, Loc, UnusableInput

MAX_DEPTH = 64  # deeper than any real config; stops recursion bombs from fuzzed input


class LocDict(dict[str, Any]):
    """A mapping that remembers its own position and each key's."""

    def __init__(self, loc: Loc = UNKNOWN) -> None:
        super().__init__()
        self.loc = loc
        self.key_locs: dict[str, Loc] = {}

    def locate(self, key: str) -> Loc:
        return self.key_locs.get(key, self.loc)


class LocList(list[Any]):
    """A sequence that remembers its own position and each item's."""

    def __init__(self, loc: Loc = UNKNOWN) -> None:
        super().__init__()
        self.loc = loc
        self.item_locs: list[Loc] = []

    def locate(self, index: int) -> Loc:
        return self.item_locs[index] if 0 <= index < len(self.item_locs) else self.loc


def _scalar(value: Any) -> Any:
    if isinstance(value, TaggedScalar):
        return str(value.value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


def _convert(node: Any, file: str, line: int, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise UnusableInput(
            Loc(file, line), f"nesting deeper than {MAX_DEPTH} levels", "flatten the document"
        )
    if isinstance(node, CommentedMap):
        out = LocDict(Loc(file, node.lc.line + 1))
        for key, value in node.items():
            k = str(_scalar(key)) if not isinstance(key, str) else str(key)
            try:
                kline = node.lc.key(key)[0] + 1
            except (KeyError, TypeError, IndexError):
                kline = out.loc.line
            out[k] = _convert(value, file, kline, depth + 1)
            out.key_locs[k] = Loc(file, kline)
        return out
    if isinstance(node, CommentedSeq):
        seq = LocList(Loc(file, node.lc.line + 1))
        for index, value in enumerate(node):
            try:
                iline = node.lc.item(index)[0] + 1
            except (KeyError, TypeError, IndexError):
                iline = seq.loc.line
            seq.append(_convert(value, file, iline, depth + 1))
            seq.item_locs.append(Loc(file, iline))
        return seq
    if isinstance(node, dict):  # plain dicts only appear for odd tags; keep them usable
        plain = LocDict(Loc(file, line))
        for key, value in node.items():
            plain[str(key)] = _convert(value, file, line, depth + 1)
            plain.key_locs[str(key)] = Loc(file, line)
        return plain
    if isinstance(node, (list, tuple, set)):
        items = LocList(Loc(file, line))
        for value in node:
            items.append(_convert(value, file, line, depth + 1))
            items.item_locs.append(Loc(file, line))
        return items
    return _scalar(node)


def load_text(text: str, file: str) -> Any:
    """Parse one YAML document; any parser complaint becomes UnusableInput naming file and line."""
    yaml = YAML(typ="rt")
    try:
        doc = yaml.load(text)
    except RecursionError as exc:
        raise UnusableInput(Loc(file, 0), "YAML nesting too deep", "flatten the document") from exc
    except Exception as exc:  # ruamel raises many unrelated types (scanner, composer, constructor, ...)
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise UnusableInput(Loc(file, line), f"invalid YAML: {problem}", "fix the YAML syntax") from exc
    try:
        return _convert(doc, file, 1)
    except RecursionError as exc:
        raise UnusableInput(Loc(file, 0), "YAML nesting too deep", "flatten the document") from exc


def load_file(path: pathlib.Path, display: str | None = None) -> Any:
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UnusableInput(
            Loc(name, 0), f"cannot read file: {exc.__class__.__name__}", "check the path"
        ) from exc
    return load_text(text, name)


def locate(tree: Any, path: Iterable[object]) -> Loc:
    """Best position for `path` in `tree`: the deepest key or item that exists."""
    node = tree
    loc = getattr(tree, "loc", UNKNOWN)
    for part in path:
        in_dict = isinstance(node, LocDict) and isinstance(part, str) and part in node
        in_list = isinstance(node, LocList) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            loc = node.locate(part)
            node = node[part]
        else:
            break
    return loc


def plain(node: Any) -> Any:
    """A copy without positions (for JSON output and comparisons)."""
    if isinstance(node, dict):
        return {k: plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node
