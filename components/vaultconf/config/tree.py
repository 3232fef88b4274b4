"""YAML loading that keeps where every value came from.

PyYAML's composer (on libyaml, its C parser, where installed: a large config composes ~4x faster than
ruamel.yaml's round-trip loader reads it) gives a node graph in which every node has its line; we turn it
into plain dicts and lists (so jsonschema and the merge see ordinary JSON types) that also carry those
positions. Plain scalars are typed by YAML 1.2's core schema, as editors (yaml-language-server) and ruamel
read them, not by PyYAML's YAML 1.1 rules: `no`, `on`, `017` and `1:30` stay strings or decimals.
"""

from __future__ import annotations

import datetime
import math
import pathlib
import re
from collections.abc import Iterable
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .findings import UNKNOWN, Loc, UnusableInput

MAX_DEPTH = 64  # deeper than any real config; stops recursion bombs from fuzzed input
# The benchmark's full-scale config (1,000 users, 300 workloads) is ~0.4 MB and ~44,000 values in all
# files together; these bounds leave over 20x room and refuse a 50 MB file or an alias bomb before
# anything is expanded (the composer keeps aliases as shared nodes: the blow-up comes from walking them).
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_NODES = 1_000_000  # values one file may expand to, counting every alias as a copy of its anchor
TOO_DEEP = "YAML nesting too deep or too large"
STANDARD_TAGS = "tag:yaml.org,2002:"
STR_TAG = STANDARD_TAGS + "str"
MERGE_TAG = STANDARD_TAGS + "merge"
SEQ_TAG = STANDARD_TAGS + "seq"
MAP_TAG = STANDARD_TAGS + "map"
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # pure Python where libyaml is missing


