"""run_all.budget: what the 1,000/s target asks of a machine, from a run's own points.

The points here are written for the test (the fields e2e writes); the end-to-end smoke test
checks the same figures on a real quick run.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "server")]

import report  # noqa: E402
import run_all  # noqa: E402

MACHINE = {"cpus": 2, "rsa2048_signatures_per_s": 800.0}


def _point(cpu: float, client: float | None = 0.2, sink: float = 0.15) -> dict[str, Any]:
    point: dict[str, Any] = {"cpu_seconds_per_1000": cpu}
    if client is not None:
        point["cpu_seconds_per_1000_outside"] = {"client": client, "sink": sink}
    return point


def test_the_cheapest_point_sets_the_budget_and_is_named() -> None:
    points = {"saturation": _point(3.0), "offered 800/s": _point(3.4), "1 worker at saturation": _point(2.5, 0.1, 0.1)}
    budget = run_all.budget(points, MACHINE)
    assert budget == {"rate_per_s": 1000.0, "basis": "1 worker at saturation", "platform_cores": 2.5,
                      "rsa_cores": 1.25, "load_cores": 0.2, "cores_needed": 2.7, "cores": 2}
    assert report.budget(budget).endswith(
        "(1 worker at saturation), so the least it asks: the platform 2.50 cores, of which the RSA signatures take "
        "about 1.25, and the load client and smtp-sink 0.20 more; 2.70 cores in all, 1.35x the 2 it has.")


def test_the_budget_scales_with_the_rate() -> None:
    budget = run_all.budget({"saturation": _point(1.0, 0.1, 0.1)}, MACHINE, rate=500.0)
    assert budget is not None
    assert (budget["platform_cores"], budget["rsa_cores"], budget["load_cores"], budget["cores_needed"]) == \
        (0.5, 0.625, 0.1, 0.6)


def test_points_without_the_cpu_split_are_left_out_and_a_run_with_none_has_no_budget() -> None:
    cheap_but_unsplit = {"saturation": _point(1.0, client=None), "offered 500/s": _point(4.0)}
    assert run_all.budget(cheap_but_unsplit, MACHINE)["basis"] == "offered 500/s"  # type: ignore[index]
    assert run_all.budget({"saturation": _point(1.0, client=None)}, MACHINE) is None


@pytest.mark.parametrize("budget", [None, {"rate_per_s": 1000.0, "basis": "saturation", "platform_cores": 1.0,
                                           "rsa_cores": 0.5, "load_cores": 0.2, "cores_needed": 1.2, "cores": 2}])
def test_the_summary_ends_with_the_budget_only_when_the_run_has_one(budget: dict[str, Any] | None) -> None:
    lines = report.summary(_results(budget)).rstrip("\n").splitlines()
    if budget is None:
        assert lines[-1].startswith("| delivered msgs/s at saturation")
    else:
        assert lines[-1] == report.budget(budget) and lines[-2] == ""


def _results(budget: dict[str, Any] | None) -> dict[str, Any]:
    """A run's results with one of each row, enough for the summary."""
    point = {"accepted_per_s": 100.0, "delivered_per_s": 90.0, "delivered_per_hour": 324000.0,
             "acceptance_ms": {"p50": 1.0, "p95": 2.0, "p99": 3.0},
             "accept_to_250_ms": {"p50": 10.0, "p95": 20.0, "p99": 30.0},
             "cpu_seconds_per_1000": 1.0, "peak_pss_mb": 100.0, "messages": 100}
    results: dict[str, Any] = {
        "meta": {"mode": "quick", "date": "2026-12-01T08:00:00+00:00", "commit": "abc", "cpus": 2,
                 "load_average_start": [1.0, 1.0, 1.0], "load_average_end": [1.0, 1.0, 1.0], "note": "a test"},
        "saturation": point, "rates": [], "at_target": [],
        "scaling": {"workers": [{**point, "workers": 1}, point], "batch": [point], "tenants": [point]},
        "postfix": {**point, "concurrency": 32},
        "ratios": {"delivered_per_s": 1.0, "cpu_seconds_per_1000": 1.0, "peak_pss_mb": 1.0},
        "targets": [{"what": "delivered msgs/s at saturation", "target": ">= 1000", "value": 90.0, "met": False}],
    }
    if budget is not None:
        results["budget"] = budget
    return results
