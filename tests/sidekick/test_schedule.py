"""Scheduling math: refresh times, safety margins, backoff."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sidekick.schedule import (
    backoff,
    interval_at,
    outage_level,
    refresh_at,
    renewal_capped,
    replace_at,
    safety_margin,
)

times = st.floats(min_value=0, max_value=1e9, allow_nan=False)
lives = st.floats(min_value=1, max_value=1e7, allow_nan=False)
unit = st.floats(min_value=0, max_value=0.999999, allow_nan=False)


def test_two_thirds_without_jitter() -> None:
    assert refresh_at(1000, 1000 + 3600, 2 / 3, 0.1, 0, 30, 0.0) == 1000 + 2400


def test_jitter_only_brings_it_earlier() -> None:
    assert refresh_at(0, 3600, 2 / 3, 0.1, 0, 30, 0.99) == 2400 * (1 - 0.099)
    assert refresh_at(0, 3600, 2 / 3, 0.0, 60, 30, 0.5) == 2400 - 30


def test_never_later_than_expiry_minus_buffer() -> None:
    # a late fraction is clamped to expiry - buffer
    assert refresh_at(0, 3600, 0.999, 0, 0, 30, 0) == 3570
    # short lifetimes scale the buffer down to 10 %
    assert safety_margin(10, 30) == 1.0
    assert refresh_at(0, 10, 0.99, 0, 0, 30, 0) == 9.0


@given(start=times, life=lives, fraction=st.floats(0.1, 0.95), jitter=st.floats(0, 0.5),
       max_jitter=st.floats(0, 600), buffer=st.floats(0, 300), u=unit)
def test_refresh_window(start: float, life: float, fraction: float, jitter: float, max_jitter: float,
                        buffer: float, u: float) -> None:
    end = start + life
    due = refresh_at(start, end, fraction, jitter, max_jitter, buffer, u)
    assert start <= due <= end - safety_margin(life, buffer) + 1e-6 * max(1.0, end)


def test_expired_or_empty_window() -> None:
    assert refresh_at(100, 100, 2 / 3, 0.1, 0, 30, 0.5) == 100
    assert refresh_at(100, 50, 2 / 3, 0.1, 0, 30, 0.5) == 100


@given(attempt=st.integers(0, 100), u=unit)
def test_backoff_equal_jitter_with_cap(attempt: int, u: float) -> None:
    wait = backoff(attempt, 1.0, 300.0, u)
    ceiling = min(300.0, 2.0 ** attempt)
    assert max(0.05, ceiling / 2) <= wait <= max(0.05, ceiling)


def test_backoff_grows_and_respects_remaining_life() -> None:
    assert [backoff(a, 1, 300, 0.0) for a in (0, 1, 2, 3)] == [0.5, 1.0, 2.0, 4.0]
    assert [backoff(a, 1, 300, 1.0) for a in (0, 1, 2, 3)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff(20, 1, 300, 1.0) == 300 and backoff(20, 1, 300, 0.0) == 150
    # a valid secret in place: 30-60 s from the first failure, a quarter of a long remaining life at most
    assert backoff(0, 1, 300, 0.0, remaining=3000, serving=True) == 30
    assert backoff(20, 1, 300, 1.0, remaining=1000, serving=True) == 250
    # near expiry: never under the 60 s ceiling, so at most two tries a minute however close the end is
    assert backoff(20, 1, 300, 0.0, remaining=40, serving=True) == 30
    assert backoff(20, 1, 300, 1.0, remaining=2, serving=True) == 60
    assert backoff(20, 1, 5, 1.0, remaining=2, serving=True) == 5  # a cap below the floor wins
    assert backoff(20, 1, 300, 1.0, remaining=-5) == 300  # expired: plain capped backoff


@given(attempt=st.integers(0, 100), u=unit, remaining=st.floats(0.01, 1e6))
def test_backoff_serving_is_at_most_two_a_minute(attempt: int, u: float, remaining: float) -> None:
    assert backoff(attempt, 1.0, 300.0, u, remaining, serving=True) >= 30.0


def test_outage_level_matches_the_backoff_it_replaces() -> None:
    assert [outage_level(t, 1.0) for t in (0, 0.5, 1, 2.9, 3, 7, 100, 1e9)] == [0, 0, 1, 1, 2, 3, 6, 29]
    assert outage_level(10, 0) == 0


def test_interval_and_capped() -> None:
    assert interval_at(100, 300, 0.1, 0.0) == 400
    assert interval_at(100, 300, 0.1, 0.5) == 385
    assert renewal_capped(100, 600) and not renewal_capped(600, 600) and not renewal_capped(599.5, 600)


def test_replace_at_capped_lease() -> None:
    # 1 h leases, the renewal capped 20 min short: replaced after about 10 min, not in the last moments
    assert replace_at(0, 1200, 3600, 30, 0.0) == 600
    assert 540 <= replace_at(0, 1200, 3600, 30, 0.999) < 600
    # a 2 s remainder of a 6 s lease: halfway, and no later than the 6 s lease's margin (0.6 s) before the end
    assert replace_at(12, 14, 6, 30, 0.0) == 13
    assert replace_at(12, 12.5, 6, 30, 0.0) == 12  # less left than the margin: now
    assert replace_at(20, 14, 6, 30, 0.5) == 20    # already over


def test_os_random_helpers_are_uniform_and_in_range() -> None:
    """unit_random and random_text replace the `random` module (issue 16: its RSS): in range, every
    character reachable, and no character favoured by a modulo bias (62 does not divide 256)."""
    from collections import Counter

    from sidekick.schedule import random_text, unit_random

    draws = [unit_random() for _ in range(2000)]
    assert all(0.0 <= u < 1.0 for u in draws)
    assert min(draws) < 0.05 and max(draws) > 0.95
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    assert len(random_text(0, alphabet)) == 0 and len(random_text(37, alphabet)) == 37
    counts = Counter(random_text(62 * 400, alphabet))
    assert set(counts) == set(alphabet)
    # expected 400 each; a 4/3 bias on the first 8 characters (256 % 62) would put them near 530
    assert max(counts.values()) < 500 and min(counts.values()) > 300
