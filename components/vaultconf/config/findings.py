"""Findings (what validate reports) and the error for input that cannot be used at all."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable

from vaultconf.errors import VaultconfError


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    ALLOWANCE = "allowance"  # a break-glass policy's waived findings: printed, never counted


@dataclasses.dataclass(frozen=True)
class Loc:
    """Where a value came from: file path and 1-based line ("" / 0 when unknown)."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


UNKNOWN = Loc("<config>", 0)


@dataclasses.dataclass(frozen=True)
class Finding:
    """One problem: `file:line: field.path: message (fix)`."""

    rule: str
    loc: Loc
    field: str
    message: str
    fix: str = ""
    severity: Severity = Severity.ERROR
    # for findings about one policy (docs/policy-analysis.md): its name, the rule's path, the family
    policy: str | None = None
    path: str | None = None
    family: str | None = None

    def __str__(self) -> str:
        level = "" if self.severity is Severity.ERROR else f"{self.severity.value}: "
        field = f"{self.field}: " if self.field else ""
        fix = f" (fix: {self.fix})" if self.fix else ""
        return f"{self.loc}: {level}{field}{self.message}{fix}"

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "file": self.loc.file,
            "line": self.loc.line,
            "field": self.field,
            "message": self.message,
            "fix": self.fix,
            "policy": self.policy,
            "path": self.path,
            "family": self.family,
        }


class UnusableInput(VaultconfError):
    """Input that cannot be loaded at all (missing directory, YAML syntax): exit code 2."""

    def __init__(self, loc: Loc, message: str, fix: str = "") -> None:
        self.loc = loc
        self.message = message
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        fix = f" (fix: {self.fix})" if self.fix else ""
        return f"{self.loc}: {self.message}{fix}"


def field_path(path: Iterable[object], tree: object = None) -> str:
    """`users[billing-api].policies[0]`: list items carrying a `name` are shown by name, others by index."""
    out = ""
    node = tree
    for part in path:
        if isinstance(part, int):
            name = None
            if isinstance(node, list) and 0 <= part < len(node) and isinstance(node[part], dict):
                candidate = node[part].get("name")
                name = candidate if isinstance(candidate, str) else None
            out += f"[{name}]" if name else f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out
