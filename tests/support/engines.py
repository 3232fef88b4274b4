"""Where the engines built by `make engines` are found: `.engines/bin` first, then PATH.

One lookup for every engine helper (Vault, Pulumi, kube-apiserver, PostgreSQL) and the pytest fixtures; a
missing engine is an error naming `make engines`, never a skip.
"""

from __future__ import annotations

import os
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parents[2]
ENGINES_BIN = ROOT / ".engines" / "bin"


def locate(name: str, *aliases: str) -> pathlib.Path | None:
    """`.engines/bin/NAME`, then NAME (or an alias, e.g. `bao` for `vault`) on PATH; None if none exists."""
    candidate = ENGINES_BIN / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    for each in (name, *aliases):
        found = shutil.which(each)
        if found:
            return pathlib.Path(found)
    return None


def missing_message(name: str) -> str:
    return f"engine '{name}' is missing: run `make engines` (it builds it into {ENGINES_BIN})"


def find_engine(name: str, error: type[Exception] = RuntimeError, *aliases: str) -> pathlib.Path:
    """Like `locate`, but raises `error` with a message naming `make engines` when the engine is missing."""
    found = locate(name, *aliases)
    if found is None:
        raise error(missing_message(name))
    return found