class _Loader(_Base):
    """The C parser and composer with YAML 1.2 core-schema implicit typing."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        """PyYAML's BaseResolver.resolve for our implicit resolvers (no wildcard or path resolvers, which
        it would consult for every node), without its per-scalar list building."""
        if kind is ScalarNode:
            if implicit[0]:
                for tag, regexp in _IMPLICIT.get(value[:1], ()):
                    if regexp.match(value):
                        return tag
            return STR_TAG
        return SEQ_TAG if kind is SequenceNode else MAP_TAG


# (tag, pattern, first characters): YAML 1.2 core schema, and the `<<` merge key
_FLOAT = r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
_CORE = [
    ("merge", r"<<", ["<"]),
    ("null", r"~|null|Null|NULL|", [*"~nN", ""]),
    ("bool", r"true|True|TRUE|false|False|FALSE", list("tTfF")),
    ("int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", list("-+0123456789")),
    ("float", _FLOAT, list("-+.0123456789")),
]
_Loader.yaml_implicit_resolvers = {}
for _name, _pattern, _first in _CORE:
    _Loader.add_implicit_resolver(STANDARD_TAGS + _name, re.compile(f"^(?:{_pattern})$"), _first)
_IMPLICIT: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {
    first: tuple(pairs) for first, pairs in _Loader.yaml_implicit_resolvers.items()
}


def _core_scalar(tag: str, text: str) -> Any:
    """The value of a plain or !!-tagged scalar under the core schema; ValueError if it is not one."""
    if tag == "null":
        if text in ("~", "null", "Null", "NULL", ""):
            return None
    elif tag == "bool":
        if text in ("true", "True", "TRUE", "false", "False", "FALSE"):
            return text[0] in "tT"
    elif tag == "int":
        if text.startswith(("0o", "0x")):
            return int(text[2:], 8 if text[1] == "o" else 16)
        return int(text, 10)
    elif tag == "float":
        lowered = text.lower()
        if lowered.lstrip("+-") in (".inf", ".nan"):
            value = math.inf if "inf" in lowered else math.nan
            return -value if lowered.startswith("-") else value
        return float(text)
    raise ValueError(text)


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
    if isinstance(value, bool) or value is None or isinstance(value, (int, float, str)):
        return value
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):  # !!binary
        return value.decode("utf-8", "replace")
    return str(value)


class _Builder:
    """Node graph → LocDict/LocList/scalars for one file."""

    def __init__(self, file: str, constructor: Any) -> None:
        self.file = file
        self.constructor = constructor
        # id(node) → (value, expanded size): an anchor used many times is built once and shared, but
        # every later walk (merge, schema, rules) visits it once per alias, so its size counts each time
        self.done: dict[int, tuple[Any, int]] = {}
        self.building: set[int] = set()
        self.locs: dict[int, Loc] = {}  # one (immutable) Loc per line, shared by the values on it

    def _loc(self, line: int) -> Loc:
        loc = self.locs.get(line)
        if loc is None:
            loc = self.locs[line] = Loc(self.file, line)
        return loc

    def build(self, node: Node, depth: int = 0) -> Any:
        return self._node(node, depth)[0]

    def _node(self, node: Node, depth: int) -> tuple[Any, int]:
        """(value, expanded size) of one node. A scalar is 1 and built again where an alias repeats it
        (the same text gives the same value); a collection is built once per anchor."""
        if depth > MAX_DEPTH:
            raise UnusableInput(Loc(self.file, node.start_mark.line + 1),
                                f"nesting deeper than {MAX_DEPTH} levels", "flatten the document")
        if isinstance(node, ScalarNode):
            return self._scalar(node), 1
        key = id(node)
        found = self.done.get(key)
        if found is not None:
            return found
        if key in self.building:
            raise UnusableInput(Loc(self.file, node.start_mark.line + 1),
                                "an alias refers to a node that contains it", "remove the recursive anchor")
        self.building.add(key)
        try:
            if isinstance(node, MappingNode):
                built: tuple[Any, int] = self._mapping(node, depth)
            else:
                built = self._sequence(node, depth)
        finally:
            self.building.discard(key)
        if built[1] > MAX_NODES:
            raise UnusableInput(Loc(self.file, node.start_mark.line + 1),
                                f"this value expands to more than {MAX_NODES:,} values (aliases repeat "
                                "their anchor's content)",
                                "use fewer aliases of large anchors, or split the file")
        self.done[key] = built
        return built

    def _mapping(self, node: Node, depth: int) -> tuple[LocDict, int]:
        out = LocDict(self._loc(node.start_mark.line + 1))
        key_locs = out.key_locs
        size = 1  # itself, each key, and each value's (or merged mapping's) expanded size
        merges = []
        for key_node, value_node in node.value:
            tag = key_node.tag
            if tag == MERGE_TAG:
                merges.append(value_node)
                continue
            if tag == STR_TAG and isinstance(key_node, ScalarNode):
                name = key_node.value
            else:
                name = str(self._key(key_node, depth))
            kline = key_node.start_mark.line + 1
            if name in out:
                raise UnusableInput(Loc(self.file, kline), f"invalid YAML: duplicate key {name!r}",
                                    "remove or rename one of the two keys")
            value, value_size = self._node(value_node, depth + 1)
            out[name] = value
            key_locs[name] = self._loc(kline)
            size += 1 + value_size
        # `<<: *defaults` / `<<: [*a, *b]`: the mapping's own keys win, then the first source's
        for merge in merges:
            size += 1
            sources = merge.value if isinstance(merge, SequenceNode) else [merge]
            for source in sources:
                built, source_size = self._node(source, depth + 1)
                if not isinstance(built, LocDict):
                    raise UnusableInput(Loc(self.file, source.start_mark.line + 1),
                                        "invalid YAML: `<<` merges mappings only", "merge a mapping")
                size += source_size
                for name, value in built.items():
                    if name not in out:
                        out[name] = value
                        key_locs[name] = built.locate(name)
        return out, size

    def _sequence(self, node: Node, depth: int) -> tuple[LocList, int]:
        seq = LocList(self._loc(node.start_mark.line + 1))
        append, append_loc = seq.append, seq.item_locs.append
        size = 1
        for item in node.value:
            value, item_size = self._node(item, depth + 1)
            append(value)
            append_loc(self._loc(item.start_mark.line + 1))
            size += item_size
        return seq, size

    def _scalar(self, node: Node) -> Any:
        tag = node.tag
        if tag == STR_TAG:
            return node.value
        if not tag.startswith(STANDARD_TAGS):
            return str(node.value)  # an application tag (`!vault x`): its text
        kind = tag[len(STANDARD_TAGS):]
        try:
            if kind in ("null", "bool", "int", "float"):
                return _core_scalar(kind, node.value)
            return _scalar(self.constructor.construct_object(node, deep=True))  # !!binary, !!timestamp
        except Exception as exc:  # a malformed !!int, !!timestamp, ...
            raise UnusableInput(self._loc(node.start_mark.line + 1), f"invalid YAML: not a valid !!{kind}",
                                "fix the value or quote it") from exc

    def _key(self, node: Node, depth: int) -> Any:
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        return _plain_text(self.build(node, depth + 1))


def _plain_text(value: Any) -> str:
    return str(plain(value))


# what to write for the parser complaints people meet most; the rest get the general advice
_SYNTAX_FIXES = (
    ("'\\t'", "indent with spaces, not tabs"),
    ("mapping values are not allowed", "quote a value that contains ': ' (e.g. \"a: b\"), or indent it "
     "under its key"),
    ("did not find expected key", "line the key up with its siblings (same indentation)"),
    ("expected ':'", "write `key: value`, with a space after the colon"),
    ("undefined alias", "define the anchor (`&name`) before using `*name`"),
    ("expected <block end>", "line the key up with its siblings (same indentation)"),
    ("found unexpected end of stream", "close the quote or bracket opened above"),
    ("did not find expected ','", "separate the items with ', ' and close the bracket"),
)


def _syntax_fix(problem: str, text: str = "", mark: Any = None) -> str:
    if mark is not None and text:  # libyaml does not name the tab it stopped at: look at the character
        rows = text.splitlines()
        row = rows[mark.line] if 0 <= mark.line < len(rows) else ""
        if row[mark.column:mark.column + 1] == "\t" or row[:mark.column + 1].strip(" ") == "\t":
            return "indent with spaces, not tabs"
    for needle, fix in _SYNTAX_FIXES:
        if needle in problem:
            return fix
    return "fix the YAML at this line: indentation with spaces, `key: value`, closed quotes and brackets"


def load_text(text: str, file: str) -> Any:
    """Parse one YAML document; any parser complaint becomes UnusableInput naming file and line."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except (RecursionError, MemoryError) as exc:  # libyaml stops at 1000 levels; the pure-Python one may not
        raise UnusableInput(Loc(file, 0), TOO_DEEP, "flatten the document") from exc
    except yaml.YAMLError as exc:  # scanner, parser, composer errors
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or type(exc).__name__
        fix = _syntax_fix(str(exc), text, mark)
        raise UnusableInput(Loc(file, line), f"invalid YAML: {problem}", fix) from exc
    if node is None:
        return None
    try:
        return _Builder(file, loader).build(node)
    except (RecursionError, MemoryError) as exc:
        raise UnusableInput(Loc(file, 0), TOO_DEEP, "flatten the document") from exc
    finally:
        loader.dispose()


def read_text(path: pathlib.Path, name: str, limit: int = MAX_FILE_BYTES) -> str:
    """The file's UTF-8 text, refused before parsing when it is larger than `limit` bytes."""
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)  # never more: a 50 MB file or /dev/zero costs one bounded read
    except OSError as exc:
        raise UnusableInput(Loc(name, 0), f"cannot read file: {exc.strerror or type(exc).__name__}",
                            "check the path and its permissions") from exc
    if len(data) > limit:
        raise UnusableInput(Loc(name, 0), f"file larger than {limit // (1024 * 1024)} MiB",
                            "split the configuration into smaller files")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UnusableInput(Loc(name, line), f"not UTF-8 text (byte 0x{data[exc.start]:02x})",
                            "save the file as UTF-8") from exc


def load_file(path: pathlib.Path, display: str | None = None) -> Any:
    name = display or str(path)
    return load_text(read_text(path, name), name)


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
