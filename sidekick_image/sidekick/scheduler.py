"""The sidekick's main loop: keep a token, fetch/renew every resource on time, write, run hooks.

Single-threaded: each resource and the token is a task with a due time; the loop runs what is due and
sleeps until the next. `clock`, `sleep` and `rng` are injectable so tests run without waiting.
"""

from __future__ import annotations

import os
import random
import threading
import time

from .auth import Authenticator
from .config import Config, Resource
from .errors import VaultRequestError
from .formats import render
from .hooks import HookRunner
from .lifecycle import FETCH, RENEW, Lifecycle, warn_insecure
from .log import log
from .metrics import Metrics
from .outputs import Claims, OutputRefused, clean_temp_files, write_files
from .schedule import backoff, interval_at, outage_level, refresh_at, renewal_capped, replace_at
from .sources import Fetched, Sources
from .tokens import LOGIN, TokenKeeper
from .vault import VaultHttp

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true
if TYPE_CHECKING:
    from typing import Any


REVOKE_TOKEN_TIMEOUT = 3.0  # seconds allowed for revoking our token at exit


class Task:
    __slots__ = ("action", "attempts", "done", "due", "failed", "fetched", "files", "last_error",
                 "original_ttl", "res", "written")

    def __init__(self, res: Resource) -> None:
        self.res = res
        self.due = 0.0
        self.action = FETCH
        self.attempts = 0
        self.fetched: Fetched | None = None
        self.original_ttl = 0.0
        self.files: list[str] = []
        self.written = False
        self.failed = False     # one-shot: retries spent
        self.done = False       # one-shot: written
        self.last_error = ""

    @property
    def expires(self) -> float:
        return self.fetched.expires if self.fetched else 0.0


