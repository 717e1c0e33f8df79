"""Token buckets: the rate limiter of every shaping key (tenant, IP, destination site)."""

from __future__ import annotations

import time


class TokenBucket:
    """``rate`` tokens per second, holding at most ``burst``.

    ``take(n)`` returns 0.0 when the tokens were taken, else the seconds to wait until
    they would be there (and takes nothing). A request larger than the burst is let through
    when the bucket is full and leaves it in debt, so a big batch is slowed, never refused
    for ever.
    """

    __slots__ = ("rate", "burst", "_tokens", "_stamp")

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._tokens = self.burst
        self._stamp = time.monotonic()

    def take(self, n: float = 1.0, now: float | None = None) -> float:
        """Take ``n`` tokens or say how long to wait for them."""
        now = time.monotonic() if now is None else now
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if n <= self._tokens or (n > self.burst and self._tokens >= self.burst):
            self._tokens -= n
            return 0.0
        if self.rate <= 0:
            return float("inf")
        return (min(n, self.burst) - self._tokens) / self.rate
