"""Retry backoff: a pure function, tested alone (token buckets: tests/native)."""

from __future__ import annotations

import random

from hypothesis import given, strategies as st

from postwave.pipeline.retry import backoff


@given(st.integers(min_value=1, max_value=60), st.floats(min_value=0.01, max_value=600))
def test_backoff_grows_and_stays_within_cap(attempt: int, base: float) -> None:
    cap = 3600.0
    delay = backoff(attempt, base=base, cap=cap, rng=random.Random(attempt))
    ceiling = min(cap, base * 2 ** (attempt - 1))
    assert ceiling / 2 <= delay <= ceiling

