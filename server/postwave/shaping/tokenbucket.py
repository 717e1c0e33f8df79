"""Keyed token buckets with AIMD rates: the twin of ``native/tokenbucket.pyx``.

One :class:`TokenBuckets` holds a bucket per shaping key (a tenant, a source IP, a
``(source IP, destination site)`` pair). Time is passed in (``now``, in seconds of any
monotonic clock) so that callers read the clock once per batch and tests are exact.

Rates adapt by AIMD, as TCP does: a throttling reply (421, 4.7.x "slow down") calls
:meth:`TokenBuckets.decrease`, which multiplies the key's rate by ``decrease_factor``;
each success window calls :meth:`TokenBuckets.increase`, which adds ``increase_fraction``
of the configured rate back, up to that configured rate (the ceiling).

The compiled twin must give the same results to the last bit: the arithmetic below is
written in the order the C code does it, and every error is raised alike.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable

__all__ = ["TokenBuckets"]


def _check(name: str, value: float, *, positive: bool = False) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be a finite number {'> 0' if positive else '>= 0'}, not {value!r}")
    return value


class _Bucket:
    __slots__ = ("tokens", "stamp", "rate", "ceiling", "burst")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.tokens = burst
        self.stamp = now
        self.rate = rate
        self.ceiling = rate
        self.burst = burst

    def refill(self, now: float) -> None:
        if now > self.stamp:
            tokens = self.tokens + (now - self.stamp) * self.rate
            self.tokens = tokens if tokens < self.burst else self.burst
            self.stamp = now


class TokenBuckets:
    """Token buckets by key: ``rate`` tokens per second, at most ``burst`` saved up.

    A key's bucket is created full on first use, with the default rate and burst or the
    ones given to :meth:`configure`. A request for more than the burst is let through when
    the bucket is full and leaves it in debt, so a big batch is slowed, never refused for
    ever.

    Args:
        rate: default tokens per second of a new key (> 0).
        burst: default bucket size; ``None`` means ``max(1, rate)``.
        decrease_factor: rate multiplier of :meth:`decrease` (0 < f < 1).
        increase_fraction: share of the ceiling that :meth:`increase` adds (0 < f <= 1).
        min_fraction: share of the ceiling below which :meth:`decrease` never goes.
    """

    __slots__ = ("_buckets", "_rate", "_burst", "_decrease", "_increase", "_floor")

    def __init__(
        self, rate: float, burst: float | None = None, *, decrease_factor: float = 0.5,
        increase_fraction: float = 0.1, min_fraction: float = 0.01,
    ) -> None:
        self._rate = _check("rate", rate, positive=True)
        self._burst = max(1.0, self._rate) if burst is None else _check("burst", burst, positive=True)
        if not 0 < decrease_factor < 1:
            raise ValueError("decrease_factor must be between 0 and 1")
        if not 0 < increase_fraction <= 1:
            raise ValueError("increase_fraction must be in (0, 1]")
        if not 0 < min_fraction <= 1:
            raise ValueError("min_fraction must be in (0, 1]")
        self._decrease = float(decrease_factor)
        self._increase = float(increase_fraction)
        self._floor = float(min_fraction)
        self._buckets: dict[Hashable, _Bucket] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._buckets

    def configure(self, key: Hashable, rate: float, burst: float | None, now: float) -> None:
        """Set ``key``'s ceiling rate and burst (its current rate is reset to the ceiling).

        Tokens earned so far are kept (capped at the new burst); a new key starts full.
        """
        rate = _check("rate", rate, positive=True)
        burst = max(1.0, rate) if burst is None else _check("burst", burst, positive=True)
        now = _check("now", now)
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = _Bucket(rate, burst, now)
            return
        bucket.refill(now)
        bucket.rate = rate
        bucket.ceiling = rate
        bucket.burst = burst
        if bucket.tokens > burst:
            bucket.tokens = burst

    def remove(self, key: Hashable) -> None:
        """Forget ``key`` (an idle site); its next use starts a full default bucket."""
        self._buckets.pop(key, None)

    def _bucket(self, key: Hashable, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self._rate, self._burst, now)
        else:
            bucket.refill(now)
        return bucket

    def try_acquire(self, key: Hashable, n: float, now: float) -> bool:
        """Take ``n`` tokens from ``key``'s bucket if they are there; False takes nothing."""
        n = _check("n", n)
        bucket = self._bucket(key, _check("now", now))
        if n <= bucket.tokens or (n > bucket.burst and bucket.tokens >= bucket.burst):
            bucket.tokens -= n
            return True
        return False

    def try_acquire_all(self, keys: Iterable[Hashable], n: float, now: float) -> bool:
        """Take ``n`` tokens from every bucket of ``keys``, or from none of them.

        The per-message call of the shaper (tenant, source IP, (source IP, site)): one call
        instead of one per key, and no bucket is charged for a message another refused.
        Each key is checked as :meth:`try_acquire` would; keys should be distinct (a key
        listed twice is charged twice). No keys: True.
        """
        keys = tuple(keys)
        n = _check("n", n)
        now = _check("now", now)
        buckets = [self._bucket(key, now) for key in keys]
        for bucket in buckets:
            if not (n <= bucket.tokens or (n > bucket.burst and bucket.tokens >= bucket.burst)):
                return False
        for bucket in buckets:
            bucket.tokens -= n
        return True

    def wait_time_all(self, keys: Iterable[Hashable], n: float, now: float) -> float:
        """Seconds until ``try_acquire_all(keys, n)`` would succeed: the longest wait."""
        keys = tuple(keys)
        longest = 0.0
        for key in keys:
            wait = self.wait_time(key, n, now)
            if wait > longest:
                longest = wait
        return longest

    def wait_time(self, key: Hashable, n: float, now: float) -> float:
        """Seconds until ``try_acquire(key, n)`` would succeed (0.0: now); takes nothing."""
        n = _check("n", n)
        bucket = self._bucket(key, _check("now", now))
        if n <= bucket.tokens or (n > bucket.burst and bucket.tokens >= bucket.burst):
            return 0.0
        need = n if n < bucket.burst else bucket.burst
        return (need - bucket.tokens) / bucket.rate

    def rate(self, key: Hashable) -> float:
        """The current rate of ``key`` (the default rate for an unknown key)."""
        bucket = self._buckets.get(key)
        return self._rate if bucket is None else bucket.rate

    def decrease(self, key: Hashable, now: float) -> float:
        """Multiplicative decrease of ``key``'s rate (a throttling reply); the new rate."""
        bucket = self._bucket(key, _check("now", now))
        rate = bucket.rate * self._decrease
        floor = bucket.ceiling * self._floor
        bucket.rate = rate if rate > floor else floor
        return bucket.rate

    def increase(self, key: Hashable, now: float) -> float:
        """Additive increase of ``key``'s rate (a success window), up to its ceiling."""
        bucket = self._bucket(key, _check("now", now))
        rate = bucket.rate + bucket.ceiling * self._increase
        bucket.rate = rate if rate < bucket.ceiling else bucket.ceiling
        return bucket.rate

    def set_rate(self, key: Hashable, rate: float, now: float) -> float:
        """Set ``key``'s current rate (a learned one), kept within [floor, ceiling]; the new rate."""
        r = _check("rate", rate, positive=True)
        bucket = self._bucket(key, _check("now", now))
        floor = bucket.ceiling * self._floor
        r = r if r < bucket.ceiling else bucket.ceiling
        bucket.rate = r if r > floor else floor
        return bucket.rate
