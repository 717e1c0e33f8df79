"""Retry timing for deferred messages: exponential backoff with jitter, bounded by expiry."""

from __future__ import annotations

import random


def backoff(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds before retry number ``attempt`` (1 = the first retry).

    Doubles each attempt up to ``cap``, then takes a random point in the upper half of
    that range, so retries of a blast that failed together do not arrive together.
    """
    r = rng or random
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return ceiling * (0.5 + r.random() / 2)
