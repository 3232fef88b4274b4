"""Scheduling math, pure and clock-free so it can be tested exhaustively."""

from __future__ import annotations

import os


def unit_random() -> float:
    """A uniform float in [0, 1) from os.urandom: the `random` module (with math, bisect, _sha512 and
    _random) costs RSS the sidekick's jitter does not need (issue 16)."""
    return int.from_bytes(os.urandom(7), "big") / (1 << 56)


def random_text(size: int, alphabet: str) -> str:
    """`size` characters drawn uniformly from `alphabet` (at most 256) with os.urandom; bytes past the
    largest multiple of len(alphabet) are dropped, so no character is more likely than another."""
    limit = 256 - 256 % len(alphabet)
    out: list[str] = []
    while len(out) < size:
        out.extend(alphabet[b % len(alphabet)] for b in os.urandom(size - len(out) + 8) if b < limit)
    return "".join(out[:size])


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


SERVING_FLOOR = 60.0  # retry ceiling while a valid secret is in place: waits of 30-60 s, ≤ 2 a minute


def backoff(attempt: int, initial: float, cap: float, u: float, remaining: float = float("inf"),
            serving: bool = False) -> float:
    """Capped exponential backoff with equal jitter: uniform in [c/2, c), c = min(cap, initial * 2**attempt).

    The jitter spreads many pods apart; its floor (half the ceiling) bounds how fast one thing can retry.
    `serving`: a still-valid secret or token is in place, so nothing waits on this retry: the ceiling is at
    least SERVING_FLOOR (or the cap, if smaller), i.e. at most two tries a minute from the first failure on,
    and it is kept near a quarter of the `remaining` life so the tries keep coming before it expires; no
    speed-up as the end nears, which would flood a Vault that is struggling. Without one (start-up, or
    expired) the quick exponential steps apply: something is waiting for the file.
    """
    ceiling = min(cap, initial * (2.0 ** min(attempt, 32)))
    if serving:
        floor = min(cap, SERVING_FLOOR)
        ceiling = max(ceiling, floor)
        if 0 < remaining != float("inf"):
            ceiling = min(ceiling, max(floor, remaining / 4.0))
    return max(0.05, ceiling * (0.5 + 0.5 * u))


def outage_level(down_for: float, initial: float) -> int:
    """The attempt number a request failing now would have reached had it been retrying with this backoff
    since Vault became unreachable `down_for` seconds ago (the ceilings 1, 2, 4 ... add up to 2**n - 1)."""
    if down_for <= 0 or initial <= 0:
        return 0
    n = 0
    while n < 32 and initial * (2.0 ** (n + 1) - 1) <= down_for:
        n += 1
    return n


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
