"""What the `vaultconf` CLI shares with the conventions users bring: the version, the Vault CLI's VAULT_*
environment, colour on a terminal (NO_COLOR), and one JSON document for every exit path.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from vaultconf.config.findings import Finding, Severity
from vaultconf.errors import VaultconfError

EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(VaultconfError):
    """Bad command-line usage or environment (exit 2); `fix` says what to write instead."""

    def __init__(self, message: str, fix: str = "", findings: Sequence[Finding] = ()) -> None:
        super().__init__(message)
        self.fix = fix
        self.findings = list(findings)


def version() -> str:
    """The installed distribution's version (the one in components/pyproject.toml)."""
    from importlib import metadata  # here: importing it costs every other command ~40 ms

    try:
        return metadata.version("vaultconf")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


# --- the Vault CLI's environment ---------------------------------------------------------------------------

_TRUE = {"1", "t", "true", "y", "yes", "on"}
_FALSE = {"", "0", "f", "false", "n", "no", "off"}


def env_bool(name: str, env: Mapping[str, str] | None = None) -> bool:
    """VAULT_SKIP_VERIFY and friends, read as the Vault CLI reads them (strconv.ParseBool, plus yes/no)."""
    raw = (env if env is not None else os.environ).get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise UsageError(f"${name} is {raw[:20]!r}, not a boolean", f"export {name}=true (or false, or unset it)")


@dataclasses.dataclass(frozen=True)
class VaultTarget:
    """Where and how to reach Vault: a flag wins over the VAULT_* variable the Vault CLI reads."""

    addr: str
    ca_cert: str | None
    skip_verify: bool


def vault_target(addr: str | None, ca_cert: str | None, skip_verify: bool | None,
                 env: Mapping[str, str] | None = None) -> VaultTarget:
    environ = env if env is not None else os.environ
    address = addr or environ.get("VAULT_ADDR", "").strip()
    if not address:
        raise UsageError("no Vault address",
                         "pass --vault-addr https://vault.example:8200 or export VAULT_ADDR")
    return VaultTarget(
        addr=address,
        ca_cert=ca_cert or environ.get("VAULT_CACERT") or None,
        skip_verify=skip_verify if skip_verify is not None else env_bool("VAULT_SKIP_VERIFY", environ),
    )


# --- colour ------------------------------------------------------------------------------------------------

_CODES = {"red": "31", "green": "32", "yellow": "33", "bold": "1"}


class Style:
    """ANSI colour when `enabled`; `auto` means: the stream is a terminal and NO_COLOR is unset or empty
    (https://no-color.org). `always`/`never` are the explicit `--color` choices."""

    def __init__(self, stream: TextIO, mode: str = "auto", env: Mapping[str, str] | None = None) -> None:
        environ = env if env is not None else os.environ
        if mode == "always":
            self.enabled = True
        elif mode == "never":
            self.enabled = False
        else:
            isatty = getattr(stream, "isatty", None)
            self.enabled = bool(isatty and isatty()) and not environ.get("NO_COLOR")

    def paint(self, text: str, colour: str) -> str:
        return f"\x1b[{_CODES[colour]}m{text}\x1b[0m" if self.enabled and text else text

    def finding(self, finding: Finding) -> str:
        return self.paint(str(finding), "red" if finding.severity is Severity.ERROR else "yellow")

    def diff_line(self, line: str) -> str:
        colour = {"+": "green", "-": "red", "~": "yellow"}.get(line[:1])
        return self.paint(line, colour) if colour else line


# --- --format json on every path ---------------------------------------------------------------------------

_FORMAT_FLAG = re.compile(r"^--format(?:=(?P<value>.*))?$")


def wants_json(argv: Sequence[str]) -> bool:
    """Whether argv asks for `--format json`, read before (and even when) argparse rejects the rest."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        match = _FORMAT_FLAG.match(arg)
        if match:
            value = match.group("value")
            if value is None:
                value = argv[i + 1] if i + 1 < len(argv) else ""
            if value == "json":
                return True
    return False


def error_document(code: int, message: str, *, file: str = "", line: int = 0, fix: str = "",
                   findings: Sequence[Finding] = ()) -> dict[str, Any]:
    return {
        "ok": False,
        "exit_code": code,
        "error": {"message": message, "file": file, "line": line, "fix": fix},
        "findings": [f.as_dict() for f in findings],
    }


def write_json(out: TextIO, doc: Mapping[str, Any]) -> None:
    out.write(json.dumps(doc, indent=2) + "\n")
