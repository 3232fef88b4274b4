"""Keeping the Vault token: log in, renew at ~2/3 of its TTL, log in again when renewal is capped or
refused, and hand it back at exit. A mixin of `Sidekick` (scheduler.py)."""

from __future__ import annotations

from .errors import VaultRequestError
from .log import log
from .schedule import refresh_at, renewal_capped

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true
if TYPE_CHECKING:
    from typing import Any

    from .auth import Authenticator, Token
    from .config import Config
    from .leases import Task
    from .metrics import Metrics

LOGIN, RENEW_TOKEN = "login", "renew-token"


class TokenKeeper:
    if TYPE_CHECKING:
        cfg: Config
        clock: Any
        rng: Any
        tasks: list[Task]
        auth: Authenticator
        metrics: Metrics
        fatal: str

        def _backoff(self, attempts: int, remaining: float = ..., serving: bool = ...) -> float: ...
        def _vault_failed(self, exc: VaultRequestError, now: float) -> None: ...
        def _vault_answered(self, now: float) -> None: ...

    token: Token | None
    token_action: str
    token_due: float
    token_attempts: int
    token_original_ttl: float

    def ensure_token(self) -> bool:
        """Run the token task if due. False when there is no usable token (callers back off)."""
        now = self.clock()
        if now < self.token_due:
            return self.token is not None
        try:
            if self.token is None or self.token_action == LOGIN or now >= self.token.expires:
                self.token = self.auth.login()
                self.metrics.logins += 1
                self.token_original_ttl = self.token.ttl
                log.info("logged in to Vault", method=self.cfg.auth_method, ttl=self.token.ttl,
                         renewable=self.token.renewable)
            else:
                renewed = self.auth.renew()
                capped = renewal_capped(renewed.ttl, self.token_original_ttl)
                self.token = renewed
                log.info("token renewed", ttl=renewed.ttl, capped_by_max_ttl=capped)
                if capped or not renewed.renewable:
                    self.token_attempts = 0
                    self._vault_answered(now)
                    self._schedule_token(relogin=True)
                    return True
            self.token_attempts = 0
            self._vault_answered(now)
            # a given token (method token) cannot be replaced by logging in: renew it whenever possible
            renew = self.token.renewable and (self.cfg.renew_token or self.cfg.auth_method == "token")
            self._schedule_token(relogin=not renew)
            return True
        except VaultRequestError as exc:
            self.token_attempts += 1
            self._vault_failed(exc, now)
            if self.token_action == RENEW_TOKEN and exc.status in (400, 403):
                self.token_action = LOGIN  # the token is gone: log in again right away
                self.token_due = now
                log.warning("token renewal refused; logging in again", error=str(exc))
                return self.ensure_token() if self.token_attempts < 2 else False
            self.metrics.login_failures += 1
            if self.cfg.one_shot and not exc.retryable:
                # bad credentials (400), a refused role (403), no such mount (404): retrying changes nothing
                self.fatal = str(exc)
            remaining = self.token.expires - now if self.token else float("inf")
            serving = self.token is not None and remaining > 0
            self.token_due = now + self._backoff(self.token_attempts, remaining, serving)
            if self.token is not None and now >= self.token.expires:
                self.token = None
            log.error("Vault login failed" if self.token_action == LOGIN or self.token is None
                      else "token renewal failed", method=self.cfg.auth_method, error=str(exc),
                      attempt=self.token_attempts, retry_in=round(self.token_due - now, 1))
            return self.token is not None  # a still-valid token keeps serving the resources

    def _schedule_token(self, relogin: bool) -> None:
        tok = self.token
        assert tok is not None
        self.metrics.token_expiry = tok.expires if tok.ttl else 0.0
        if not tok.ttl:
            self.token_action, self.token_due = RENEW_TOKEN, float("inf")
            return
        self.token_action = LOGIN if relogin else RENEW_TOKEN
        self.token_due = refresh_at(tok.obtained, tok.expires, self.cfg.renew_fraction, 0.1, 0.0,
                                    self.cfg.safety_buffer, self.rng())

    def token_rejected(self) -> None:
        """A request got 403: the token was revoked or expired early. Log in again before retrying."""
        self.token_action = LOGIN
        self.token_due = self.clock()

    def revoke_token(self) -> None:
        """Hand back the token we logged in with (auth/token/revoke-self), so a leaked copy is worthless.

        Kept: with -keep-token (the token is handed on); a token we were given (method token) rather
        than obtained; and while a lease it created is still in use, because Vault revokes every lease
        created with a token when the token is revoked (website/content/docs/concepts/lease.mdx)."""
        tok = self.token
        if tok is None or self.cfg.keep_token or self.cfg.auth_method == "token":
            return
        if tok.expires <= self.clock():
            return
        in_use = [t.res.name for t in self.tasks
                  if t.written and t.fetched is not None and t.fetched.lease_id]
        if in_use:
            log.info("token kept: revoking it would revoke the leases in use", resources=",".join(in_use),
                     expires_in=None if tok.expires == float("inf") else round(tok.expires - self.clock()))
            return
        try:
            self.auth.revoke_self()
        except VaultRequestError as exc:
            log.warning("token revocation failed; it expires on its own", error=str(exc))
            return
        self.token = None
        log.info("token revoked")
