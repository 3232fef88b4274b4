"""The sidekick's main loop: keep a token, fetch/renew every resource on time, write, run hooks; start-up
and shutdown.

Single-threaded: each resource and the token is a task with a due time; the loop runs what is due and
sleeps until the next. `clock`, `sleep` and `rng` are injectable so tests run without waiting.
"""

from __future__ import annotations

import os
import threading
import time

from .auth import Authenticator
from .config import Config
from .errors import VaultRequestError
from .health import Health
from .hooks import HookRunner
from .leases import ResourceKeeper, Task
from .log import log
from .metrics import Metrics
from .outputs import Claims, clean_temp_files
from .schedule import backoff, outage_level, unit_random
from .sources import Sources
from .state import StateStore
from .tokens import LOGIN, TokenKeeper
from .vault import VaultHttp

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true
if TYPE_CHECKING:
    from typing import Any


REVOKE_TOKEN_TIMEOUT = 3.0  # seconds allowed for revoking our token at exit


class Sidekick(TokenKeeper, ResourceKeeper, StateStore, Health):
    """The main loop over the token keeper (tokens.py), the resource and lease keeper (leases.py), the state
    store (state.py) and health (health.py): what is due runs, then it sleeps until the next due time."""

    def __init__(self, cfg: Config, client: VaultHttp | None = None, clock: Any = time.time,
                 sleep: Any = None, rng: Any = unit_random) -> None:
        self.cfg = cfg
        self.clock = clock
        self.rng = rng
        self.metrics = Metrics(clock)
        self.client = client or VaultHttp(cfg.vault_addr, cfg.ca_cert, cfg.tls_skip_verify,
                                          cfg.vault_timeout, self.metrics)
        if self.client.metrics is None:
            self.client.metrics = self.metrics
        self.auth = Authenticator(cfg, self.client, clock)
        self.sources = Sources(self.client, clock)
        self.hooks = HookRunner()
        self.stop_event = threading.Event()
        self.refresh_event = threading.Event()
        self._sleep = sleep or self._wait
        self.tasks = [Task(r) for r in cfg.resources]
        self.token = None
        self.token_action = LOGIN
        self.token_due = 0.0
        self.token_attempts = 0
        self.token_original_ttl = 0.0
        self.down_since: float | None = None  # Vault unreachable (connection refused, 5xx, sealed) since
        self.revokes: list[tuple[float, str]] = []
        self.heartbeat = clock()
        self.has_templates = any(t.res.format == "template" for t in self.tasks)
        self.claims = Claims.for_config(cfg)  # which files each resource may write (outputs.py)
        self.fatal = ""             # one-shot: a permanent error (bad credentials, 403 at login): stop now
        self.deadline = float("inf")  # one-shot: the clock() time by which it must be done
        self._readiness = ""        # the last not-ready details logged (logged on change, never served)

    # ------------------------------------------------------------------------------------ helpers
    def _wait(self, seconds: float) -> None:
        self.refresh_event.wait(max(0.0, seconds)) if not self.stop_event.is_set() else None
    def _backoff(self, attempts: int, remaining: float = float("inf"), serving: bool = False) -> float:
        # During an outage, something that fails for the first time backs off as if it had been retrying
        # since the outage began: no fresh burst of fast retries from each secret as it falls due.
        if self.down_since is not None:
            down_for = self.clock() - self.down_since
            attempts = max(attempts, 1 + outage_level(down_for, self.cfg.backoff_initial))
        return backoff(attempts - 1, self.cfg.backoff_initial, self.cfg.backoff_cap, self.rng(), remaining,
                       serving)

    def _vault_failed(self, exc: VaultRequestError, now: float) -> None:
        if (exc.status == 0 or exc.status >= 500) and self.down_since is None:
            self.down_since = now

    def _vault_answered(self, now: float) -> None:
        """A request succeeded: if Vault was away, retry everything that is backing off now."""
        if self.down_since is None:
            return
        self.down_since = None
        for task in self.tasks:
            if task.attempts and not task.failed:
                task.due = min(task.due, now)
        log.info("Vault is reachable again; retrying what failed")

    # ------------------------------------------------------------------------------------ resources
    # ------------------------------------------------------------------------------------ loop
    def step(self) -> float:
        """Run everything due; returns the time of the next due task."""
        self.heartbeat = self.clock()
        if self.refresh_event.is_set():
            self.refresh_event.clear()
            for task in self.tasks:
                task.due = min(task.due, self.clock())
        if self.token is not None and self.auth.credentials_changed():
            # a rotated password: prove it works now rather than at the next scheduled login; the old
            # token is kept (its leases are on disk) and serves on if the new credentials fail
            log.info("credentials file changed; logging in again", file=self.cfg.auth_file)
            self.token_action, self.token_due, self.token_attempts = LOGIN, self.clock(), 0
        if not self.ensure_token():
            return self.token_due
        changed = False
        for task in sorted(self.tasks, key=lambda t: t.due):
            if self.stop_event.is_set():
                break
            if task.failed or (self.cfg.one_shot and task.done):
                continue
            if task.due <= self.clock():
                changed = self.run_task(task) or changed
                if self.token_due <= self.clock() and not self.ensure_token():
                    break
        if self.revokes:
            self.run_revokes()
        if changed and not self.cfg.one_shot:
            self.save_state()
        pending = [t.due for t in self.tasks if not t.failed and not (self.cfg.one_shot and t.done)]
        pending.append(self.token_due)
        pending.extend(due for due, _ in self.revokes)
        return min(pending)

    def run(self) -> int:
        cfg = self.cfg
        if not cfg.dryrun:
            try:
                os.makedirs(cfg.output_dir, mode=0o750, exist_ok=True)
            except OSError as exc:
                log.error("cannot create the output directory", path=cfg.output_dir, error=exc.strerror)
                return 1
            clean_temp_files(cfg.output_dir)
        if not cfg.one_shot:
            self.restore()
        else:
            self.deadline = self.clock() + cfg.one_shot_timeout
            self.client.deadline = time.monotonic() + cfg.one_shot_timeout
        warn_insecure(cfg)
        log.info("sidekick started", mode="one-shot" if cfg.one_shot else "sidecar", vault=cfg.vault_addr,
                 resources=len(self.tasks), output=cfg.output_dir, dryrun=cfg.dryrun)
        code = 0
        try:
            code = self._loop()
        finally:
            self.shutdown()
        failed = [t for t in self.tasks if t.failed]
        for task in failed:
            log.error("one-shot: giving up on a resource", resource=task.res.name, path=task.res.path,
                      attempts=task.attempts, error=task.last_error)
        if cfg.dryrun:
            log.info("dry run: nothing was written")
        return 1 if failed else code

    def _loop(self) -> int:
        cfg = self.cfg
        while not self.stop_event.is_set():
            next_due = self.step()
            if cfg.one_shot:
                if self.fatal:
                    log.error("one-shot: giving up, cannot log in to Vault (a permanent error, not retried)",
                              error=self.fatal)
                    return 1
                if self.token is not None and all(t.done or t.failed for t in self.tasks):
                    return 0  # a login that never succeeded is never success, even with no resources
                if self.token is None and self.token_attempts > cfg.retries:
                    log.error("one-shot: giving up, cannot log in to Vault", attempts=self.token_attempts)
                    return 1
                if self.clock() >= self.deadline:
                    pending = [t.res.name for t in self.tasks if not (t.done or t.failed)]
                    log.error("one-shot: time bound reached", seconds=cfg.one_shot_timeout,
                              logged_in=self.token is not None, pending=",".join(pending))
                    return 1
                next_due = min(next_due, self.deadline)
            else:
                self._log_readiness()
            # wake at least every 10 s: liveness heartbeat, a rotated credentials file is noticed,
            # and a clock jump never oversleeps
            self._sleep(min(max(0.0, next_due - self.clock()), 10.0))
        return 1 if cfg.one_shot else 0  # one-shot stopped by a signal before it was done

    def shutdown(self) -> None:
        self.hooks.stop()
        if not self.cfg.one_shot:
            for task in self.tasks:
                if task.res.revoke and task.fetched is not None and task.fetched.lease_id:
                    self.revokes.append((0.0, task.fetched.lease_id))
                    task.written = False
            if self.revokes and self.token is not None:
                self.run_revokes(final=True)
            self.save_state()
        # The token revocation gets its own short bound: a Vault that stopped answering must not hold a
        # one-shot (past its -one-shot-timeout) or a terminating pod (its grace period) for long.
        self.client.deadline = time.monotonic() + REVOKE_TOKEN_TIMEOUT
        self.revoke_token()
        self.client.close()
        log.info("sidekick stopped")


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
