"""The embedded store's write lock during a benchmark point, from the platform's own metrics.

Every process of ``postwave serve`` writes to one SQLite file, and a write transaction holds
the file's one write lock: the API's group commits wait while a worker writes its results, and
the other way round. Each process histograms both (``postwave_store_write_lock_wait_seconds``,
``postwave_store_write_lock_held_seconds``) on its admin endpoint. A :class:`LockMeter` reads
them before and after a point, the way ``postwave top`` reads a window (its scrape adds up a
role's processes), and reports per role the transactions, percentiles of the wait and of the
hold (interpolated within the buckets) and the seconds the lock was held in all.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from postwave import top

WAIT, HELD = top.LOCK_WAIT, top.LOCK_HELD
QUANTILES = (0.5, 0.95, 0.99)


class LockMeter:
    """The write-lock figures of a point: ``start()`` before it, ``stop()`` after.

    ``endpoints``: role -> the admin endpoints (``host:port`` or metrics URLs) of that role's
    processes (an API, its workers).
    """

    def __init__(self, endpoints: Mapping[str, Sequence[str]]) -> None:
        self.endpoints = endpoints
        self._before: dict[str, top.Scrape] = {}

    def start(self, ready_within: float = 30.0) -> None:
        """Read every role's histograms now; a worker just forked may take a moment to serve
        its endpoint, so they are read again until all answer, for up to ``ready_within`` s."""
        deadline = time.monotonic() + ready_within
        for role, urls in self.endpoints.items():
            while (before := top.scrape(urls)).down:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"admin endpoints not answering: {', '.join(before.down)}")
                time.sleep(0.2)
            self._before[role] = before

    def stop(self) -> dict[str, Any]:
        """Per role: ``transactions``, ``wait_ms`` and ``held_ms`` (p50, p95, p99) and
        ``held_seconds`` (the lock held in all) since :meth:`start`."""
        report: dict[str, Any] = {}
        for role, urls in self.endpoints.items():
            window = top.Window(self._before[role], top.scrape(urls))
            if window.new.down:
                raise RuntimeError(f"admin endpoints not answering: {', '.join(window.new.down)}")
            report[role] = {
                "transactions": round(window.increase(f"{HELD}_count")[""]),
                "wait_ms": _percentiles(window, WAIT),
                "held_ms": _percentiles(window, HELD),
                "held_seconds": round(window.increase(f"{HELD}_sum")[""], 3),
            }
        return report


def _percentiles(window: top.Window, name: str) -> dict[str, float | None]:
    found = {f"p{round(q * 100)}": window.quantile(q, name) for q in QUANTILES}
    return {k: None if v is None else round(v * 1000, 3) for k, v in found.items()}
