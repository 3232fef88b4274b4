"""Scheduling math, pure and clock-free so it can be tested exhaustively."""

from __future__ import annotations


def safety_margin(lifetime: float, buffer: float) -> float:
    """The margin kept before expiry: `buffer`, scaled down for short lifetimes (at most 10% of them)."""
    return max(0.0, min(buffer, lifetime * 0.1))


def refresh_at(start: float, end: float, fraction: float, jitter: float, max_jitter: float, buffer: float,
               u: float) -> float:
    """When to renew/re-fetch something valid from `start` to `end`.

    At `fraction` of its lifetime, minus a random share (u in [0, 1)) of `jitter` (a fraction of that
    delay) and of `max_jitter` (seconds), and never later than `end` minus the safety margin.
    """
    life = end - start
    if life <= 0:
        return start
    due = start + life * fraction * (1.0 - jitter * u) - max_jitter * u
    latest = end - safety_margin(life, buffer)
    return max(start, min(due, latest))


def interval_at(now: float, interval: float, jitter: float, u: float) -> float:
    """A fixed-interval refresh (static KV, `update=`), jittered so many pods do not read in lockstep."""
    return now + interval * (1.0 - jitter * u)


def backoff(attempt: int, initial: float, cap: float, u: float, remaining: float = float("inf")) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, initial * 2**attempt)).

    While a secret is still valid, the wait is also kept under a quarter of its remaining life so the
    retries keep coming before it expires.
    """
    ceiling = min(cap, initial * (2.0 ** min(attempt, 32)))
    if 0 < remaining != float("inf"):
        ceiling = min(ceiling, max(initial, remaining / 4.0))
    return max(0.05, u * ceiling)


def replace_at(now: float, end: float, original_ttl: float, buffer: float, u: float) -> float:
    """When to fetch the replacement for a lease whose renewal was capped by max_ttl.

    Nothing more can be gained by waiting, and the fetch itself (a database user, an IAM key) can take a
    while, so at half of what is left (less up to 10% jitter), and never later than the end minus the
    safety margin of the lease's full TTL rather than of the short remainder.
    """
    left = end - now
    if left <= 0:
        return now
    due = now + left * 0.5 * (1.0 - 0.1 * u)
    return max(now, min(due, end - safety_margin(max(original_ttl, left), buffer)))


def renewal_capped(new_ttl: float, original_ttl: float) -> bool:
    """Vault granted less than the lease's usual TTL: its max_ttl is near, so a fresh secret is needed."""
    return new_ttl + 1.0 < original_ttl
