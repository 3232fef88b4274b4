"""Bounded reading of the sidekick's JSON/YAML files (its config file and the credentials file).

Every input is hostile: a file is refused above MAX_FILE_BYTES before it is parsed, a YAML alias bomb is
refused from its node graph before anything is walked or constructed (PyYAML's composer keeps an alias as a
shared node, so nine lines hold 9^9 values: the blow-up comes only when they are walked one by one), and
nesting beyond MAX_DEPTH is refused. Every refusal is one SidekickConfigError naming the file and line.
"""

from __future__ import annotations

import json

from .errors import SidekickConfigError

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true

if TYPE_CHECKING:
    from typing import Any

# A sidekick config with a hundred resources is ~20 KiB and ~3,000 values: 50x room for both.
MAX_FILE_BYTES = 1024 * 1024
MAX_NODES = 150_000
MAX_DEPTH = 64


def read_bounded(path: str, what: str, limit: int = MAX_FILE_BYTES) -> str:
    """The file's UTF-8 text; one SidekickConfigError if it cannot be read, is too large or is not UTF-8."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)  # never more, whatever the file claims (or /dev/zero)
    except OSError as exc:
        raise SidekickConfigError(f"{path}: cannot read the {what}: {exc.strerror}") from None
    if len(data) > limit:
        raise SidekickConfigError(f"{path}: the {what} is larger than {limit // 1024} KiB; "
                                  "is this the right file?")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SidekickConfigError(f"{path}:{line}: the {what} is not UTF-8 text "
                                  f"(byte 0x{data[exc.start]:02x}); save it as UTF-8") from None


def parse(text: str, path: str, what: str) -> tuple[Any, dict[str, int]]:
    """(data, {dotted field path: line}) of JSON or YAML text; the line map is empty for JSON."""
    if len(text) > MAX_FILE_BYTES:
        raise SidekickConfigError(f"{path}: the {what} is larger than {MAX_FILE_BYTES // 1024} KiB")
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")) or path.endswith(".json"):
        try:
            return json.loads(text), {}
        except RecursionError:
            raise SidekickConfigError(f"{path}: the {what} is nested too deeply; flatten it") from None
        except ValueError as exc:
            if path.endswith(".json"):
                raise SidekickConfigError(f"{path}: the {what} is not valid JSON ({exc})") from None
    return _parse_yaml(text, path, what)


def _parse_yaml(text: str, path: str, what: str) -> tuple[Any, dict[str, int]]:
    import yaml  # lazy: only when a YAML file is used

    # libyaml's composer where present (the image's PyYAML wheel has it): faster, and it stops at 1,000
    # nesting levels itself; the same resolver and constructor as yaml.safe_load, so values type alike
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        _Measure(path).size(node, 0)
        lines: dict[str, int] = {}
        _walk_lines(node, "", lines)
        return loader.construct_document(node), lines
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise SidekickConfigError(f"{path}{line}: the {what} is not valid YAML/JSON ({problem})") from None
    except (RecursionError, MemoryError):
        raise SidekickConfigError(f"{path}: the {what} is nested too deeply or too large; "
                                  "flatten it") from None
    finally:
        loader.dispose()


class _Measure:
    """Expanded size of a node graph, each alias counted as a full copy of its anchor, without expanding:
    sizes are memoized per node, so the work is linear in the file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()

    def size(self, node: Any, depth: int) -> int:
        key = id(node)
        known = self.sizes.get(key)
        if known is not None:
            return known
        where = f"{self.path}:{node.start_mark.line + 1}"
        if depth > MAX_DEPTH:
            raise SidekickConfigError(f"{where}: nested deeper than {MAX_DEPTH} levels; flatten it")
        if key in self.open:
            raise SidekickConfigError(f"{where}: an alias refers to a node that contains it; "
                                      "remove the recursion")
        self.open.add(key)
        total = 1
        if isinstance(node.value, list):  # sequence items, or mapping (key, value) pairs
            for item in node.value:
                pair = item if isinstance(item, tuple) else (item,)
                total += sum(self.size(part, depth + 1) for part in pair)
        self.open.discard(key)
        if total > MAX_NODES:
            raise SidekickConfigError(f"{where}: this value expands to more than {MAX_NODES:,} values "
                                      "(aliases repeat their anchor's content); use fewer aliases")
        self.sizes[key] = total
        return total


MAX_FIELD_NAME = 200  # longer dotted paths get no line of their own (their parent's is used)


def _walk_lines(node: Any, prefix: str, lines: dict[str, int], seen: set[int] | None = None) -> None:
    """Line of every mapping key and sequence item, by dotted path. Each node is visited once: content
    reached through an alias is reported at the alias (the names stay few and short, whatever the YAML)."""
    import yaml

    seen = set() if seen is None else seen
    if id(node) in seen or len(prefix) > MAX_FIELD_NAME:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            text = key.value if isinstance(key, yaml.ScalarNode) else "?"
            name = f"{prefix}.{text}" if prefix else str(text)
            lines[name] = key.start_mark.line + 1
            _walk_lines(value, name, lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            name = f"{prefix}[{i}]"
            lines[name] = item.start_mark.line + 1
            _walk_lines(item, name, lines, seen)
