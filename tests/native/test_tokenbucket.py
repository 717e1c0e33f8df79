"""Keyed token buckets with AIMD: semantics on both implementations, and their equality."""

from __future__ import annotations

import math
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.native.twins import DIFFERENTIAL, KINDS, compiled, implementation, outcome, twin


@pytest.fixture(params=KINDS)
def tb(request: pytest.FixtureRequest) -> ModuleType:
    return implementation("tokenbucket", request.param)


def test_a_new_key_starts_full_and_refills_at_its_rate(tb: ModuleType) -> None:
    buckets = tb.TokenBuckets(10.0, 5.0)
    assert [buckets.try_acquire("a", 1, 100.0) for _ in range(6)] == [True] * 5 + [False]
    assert buckets.wait_time("a", 1, 100.0) == pytest.approx(0.1)
    assert buckets.try_acquire("a", 1, 100.15) is True
    assert buckets.try_acquire("b", 5, 100.1) is True  # keys are independent
    assert len(buckets) == 2 and "a" in buckets and "c" not in buckets


def test_refill_is_capped_at_the_burst(tb: ModuleType) -> None:
    buckets = tb.TokenBuckets(10.0, 3.0)
    buckets.try_acquire("k", 3, 0.0)
    assert buckets.wait_time("k", 3, 1000.0) == 0.0
    assert buckets.try_acquire("k", 3, 1000.0) and not buckets.try_acquire("k", 1, 1000.0)


def test_a_request_larger_than_the_burst_passes_when_full_and_leaves_debt(tb: ModuleType) -> None:
    buckets = tb.TokenBuckets(2.0, 4.0)
    assert buckets.try_acquire("k", 10, 0.0) is True
    assert buckets.wait_time("k", 1, 0.0) == pytest.approx((1 + 6) / 2.0)
    assert buckets.try_acquire("k", 10, 1.0) is False


def test_time_going_backwards_adds_nothing(tb: ModuleType) -> None:
    buckets = tb.TokenBuckets(1.0, 1.0)
    assert buckets.try_acquire("k", 1, 50.0)
    assert not buckets.try_acquire("k", 1, 10.0)
    assert buckets.try_acquire("k", 1, 51.0)


def test_aimd_halves_on_throttling_and_climbs_back_to_the_ceiling(tb: ModuleType) -> None:
    buckets = tb.TokenBuckets(100.0)
    assert buckets.decrease("mx.example", 0.0) == 50.0
    assert buckets.decrease("mx.example", 0.0) == 25.0
    for _ in range(100):
        buckets.decrease("mx.example", 0.0)
    assert buckets.rate("mx.example") == 1.0  # min_fraction 0.01 of the ceiling
    rates = [buckets.increase("mx.example", 0.0) for _ in range(12)]
    assert rates[0] == 11.0 and rates[-1] == 100.0  # +10 per step, capped
    assert buckets.rate("unknown") == 100.0


def test_configure_sets_ceiling_and_burst_keeping_earned_tokens(tb: ModuleType) -> None:
    buckets = tb.TokenBuckets(1.0)
    buckets.configure("t1", 50.0, 10.0, 0.0)
    assert buckets.rate("t1") == 50.0
    assert [buckets.try_acquire("t1", 1, 0.0) for _ in range(11)].count(True) == 10
    buckets.decrease("t1", 0.0)
    buckets.configure("t1", 80.0, 2.0, 1.0)
    assert buckets.rate("t1") == 80.0
    assert buckets.try_acquire("t1", 2, 1.0) and not buckets.try_acquire("t1", 1, 1.0)
    buckets.remove("t1")
    assert "t1" not in buckets


def test_a_removed_key_starts_again_whichever_equal_key_object_is_used(tb: ModuleType) -> None:
    buckets = tb.TokenBuckets(1.0, 2.0)
    first, same = ("10.0.0.1", "site"), tuple(["10.0.0.1", "site"])
    assert first == same and first is not same
    assert buckets.try_acquire(first, 2, 0.0) and not buckets.try_acquire(same, 1, 0.0)
    buckets.decrease(first, 0.0)
    buckets.remove(same)
    assert buckets.rate(first) == 1.0 and first not in buckets
    assert buckets.try_acquire(first, 2, 0.0)  # a new, full bucket, not the cached one