class Sidekick(TokenKeeper, Lifecycle):
    def __init__(self, cfg: Config, client: VaultHttp | None = None, clock: Any = time.time,
                 sleep: Any = None, rng: Any = random.random) -> None:
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

    def path_of(self, name: str) -> str:
        return name if os.path.isabs(name) else os.path.join(self.cfg.output_dir, name)

    def retries_for(self, res: Resource) -> int:
        return res.retries or self.cfg.retries

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
    def everything(self) -> dict[str, dict[str, Any]]:
        return {t.res.name: t.fetched.data for t in self.tasks if t.fetched is not None}

    def write(self, task: Task) -> list[str]:
        assert task.fetched is not None
        res = task.res
        rendered = render(res, task.fetched.data, self.everything())
        changed = write_files(rendered, res.file_mode, res.owner, res.group, self.cfg.dryrun,
                              claims=self.claims, claimant=Claims.label(res.name))
        task.files = [self.path_of(name) for name, _ in rendered]
        task.written = True
        if changed and self.cfg.dryrun:
            log.info("dry run: secret files NOT written (and no hooks run)", resource=res.name,
                     files=",".join(changed))
        elif changed:
            self.metrics.inc("writes", res.name)
            log.info("secret files written", resource=res.name, files=",".join(changed))
            self.hooks.trigger(res.name, res.hooks, task.files)
        return changed

    def run_task(self, task: Task) -> bool:
        """Fetch or renew; False (and a backoff) on failure."""
        res = task.res
        now = self.clock()
        if task.action == RENEW and (task.fetched is None or not task.fetched.lease_id
                                     or task.expires <= now):
            task.action = FETCH  # nothing left to renew: the lease is gone
        try:
            if task.action == RENEW:
                self._renew(task, now)
            else:
                self._fetch(task, now)
            task.attempts = 0
            task.last_error = ""
            self._vault_answered(now)
            return True
        except VaultRequestError as exc:
            task.attempts += 1
            self._vault_failed(exc, now)
            task.last_error = str(exc)
            self.metrics.inc("failures", res.name)
            if exc.permission_denied:
                self.token_rejected()
            if task.action == RENEW and exc.status in (400, 403, 404) and not exc.permission_denied:
                task.action = FETCH  # the lease cannot be renewed any more: get a fresh secret now
                task.due = now
                log.warning("lease renewal refused; fetching a new secret", resource=res.name, error=str(exc))
                return False
            remaining = task.expires - now if task.fetched else float("inf")
            task.due = now + self._backoff(task.attempts, remaining, serving=task.written and remaining > 0)
            # One-shot: a permanent error (404, 400; a 403 that a fresh login did not cure) fails at once;
            # transient ones (transport, 5xx, sealed, 429) use the retries.
            permanent = not exc.retryable and not (exc.permission_denied and task.attempts < 2)
            if self.cfg.one_shot and (permanent or task.attempts > self.retries_for(res)):
                task.failed = True
            log.error("resource refresh failed", resource=res.name, path=res.path, error=str(exc),
                      attempt=task.attempts, retry_in=round(task.due - now, 1),
                      still_valid_for=round(remaining) if remaining != float("inf") else None)
            return False
        except OSError as exc:
            task.attempts += 1
            task.last_error = f"cannot write files: {exc.strerror}"
            self.metrics.inc("failures", res.name)
            task.due = now + self._backoff(task.attempts)
            if self.cfg.one_shot and task.attempts > self.retries_for(res):
                task.failed = True
            log.error("cannot write the secret files", resource=res.name, error=exc.strerror,
                      file=getattr(exc, "filename", None))
        return False

    def _fetch(self, task: Task, now: float) -> None:
        res = task.res
        old = task.fetched
        try:
            fetched = self.sources.fetch(res)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            # an answer shaped unlike a secret (a hostile or broken Vault: `"data": "text"`): this
            # resource fails like a refused secret, the process and the other resources go on
            raise OutputRefused(f"resource {res.name}: Vault's answer is not a secret "
                                f"({exc.__class__.__name__})") from None
        log.redact(f"res:{res.name}", fetched.data)
        task.fetched = fetched
        try:
            self.write(task)
        except (OSError, VaultRequestError):  # OutputRefused, a format's or template's refusal
            # Nothing new reached the disk: readiness and renewals must keep describing what is there,
            # and the new lease (a database user, an IAM key) is handed back now instead of living out
            # its TTL unused; each retry fetches afresh.
            task.fetched = old
            if fetched.lease_id:
                self.revokes.append((now, fetched.lease_id))
            raise
        task.original_ttl = fetched.ttl
        self.metrics.inc("fetches", res.name)
        self.metrics.expiry[res.name] = fetched.expires
        task.done = True
        if self.has_templates and res.format != "template":
            for other in self.tasks:
                if other is not task and other.res.format == "template" and other.fetched is not None:
                    try:
                        self.write(other)
                    except (OSError, VaultRequestError) as exc:  # the template's failure is its own, not ours
                        self.metrics.inc("failures", other.res.name)
                        log.error("cannot write the secret files", resource=other.res.name, error=str(exc))
        if old is not None and old.lease_id and old.lease_id != fetched.lease_id and res.revoke:
            self.revokes.append((now + res.revoke_delay, old.lease_id))
        self._schedule(task, now)
        log.info("secret fetched", resource=res.name, lease=bool(fetched.lease_id),
                 expires_in=None if fetched.expires == float("inf") else round(fetched.expires - now),
                 next_refresh_in=round(task.due - now, 1), next_action=task.action)

    def _renew(self, task: Task, now: float) -> None:
        fetched = task.fetched
        assert fetched is not None
        ttl, renewable = self.sources.renew(fetched.lease_id)
        fetched.obtained, fetched.ttl, fetched.renewable = now, ttl, renewable
        self.metrics.inc("renewals", task.res.name)
        self.metrics.expiry[task.res.name] = fetched.expires
        capped = renewal_capped(ttl, task.original_ttl)
        if capped or not renewable:
            # max_ttl reached: this lease ends soon; fetch a replacement before it does
            task.action = FETCH
            task.due = replace_at(now, fetched.expires, task.original_ttl, self.cfg.safety_buffer, self.rng())
        else:
            self._schedule(task, now)
        log.info("lease renewed", resource=task.res.name, ttl=ttl, capped_by_max_ttl=capped,
                 next_action=task.action, next_refresh_in=round(task.due - now, 1))

    def _schedule(self, task: Task, now: float) -> None:
        res, f = task.res, task.fetched
        assert f is not None
        u = self.rng()
        if res.update:
            task.action = RENEW if (res.renew and f.renewable and f.lease_id) else FETCH
            task.due = interval_at(now, res.update, 0.0, 0.0) - res.max_jitter * u
            if f.expires != float("inf"):  # never let a fixed interval outlive the secret
                task.due = min(task.due, refresh_at(f.obtained, f.expires, 0.95, 0.0, 0.0,
                                                    self.cfg.safety_buffer, 0.0))
        elif f.not_after:  # PKI: from the certificate's own validity, not the lease
            task.action = FETCH
            # Vault back-dates NotBefore (30 s by default): count the lifetime from when we got it
            start = max(f.not_before, f.obtained) if f.not_before else f.obtained
            task.due = refresh_at(start, f.not_after, self.cfg.renew_fraction, res.jitter, res.max_jitter,
                                  self.cfg.safety_buffer, u)
        elif f.lease_id and f.ttl:
            task.action = RENEW if (res.renew and f.renewable) else FETCH
            task.due = refresh_at(f.obtained, f.expires, self.cfg.renew_fraction, res.jitter,
                                  res.max_jitter, self.cfg.safety_buffer, u)
        else:  # static (KV): re-read at an interval; files change only when the content does
            task.action = FETCH
            task.due = interval_at(now, self.cfg.kv_update, res.jitter, u)
        task.due = max(task.due, now + 0.5)

    def run_revokes(self, final: bool = False) -> None:
        now = self.clock()
        keep = []
        for due, lease_id in self.revokes:
            if due > now and not final:
                keep.append((due, lease_id))
                continue
            try:
                self.sources.revoke(lease_id)
                log.info("old lease revoked")
            except VaultRequestError as exc:
                log.warning("lease revoke failed", error=str(exc))
        self.revokes = keep

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
