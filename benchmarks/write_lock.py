"""The embedded store's write lock during a benchmark point, from the platform's own metrics.

Every process of ``postwave serve`` writes to one SQLite file, and a write transaction holds
the file's one write lock: the API's group commits wait while a worker writes its results, and
the other way round. Each process histograms both (``postwave_store_write_lock_wait_seconds``,
``postwave_store_write_lock_held_seconds``) on its admin endpoint. A :class:`LockMeter` reads
them before and after a point and reports, per role, the transactions, percentiles of the wait
and of the hold (within the histogram's buckets), and the seconds the lock was held in all.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

KINDS = {"wait": "postwave_store_write_lock_wait_seconds", "held": "postwave_store_write_lock_held_seconds"}
QUANTILES = (0.5, 0.95, 0.99)

# (upper bounds, cumulative counts, sum) of one histogram
Histogram = tuple[list[float], list[float], float]


def scrape(url: str, timeout: float = 5.0) -> dict[str, Histogram]:
    """The write-lock histograms one admin endpoint serves (``http://host:port/metrics``)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - a loopback admin endpoint
        text = response.read().decode()
    found: dict[str, Histogram] = {}
    for family in text_string_to_metric_families(text):
        kind = next((k for k, name in KINDS.items() if family.name == name), None)
        if kind is None:
            continue
        buckets = sorted((float(s.labels["le"]), s.value) for s in family.samples if s.name.endswith("_bucket"))
        total = sum(s.value for s in family.samples if s.name.endswith("_sum"))
        found[kind] = ([le for le, _ in buckets], [n for _, n in buckets], total)
    return found


def quantile(bounds: Sequence[float], counts: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile of a histogram's observations (cumulative ``counts`` per upper bound,
    the last +Inf), interpolated linearly within its bucket as Prometheus' histogram_quantile
    does; the highest finite bound when it falls in +Inf; None without observations."""
    total = counts[-1] if counts else 0.0
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= rank:
            if bound == float("inf"):
                return lower
            inside = cumulative - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, cumulative
    return lower


def _minus(after: Histogram, before: Histogram | None) -> Histogram:
    bounds, counts, total = after
    if before is None:
        return after
    return bounds, [a - b for a, b in zip(counts, before[1], strict=True)], total - before[2]


def _add(a: Histogram | None, b: Histogram) -> Histogram:
    if a is None:
        return b
    return a[0], [x + y for x, y in zip(a[1], b[1], strict=True)], a[2] + b[2]


class LockMeter:
    """The write-lock figures of a point: ``start()`` before it, ``stop()`` after.

    ``endpoints``: role -> the metrics URLs of that role's processes (an API, its workers).
    """

    def __init__(self, endpoints: Mapping[str, Sequence[str]]) -> None:
        self.endpoints = endpoints
        self._before: dict[str, dict[str, Histogram]] = {}

    def start(self, ready_within: float = 30.0) -> None:
        """Read every endpoint's histograms now; a worker just forked may take a moment to
        serve its endpoint, so each is tried for up to ``ready_within`` seconds."""
        self._before = {url: _scrape_when_up(url, ready_within) for urls in self.endpoints.values() for url in urls}

    def stop(self) -> dict[str, Any]:
        """Per role: ``transactions``, ``wait_ms`` and ``held_ms`` (p50, p95, p99) and
        ``held_seconds`` (the lock held in all) since :meth:`start`."""
        report: dict[str, Any] = {}
        for role, urls in self.endpoints.items():
            summed: dict[str, Histogram | None] = {"wait": None, "held": None}
            for url in urls:
                now, before = scrape(url), self._before.get(url, {})
                for kind in KINDS:
                    if kind in now:
                        summed[kind] = _add(summed[kind], _minus(now[kind], before.get(kind)))
            wait, held = summed["wait"], summed["held"]
            if wait is None or held is None:
                continue
            report[role] = {
                "transactions": int(held[1][-1]),
                "wait_ms": {f"p{round(q * 100)}": _ms(quantile(wait[0], wait[1], q)) for q in QUANTILES},
                "held_ms": {f"p{round(q * 100)}": _ms(quantile(held[0], held[1], q)) for q in QUANTILES},
                "held_seconds": round(held[2], 3),
            }
        return report


def _scrape_when_up(url: str, within: float) -> dict[str, Histogram]:
    deadline = time.monotonic() + within
    while True:
        try:
            return scrape(url)
        except OSError:  # refused (not listening yet), or urllib's URLError around it
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)
