"""Reading policy text: Vault HCL, Vault's JSON policy form, and the 2015 `policy = "read"` shorthand.

Used to check raw `hcl:` policies, and by `vaultconf import` / `convert` to turn Vault's policies into
structured rules. Only the subset of HCL that policies use is accepted; anything else is a PolicySyntaxError.
"""

from __future__ import annotations

import json
import re
from typing import Any

from vaultconf.errors import VaultconfError

# What the pre-0.5 `policy = "..."` keyword meant, in capabilities.
LEGACY_POLICY = {
    "deny": ["deny"],
    "read": ["read", "list"],
    "write": ["create", "read", "update", "delete", "list"],
    "sudo": ["create", "read", "update", "delete", "list", "sudo"],
}
RULE_KEYS = ("capabilities", "allowed_parameters", "denied_parameters", "required_parameters")


class PolicySyntaxError(VaultconfError, ValueError):
    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


_TOKEN = re.compile(
    r"""(?P<ws>[ \t\r]+)|(?P<nl>\n)|(?P<comment>\#[^\n]*|//[^\n]*|/\*.*?\*/)
    |(?P<string>"(?:[^"\\\n]|\\.)*")|(?P<number>-?[0-9]+(?:\.[0-9]+)?)
    |(?P<ident>[A-Za-z_][A-Za-z0-9_.-]*)|(?P<punct>[{}\[\]=,:])""",
    re.VERBOSE | re.DOTALL,
)


def _tokens(text: str) -> list[tuple[str, Any, int]]:
    out: list[tuple[str, Any, int]] = []
    pos, line = 0, 1
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise PolicySyntaxError(line, f"unexpected character {text[pos]!r}")
        kind = match.lastgroup or ""
        value = match.group()
        if kind == "string":
            try:
                out.append(("value", json.loads(value), line))
            except json.JSONDecodeError as exc:
                raise PolicySyntaxError(line, "bad string escape") from exc
        elif kind == "number":
            out.append(("value", float(value) if "." in value else int(value), line))
        elif kind == "ident":
            out.append(("value", {"true": True, "false": False}.get(value, value), line))
        elif kind == "punct":
            out.append((value, value, line))
        line += value.count("\n")
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, Any, int]:
        return (
            self.toks[self.i]
            if self.i < len(self.toks)
            else ("eof", None, self.toks[-1][2] if self.toks else 0)
        )

    def take(self, kind: str) -> tuple[str, Any, int]:
        tok = self.peek()
        if tok[0] != kind:
            raise PolicySyntaxError(tok[2], f"expected {kind!r}, found {tok[1]!r}")
        self.i += 1
        return tok

    def body(self, end: str) -> list[tuple[str, list[Any], Any, int]]:
        """Entries (key, labels, value-or-block, line) until `end`."""
        items: list[tuple[str, list[Any], Any, int]] = []
        while self.peek()[0] != end:
            kind, key, line = self.take("value")
            if kind != "value" or not isinstance(key, str):
                raise PolicySyntaxError(line, f"expected a name, found {key!r}")
            if self.peek()[0] in ("=", ":"):
                self.i += 1
                items.append((key, [], self.value(), line))
            else:
                labels = []
                while self.peek()[0] == "value":
                    labels.append(self.take("value")[1])
                self.take("{")
                items.append((key, labels, self.body("}"), line))
                self.take("}")
            if self.peek()[0] == ",":
                self.i += 1
        return items

    def value(self) -> Any:
        kind, val, line = self.peek()
        if kind == "value":
            self.i += 1
            return val
        if kind == "[":
            self.i += 1
            out = []
            while self.peek()[0] != "]":
                out.append(self.value())
                if self.peek()[0] == ",":
                    self.i += 1
            self.take("]")
            return out
        if kind == "{":
            self.i += 1
            entries = self.body("}")
            self.take("}")
            return _attributes(entries, "")
        raise PolicySyntaxError(line, f"unexpected {val!r}")


def _attributes(entries: list[tuple[str, list[Any], Any, int]], path: str) -> dict[str, Any]:
    """A block's attributes. A repeated one is an error: Vault's HCL would not keep only the last (it
    appends them), and silently reading either one differently from Vault is worse than refusing."""
    out: dict[str, Any] = {}
    for key, _, value, line in entries:
        if key in out:
            where = f"path {path!r}: " if path else ""
            raise PolicySyntaxError(line, f"{where}attribute {key!r} appears twice in one block; merge them")
        out[key] = value
    return out


def _rule(path: str, raw: dict[str, Any], line: int) -> dict[str, Any]:
    caps: list[str] = []
    if "capabilities" in raw:
        if not isinstance(raw["capabilities"], list):
            raise PolicySyntaxError(line, f"path {path!r}: capabilities must be a list")
        caps.extend(str(c) for c in raw["capabilities"])
    if "policy" in raw:
        legacy = LEGACY_POLICY.get(str(raw["policy"]))
        if legacy is None:
            raise PolicySyntaxError(line, f"path {path!r}: unknown policy {raw['policy']!r}")
        caps.extend(c for c in legacy if c not in caps)
    rule: dict[str, Any] = {"capabilities": caps}
    for key in RULE_KEYS[1:]:
        if raw.get(key):
            rule[key] = raw[key]
    return rule


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise PolicySyntaxError(0, f"key {key!r} appears twice in one JSON object; merge them")
        out[key] = value
    return out


def _from_json(doc: Any) -> dict[str, dict[str, Any]]:
    paths = doc.get("path") if isinstance(doc, dict) else None
    if not isinstance(paths, dict):
        raise PolicySyntaxError(0, 'a JSON policy needs a top-level "path" mapping')
    out = {}
    for path, raw in paths.items():
        if not isinstance(raw, dict):
            raise PolicySyntaxError(0, f"path {path!r}: expected a mapping")
        out[str(path)] = _rule(str(path), raw, 0)
    return out


def parse_policy(text: str) -> dict[str, dict[str, Any]]:
    """path -> {"capabilities": [...], ...} for HCL or JSON policy text (legacy `policy = ` included)."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            return _from_json(json.loads(stripped, object_pairs_hook=_unique_pairs))
        except json.JSONDecodeError as exc:
            raise PolicySyntaxError(exc.lineno, f"invalid JSON: {exc.msg}") from exc
    out: dict[str, dict[str, Any]] = {}
    for key, labels, value, line in _Parser(text).body("eof"):
        if key != "path":
            continue  # e.g. a top-level `name` in old files: not a rule
        if len(labels) != 1 or not isinstance(labels[0], str) or not isinstance(value, list):
            raise PolicySyntaxError(line, 'expected path "<pattern>" { ... }')
        raw = _attributes(value, labels[0])
        if labels[0] in out:
            raise PolicySyntaxError(line, f"path {labels[0]!r} appears twice")
        out[labels[0]] = _rule(labels[0], raw, line)
    return out


def legacy_rules(doc: Any) -> dict[str, dict[str, Any]]:
    """Rules from a 2015 vaultconf policy file already loaded from YAML/JSON: {path: {p: {policy: read}}}."""
    return _from_json(doc)
