"""Keeping the resources: fetch each secret, write its files, renew its lease (or fetch anew) on time,
and revoke what is handed back. A mixin of `Sidekick` (scheduler.py), beside the token keeper (tokens.py):
as in Vault's lifetime watcher, the token's renewal and the leases' renewals are kept apart."""

from __future__ import annotations

import os

from .errors import VaultRequestError
from .formats import render
from .log import log
from .metrics import Metrics
from .outputs import Claims, OutputRefused, write_files
from .schedule import interval_at, refresh_at, renewal_capped, replace_at
from .sources import Fetched, Sources

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true
if TYPE_CHECKING:
    from typing import Any

    from .config import Config, Resource
    from .hooks import HookRunner

FETCH, RENEW = "fetch", "renew"


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


class ResourceKeeper:
    if TYPE_CHECKING:
        cfg: Config
        clock: Any
        rng: Any
        tasks: list[Task]
        sources: Sources
        hooks: HookRunner
        metrics: Metrics
        claims: Claims
        revokes: list[tuple[float, str]]
        has_templates: bool

        def _backoff(self, attempts: int, remaining: float = ..., serving: bool = ...) -> float: ...
        def _vault_failed(self, exc: VaultRequestError, now: float) -> None: ...
        def _vault_answered(self, now: float) -> None: ...
        def token_rejected(self) -> None: ...

    def path_of(self, name: str) -> str:
        return name if os.path.isabs(name) else os.path.join(self.cfg.output_dir, name)

    def retries_for(self, res: Resource) -> int:
        return res.retries or self.cfg.retries

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
