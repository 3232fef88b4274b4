"""Outage: requests per minute one sidekick sends to an unreachable Vault after 1, 5 and 15 minutes.

Simulated time, stated plainly: the sidekick has no fast-forward knob, so this drives the real scheduler
(`sidekick.scheduler.Sidekick`, its real backoff policy, its real main loop `run()`) with an injected clock
whose `sleep` advances time instantly. Two transports:

* "down at start": the real socket client (`sidekick.vault.VaultHttp`) against a closed 127.0.0.1 port,
  so every attempt is a real connection refused; counted from the sidekick's own request metrics.
* "down mid-run": the test suite's in-memory Vault double (tests/sidekick/fakes.py) serves a healthy
  start (1 h token, KV, a 1 h certificate, a 1 h database-style lease), then refuses every call; counted
  per Vault path, i.e. per resource.

Compared with vault-sidekick, whose README documents a fixed 3-10 s retry: 6-20 requests per minute per
resource, for as long as the outage lasts.
"""

from __future__ import annotations

import json
import pathlib
import random
import tempfile
import threading
from typing import Any, cast

from sidekick.config import Config, Resource
from sidekick.log import log
from sidekick.scheduler import Sidekick

from tests.sidekick.fakes import FakeClock, FakeVault

MINUTES = (1, 5, 15)
HORIZON = 16 * 60.0
VAULT_SIDEKICK = (6.0, 20.0)
LIFETIME = 600.0  # token, lease and certificate lifetime in the mid-run scenario
RUNS = 20         # seeds of the jitter; figures are means (and the worst peak)


class _StopAt:
    """Sleep that advances the fake clock and stops the loop at the horizon."""

    def __init__(self, clock: FakeClock, app: Sidekick, until: float) -> None:
        self.clock, self.app, self.until = clock, app, until

    def __call__(self, seconds: float) -> None:
        self.clock.sleep(max(seconds, 0.001))
        if self.clock.now >= self.until:
            self.app.stop_event.set()


def _config(tmp: pathlib.Path, addr: str) -> Config:
    tmp.mkdir(parents=True, exist_ok=True)
    login = tmp / "login"
    login.write_text(json.dumps({"username": "app", "password": "s3cret-pass", "method": "userpass"}))
    cfg = Config()
    cfg.vault_addr = addr
    cfg.auth_method, cfg.auth_file = "userpass", str(login)
    cfg.output_dir = str(tmp / "out")
    cfg.listen = ""
    kv = Resource("db", "kv", "kv/data/app/db")
    kv.kv_version = 2
    tls = Resource("tls", "pki", "pki/issue/app")
    tls.params = {"common_name": "app.example"}
    tls.format = "cert"
    lease = Resource("dbcreds", "secret", "database/creds/app")
    cfg.resources = [kv, tls, lease]
    return cfg.validate()


def _per_minute(times: list[float], start: float) -> dict[str, float]:
    """Requests in the minute starting m minutes after the outage began (m in MINUTES), in the first
    minute, and in the busiest whole minute of the horizon."""
    def count(lo: float) -> float:
        return float(sum(1 for t in times if start + lo <= t < start + lo + 60))
    out = {f"{m}": count(m * 60.0) for m in MINUTES}
    out["first"] = count(0.0)
    out["peak"] = max(count(float(s)) for s in range(0, int(HORIZON) - 60, 5))
    return out


def _mean(runs: list[dict[str, float]]) -> dict[str, float]:
    keys = runs[0].keys()
    return {k: round(sum(r[k] for r in runs) / len(runs), 2) for k in keys} | {
        "peak_max": max(r["peak"] for r in runs)}


def down_at_start(tmp: pathlib.Path, seed: int) -> dict[str, float]:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    clock = FakeClock()
    cfg = _config(tmp, f"http://127.0.0.1:{port}")
    pathlib.Path(cfg.output_dir).mkdir(parents=True)
    app = Sidekick(cfg, clock=clock, rng=random.Random(seed).random)
    app._sleep = _StopAt(clock, app, clock.now + HORIZON)
    times: list[float] = []
    original = app.client.raw

    def counted(*args: Any, **kwargs: Any) -> Any:
        times.append(clock.now)
        return original(*args, **kwargs)

    app.client.raw = counted
    start = clock.now
    app.run()
    return _per_minute(times, start)


def down_mid_run(tmp: pathlib.Path, seed: int) -> dict[str, dict[str, float]]:
    clock = FakeClock()
    vault = FakeVault(clock)
    # 10-minute lifetimes: during the 16-minute outage everything falls due, then expires
    vault.token_ttl, vault.token_max_ttl = LIFETIME, 100 * LIFETIME
    vault.lease_ttl, vault.lease_max_ttl = LIFETIME, 100 * LIFETIME
    vault.cert_ttl = LIFETIME
    vault.kv["app/db"] = {"password": "pw"}
    cfg = _config(tmp, "http://127.0.0.1:1")
    app = Sidekick(cfg, client=cast(Any, vault), clock=clock, rng=random.Random(seed).random)
    healthy_until = clock.now + 120.0
    app._sleep = _StopAt(clock, app, healthy_until)
    app.run()  # two healthy minutes: everything fetched and written
    if not all(t.written for t in app.tasks):
        raise RuntimeError("outage simulation: the healthy phase did not write every resource")
    vault.down = True
    start = clock.now
    before = len(vault.calls)
    app.stop_event.clear()
    app._sleep = _StopAt(clock, app, start + HORIZON)
    # run() again continues the same scheduler state (shutdown() in between only saves state)
    times: dict[str, list[float]] = {}
    original = vault.call

    def counted(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        times.setdefault(_resource_of(path), []).append(clock.now)
        return original(method, path, *args, **kwargs)

    vault.call = counted  # type: ignore[method-assign]
    app.run()
    del before
    return {name: _per_minute(ts, start) for name, ts in sorted(times.items())}


def _resource_of(path: str) -> str:
    if path.startswith(("auth/", "sys/internal")):
        return "token" if path.startswith("auth/") else "db"
    if path.startswith("kv/"):
        return "db"
    if path.startswith("pki/"):
        return "tls"
    return "dbcreds"


def run(quick: bool = False) -> dict[str, Any]:
    del quick  # simulated time: the full 16 minutes take well under a second either way
    quiet = threading.Lock()
    with quiet, tempfile.TemporaryDirectory(prefix="bench-outage-") as tmp:
        level = log.level
        log.set_level("error")
        stream = log.stream
        log.stream = open("/dev/null", "w")  # noqa: SIM115 - the simulated loop logs every retry
        try:
            base = pathlib.Path(tmp)
            starts = [down_at_start(base / f"s{i}", i) for i in range(RUNS)]
            mids = [down_mid_run(base / f"m{i}", i) for i in range(RUNS)]
            names = sorted({n for m in mids for n in m})
            return {"down_at_start": {"login": _mean(starts)},
                    "down_mid_run": {n: _mean([m[n] for m in mids if n in m]) for n in names},
                    "vault_sidekick_per_min": VAULT_SIDEKICK, "minutes": MINUTES, "runs": RUNS,
                    "lifetime_s": LIFETIME}
        finally:
            log.stream.close()
            log.stream = stream
            log.level = level


if __name__ == "__main__":
    print(json.dumps(run(), indent=1, default=str))
