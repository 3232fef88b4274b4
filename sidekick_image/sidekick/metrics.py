"""Prometheus text exposition, hand-written: prometheus_client costs ~5 MiB RSS for a dozen series."""

from __future__ import annotations

import threading
import time

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true
if TYPE_CHECKING:
    from typing import Any


class Metrics:
    def __init__(self, clock: Any = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self.requests: dict[str, int] = {}
        self.renewals: dict[str, int] = {}
        self.fetches: dict[str, int] = {}
        self.failures: dict[str, int] = {}
        self.writes: dict[str, int] = {}
        self.expiry: dict[str, float] = {}
        self.ready: dict[str, float] = {}  # 1 written and unexpired, 0 not (the why is in the log)
        self.logins = 0
        self.login_failures = 0
        self.token_expiry = 0.0

    def vault_request(self, outcome: str) -> None:
        with self._lock:
            self.requests[outcome] = self.requests.get(outcome, 0) + 1

    def inc(self, table: str, resource: str) -> None:
        with self._lock:
            counts: dict[str, int] = getattr(self, table)
            counts[resource] = counts.get(resource, 0) + 1

    def render(self) -> str:
        now = self.clock()
        out: list[str] = []

        def family(name: str, kind: str, help_text: str, rows: list[tuple[str, float]]) -> None:
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")
            for labels, value in rows:
                if value == float("inf"):
                    text = "+Inf"
                else:
                    text = repr(float(value)) if kind == "gauge" else str(int(value))
                out.append(f"{name}{labels} {text}")

        def per(table: dict[str, Any]) -> list[tuple[str, float]]:
            return [(f'{{resource="{_esc(k)}"}}', v) for k, v in sorted(table.items())]

        with self._lock:
            family("sidekick_resource_expiry_seconds", "gauge",
                   "Seconds until the resource's secret expires (+Inf: no expiry).",
                   [(lbl, v - now if v != float("inf") else v) for lbl, v in per(self.expiry)])
            family("sidekick_resource_ready", "gauge",
                   "1 while the resource's files are written and unexpired (/readyz needs all), else 0.",
                   per(self.ready))
            family("sidekick_resource_renewals_total", "counter", "Lease renewals that succeeded.",
                   per(self.renewals))
            family("sidekick_resource_fetches_total", "counter", "Secrets fetched (issued, read).",
                   per(self.fetches))
            family("sidekick_resource_failures_total", "counter", "Failed fetches, renewals or writes.",
                   per(self.failures))
            family("sidekick_resource_writes_total", "counter", "Times the resource's files changed.",
                   per(self.writes))
            family("sidekick_vault_requests_total", "counter", "Vault HTTP requests by outcome.",
                   [(f'{{outcome="{k}"}}', v) for k, v in sorted(self.requests.items())])
            family("sidekick_logins_total", "counter", "Successful Vault logins.", [("", self.logins)])
            family("sidekick_login_failures_total", "counter", "Failed Vault logins.",
                   [("", self.login_failures)])
            family("sidekick_token_expiry_seconds", "gauge", "Seconds until the Vault token expires.",
                   [("", (self.token_expiry - now) if self.token_expiry else 0.0)])
        return "\n".join(out) + "\n"


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
