"""The state store: a small JSON file on the output volume, so a restarted sidekick keeps still-good
secrets (leases and certificates) instead of issuing new ones. It holds lease ids and timing, never secret
data; written atomically with mode 0600. `StateStore` is a mixin of `Sidekick` (scheduler.py).
"""

from __future__ import annotations

import json
import os

from .leases import FETCH
from .log import log
from .outputs import write_files
from .schedule import safety_margin
from .sources import Fetched

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true
if TYPE_CHECKING:
    from typing import Any

    from .config import Config
    from .leases import Task
    from .metrics import Metrics

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


class StateStore:
    if TYPE_CHECKING:
        cfg: Config
        clock: Any
        tasks: list[Task]
        metrics: Metrics
        has_templates: bool

    def restore(self) -> None:
        """Adopt still-good leases and certificates from the state file instead of issuing new ones."""
        if self.cfg.dryrun or self.has_templates:
            return  # templates need every resource's data in memory
        saved = load(self.cfg.state_path)
        now = self.clock()
        for task in self.tasks:
            entry = saved.get(task.res.name)
            if not entry or entry.get("path") != task.res.path or entry.get("type") != task.res.type:
                continue
            files = [str(f) for f in entry.get("files") or []]
            fetched = Fetched({}, float(entry.get("obtained") or 0), str(entry.get("lease_id") or ""),
                              float(entry.get("ttl") or 0), bool(entry.get("renewable")))
            fetched.not_before = float(entry.get("not_before") or 0)
            fetched.not_after = float(entry.get("not_after") or 0)
            due = float(entry.get("due") or 0)
            if not (fetched.not_after or fetched.lease_id) or not files_present(files):
                continue
            life = fetched.expires - fetched.obtained
            if fetched.expires - now <= safety_margin(life, self.cfg.safety_buffer) or due <= 0:
                continue
            task.fetched, task.files, task.written = fetched, files, True
            task.original_ttl = float(entry.get("original_ttl") or fetched.ttl)
            task.action = str(entry.get("action") or FETCH)
            task.due = max(now, due)
            self.metrics.expiry[task.res.name] = fetched.expires
            log.info("kept a still-valid secret from the state file", resource=task.res.name,
                     expires_in=round(fetched.expires - now), next_refresh_in=round(task.due - now))

    def save_state(self) -> None:
        entries: dict[str, dict[str, Any]] = {}
        for task in self.tasks:
            f = task.fetched
            if f is None or not task.written or not (f.lease_id or f.not_after):
                continue
            entries[task.res.name] = {
                "type": task.res.type, "path": task.res.path, "files": task.files, "obtained": f.obtained,
                "lease_id": f.lease_id, "ttl": f.ttl, "renewable": f.renewable, "not_before": f.not_before,
                "not_after": f.not_after, "due": task.due, "action": task.action,
                "original_ttl": task.original_ttl,
            }
        save(self.cfg.state_path, entries, self.cfg.dryrun)
