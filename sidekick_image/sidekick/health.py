"""Health and readiness: /healthz (the main loop is alive) and /readyz (every secret written and not
expired; what is missing goes to the log and the metrics, never to the probe). A mixin of `Sidekick`
(scheduler.py)."""

from __future__ import annotations

from .log import log

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true
if TYPE_CHECKING:
    from typing import Any

    from .config import Config
    from .leases import Task
    from .metrics import Metrics


class Health:
    if TYPE_CHECKING:
        cfg: Config
        clock: Any
        tasks: list[Task]
        metrics: Metrics
        heartbeat: float
        _readiness: str

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
