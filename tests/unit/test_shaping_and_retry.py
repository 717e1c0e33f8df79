"""Token buckets and retry backoff: pure functions, tested alone."""

from __future__ import annotations

import random

from hypothesis import given, strategies as st

from postwave.pipeline.retry import backoff
from postwave.shaping.bucket import TokenBucket


def test_bucket_allows_burst_then_waits_for_refill() -> None:
    bucket = TokenBucket(10.0, burst=10.0)
    now = bucket._stamp
    assert all(bucket.take(1, now) == 0.0 for _ in range(10))
    wait = bucket.take(1, now)
    assert abs(wait - 0.1) < 1e-9
    assert bucket.take(1, now + 0.1 + 1e-9) == 0.0


def test_bucket_lets_a_request_larger_than_burst_through_when_full() -> None:
    bucket = TokenBucket(1.0, burst=5.0)
    now = bucket._stamp
    assert bucket.take(50, now) == 0.0  # leaves the bucket in debt
    assert bucket.take(1, now + 10) > 0  # the debt slows what follows


@given(st.integers(min_value=1, max_value=60), st.floats(min_value=0.01, max_value=600))
def test_backoff_grows_and_stays_within_cap(attempt: int, base: float) -> None:
    cap = 3600.0
    delay = backoff(attempt, base=base, cap=cap, rng=random.Random(attempt))
    ceiling = min(cap, base * 2 ** (attempt - 1))
    assert ceiling / 2 <= delay <= ceiling
