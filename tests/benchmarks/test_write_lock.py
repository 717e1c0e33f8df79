"""write_lock: percentiles of the platform's write-lock histograms, and their change over a point.

The histograms here are written for the test; the end-to-end smoke test reads real ones from a
running platform's admin endpoints.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "server")]

import write_lock  # noqa: E402

INF = float("inf")
BOUNDS = [0.001, 0.002, 0.005, INF]


def test_a_quantile_is_interpolated_within_its_bucket() -> None:
    counts = [50, 90, 100, 100]  # 50 up to 1 ms, 40 in 1-2 ms, 10 in 2-5 ms, none above
    assert write_lock.quantile(BOUNDS, counts, 0.5) == pytest.approx(0.001)
    assert write_lock.quantile(BOUNDS, counts, 0.25) == pytest.approx(0.0005)
    assert write_lock.quantile(BOUNDS, counts, 0.7) == pytest.approx(0.0015)
    assert write_lock.quantile(BOUNDS, counts, 0.95) == pytest.approx(0.0035)


def test_past_the_last_bound_the_quantile_is_that_bound_and_without_observations_none() -> None:
    assert write_lock.quantile(BOUNDS, [0, 0, 10, 20], 0.99) == pytest.approx(0.005)
    assert write_lock.quantile(BOUNDS, [0, 0, 0, 0], 0.5) is None


def test_a_point_counts_only_what_happened_during_it() -> None:
    before = (BOUNDS, [10.0, 10.0, 10.0, 10.0], 0.005)
    after = (BOUNDS, [10.0, 30.0, 40.0, 40.0], 0.075)
    bounds, counts, total = write_lock._minus(after, before)
    assert counts == [0, 20, 30, 30] and total == pytest.approx(0.07)
    assert write_lock.quantile(bounds, counts, 0.5) == pytest.approx(0.001 + 0.001 * 15 / 20)
    summed = write_lock._add(write_lock._minus(after, before), (BOUNDS, [1.0, 1.0, 1.0, 1.0], 0.0005))
    assert summed[1] == [1, 21, 31, 31] and summed[2] == pytest.approx(0.0705)
