"""A small JSON state file on the output volume, so a restarted sidekick keeps still-good secrets.

It holds lease ids and timing (never secret data). Written atomically with mode 0600.
"""

from __future__ import annotations

import json
import os

from .log import log
from .outputs import write_files

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true
if TYPE_CHECKING:
    from typing import Any

VERSION = 1


def load(path: str) -> dict[str, dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        log.warning("state file unreadable; starting fresh", path=path)
        return {}
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return {}
    resources = data.get("resources")
    return resources if isinstance(resources, dict) else {}


def save(path: str, resources: dict[str, dict[str, Any]], dryrun: bool = False) -> None:
    if dryrun:
        return
    body = json.dumps({"version": VERSION, "resources": resources}, indent=1, sort_keys=True).encode()
    try:
        write_files([(path, body)], 0o600)
    except OSError as exc:
        log.warning("cannot write the state file", path=path, error=exc.strerror)


def files_present(paths: list[str]) -> bool:
    return bool(paths) and all(os.path.isfile(p) for p in paths)
