"""The sidekick's start and end: state kept across restarts, readiness, start-up warnings, and handing
back its token at exit. A mixin of `Sidekick` (scheduler.py keeps the loop itself)."""

from __future__ import annotations

from . import state as state_file
from .log import log
from .schedule import safety_margin
from .sources import Fetched

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true
if TYPE_CHECKING:
    from typing import Any

    from .auth import Authenticator, Token
    from .config import Config
    from .metrics import Metrics
    from .scheduler import Task

FETCH, RENEW = "fetch", "renew"


class Lifecycle:
    if TYPE_CHECKING:
        cfg: Config
        clock: Any
        tasks: list[Task]
        token: Token | None
        auth: Authenticator
        metrics: Metrics
        heartbeat: float
        has_templates: bool
        _readiness: str

    def restore(self) -> None:
        """Adopt still-good leases and certificates from the state file instead of issuing new ones."""
        if self.cfg.dryrun or self.has_templates:
            return  # templates need every resource's data in memory
        saved = state_file.load(self.cfg.state_path)
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
            if not (fetched.not_after or fetched.lease_id) or not state_file.files_present(files):
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
        state_file.save(self.cfg.state_path, entries, self.cfg.dryrun)

    def health(self) -> tuple[bool, str]:
        stale = self.clock() - self.heartbeat
        limit = max(120.0, self.cfg.backoff_cap * 2)
        return (stale < limit, "ok" if stale < limit else f"main loop stalled for {stale:.0f}s")

    def ready(self) -> tuple[bool, str]:
        now = self.clock()
        problems = []
        for task in self.tasks:
            if not task.written:
                problems.append(f"{task.res.name}: not written yet" +
                                (f" ({task.last_error})" if task.last_error else ""))
            elif task.expires <= now:
                why = task.last_error or "pending"
                problems.append(f"{task.res.name}: expired and not refreshed ({why})")
        return (not problems, "ready" if not problems else "; ".join(problems))

    def _log_readiness(self) -> None:
        """/readyz says only ready or not; why goes to the log (on change) and to the metrics."""
        ok, details = self.ready()
        self.metrics.ready = {t.res.name: float(t.written and t.expires > self.clock()) for t in self.tasks}
        if details != self._readiness:
            self._readiness = details
            log.log("info" if ok else "warning", "ready" if ok else "not ready", details=details)


def warn_insecure(cfg: Config) -> None:
    """Credentials and secrets in clear text, or to a server nobody verified: say so at every start."""
    from .vault import urlsplit

    host = urlsplit(cfg.vault_addr).hostname
    loopback = host == "localhost" or host == "::1" or host.startswith("127.")
    if cfg.vault_addr.startswith("http://") and not loopback:
        log.warning("the Vault address is plain http: the login credentials, the token and every secret "
                    "cross the network unencrypted; use https://", vault=cfg.vault_addr)
    if cfg.tls_skip_verify:
        log.warning("tls_skip_verify is set: Vault's certificate is not checked, so anyone on the path "
                    "can impersonate Vault and receive the login credentials; use -ca-cert instead")