def test_many_keys_each_keep_their_own_bucket(tb: ModuleType) -> None:
    buckets = tb.TokenBuckets(1.0, 1.0)
    keys = [f"tenant-{i}" for i in range(500)]  # more keys than any cache has slots
    assert all(buckets.try_acquire(k, 1, 0.0) for k in keys)
    assert not any(buckets.try_acquire(k, 1, 0.0) for k in keys)
    assert not any(buckets.try_acquire("".join(["tenant-", str(i)]), 1, 0.0) for i in range(500))
    assert all(buckets.try_acquire(k, 1, 1.0) for k in keys) and len(buckets) == 500


def test_acquire_all_takes_from_every_key_or_from_none(tb: ModuleType) -> None:
    buckets = tb.TokenBuckets(1.0, 3.0)
    buckets.configure("site", 1.0, 1.0, 0.0)
    assert buckets.try_acquire_all(("tenant", "site"), 1, 0.0) is True
    assert buckets.try_acquire_all(["tenant", "site"], 1, 0.0) is False  # site is empty
    assert buckets.try_acquire("tenant", 2, 0.0)  # so tenant was not charged for it
    assert buckets.wait_time_all(("tenant", "site", "other"), 1, 0.0) == pytest.approx(1.0)
    assert buckets.try_acquire_all((), 1, 0.0) is True and buckets.wait_time_all((), 1, 0.0) == 0.0
    keys = [f"k{i}" for i in range(12)]  # past the compiled module's small-array path
    assert buckets.try_acquire_all(keys, 3, 0.0) and not buckets.try_acquire_all(keys, 1, 0.0)
    with pytest.raises(TypeError):
        buckets.try_acquire_all(5, 1, 0.0)


@pytest.mark.parametrize("bad", [-1, math.nan, math.inf, "x"])
def test_bad_numbers_are_refused(tb: ModuleType, bad: object) -> None:
    buckets = tb.TokenBuckets(1.0)
    with pytest.raises((ValueError, TypeError)):
        buckets.try_acquire("k", bad, 0.0)
    with pytest.raises((ValueError, TypeError)):
        buckets.wait_time("k", 1, bad)
    with pytest.raises(ValueError):
        tb.TokenBuckets(0)


_numbers = st.one_of(
    st.floats(min_value=-1, max_value=1e6),
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.integers(min_value=-2, max_value=10**6),
)
# Keys as one shared object each and as equal but distinct objects built per call, so the
# compiled module's identity cache is exercised both ways.
_keys = st.one_of(
    st.sampled_from(["ka", "kb", "kc", ("10.0.0.1", "google.com")]),
    st.sampled_from(["a", "b"]).map(lambda c: "".join(["k", c])),
    st.sampled_from(["10.0.0.1", "10.0.0.2"]).map(lambda ip: (ip, "google.com")),
)
_operation = st.tuples(
    st.sampled_from(["try_acquire", "wait_time", "decrease", "increase", "rate", "configure", "remove",
                     "try_acquire_all", "wait_time_all"]),
    _keys,
    _numbers,
    st.floats(min_value=0, max_value=1e4),
)


@DIFFERENTIAL
@given(
    rate=st.floats(min_value=0.001, max_value=1e5),
    burst=st.one_of(st.none(), st.floats(min_value=0.001, max_value=1e5)),
    operations=st.lists(_operation, max_size=60),
)
def test_compiled_equals_twin(rate: float, burst: float | None, operations: list[tuple[str, object, float, float]]) -> None:
    both = [compiled("tokenbucket").TokenBuckets(rate, burst), twin("tokenbucket").TokenBuckets(rate, burst)]
    now = 0.0
    for name, key, n, step in operations:
        now += step
        results = []
        for buckets in both:
            if name in ("try_acquire", "wait_time"):
                results.append(outcome(getattr(buckets, name), key, n, now))
            elif name in ("try_acquire_all", "wait_time_all"):
                keys = [key, "kb"] if step < 5e3 else [key]  # a list (converted) or a tuple
                results.append(outcome(getattr(buckets, name), keys if step < 2e3 else tuple(keys), n, now))
            elif name in ("decrease", "increase"):
                results.append(outcome(getattr(buckets, name), key, now))
            elif name == "configure":
                results.append(outcome(buckets.configure, key, n, None, now))
            elif name == "remove":
                results.append(outcome(buckets.remove, key))
            else:
                results.append(outcome(buckets.rate, key))
        assert results[0] == results[1], (name, key, n, now)
        assert [len(b) for b in both][0] == len(both[1])
