"""e2e.held: whether deliveries kept pace with an offered rate, judged by the backlog.

Synthetic timelines (the platform's accepted and delivered stamps) whose answer is known:
the harness's verdict on the 1,000/s target rests on this function.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "server")]

import e2e  # noqa: E402


def timeline(rate: float, seconds: float, delivered_per_s: float, pipeline: float,
             stall: tuple[float, float] = (0.0, 0.0)) -> tuple[list[float], list[float]]:
    """Acceptances at ``rate`` for ``seconds``; deliveries at most ``delivered_per_s``, each at
    least ``pipeline`` seconds after its acceptance (first in, first out), and none during
    ``stall`` (its start, from the first acceptance, and its length in seconds: a host hiccup)."""
    accepted = [100.0 + i / rate for i in range(int(rate * seconds))]
    stalled, resumed = 100.0 + stall[0], 100.0 + stall[0] + stall[1]
    delivered, free = [], 0.0
    for t in accepted:
        free = max(t + pipeline, free + 1 / delivered_per_s)
        if stalled <= free < resumed:
            free = resumed
        delivered.append(free)
    return accepted, delivered


def test_workers_that_keep_up_hold_the_rate_however_long_the_pipeline() -> None:
    accepted, delivered = timeline(1000, 20, delivered_per_s=1200, pipeline=0.3)
    figures = e2e.held(accepted, delivered, 1000, accepted_per_s=1000)
    assert figures["held"] is True
    assert abs(figures["backlog_growth_per_s"]) < 1
    assert 290 <= figures["backlog_end"] <= 310  # 0.3 s of messages in the pipe, level
    assert figures["steady_delivered_per_s"] == pytest.approx(1000, rel=0.01)
    # The figure it replaces reads low for the same run: the last message's 0.3 s is in the span.
    assert len(delivered) / (delivered[-1] - accepted[0]) < 990


def test_workers_that_fall_behind_do_not_hold_it_and_the_growth_is_the_shortfall() -> None:
    accepted, delivered = timeline(1000, 20, delivered_per_s=960, pipeline=0.05)
    figures = e2e.held(accepted, delivered, 1000, accepted_per_s=1000)
    assert figures["held"] is False
    assert figures["backlog_growth_per_s"] == pytest.approx(40, abs=2)
    assert figures["steady_delivered_per_s"] == pytest.approx(960, rel=0.01)
    assert figures["backlog_end"] == pytest.approx(20 * 40 + 50, rel=0.02)  # the shortfall + 0.05 s in the pipe


def test_a_shortfall_within_one_percent_of_the_rate_still_holds() -> None:
    accepted, delivered = timeline(1000, 20, delivered_per_s=995, pipeline=0.05)
    assert e2e.held(accepted, delivered, 1000, accepted_per_s=1000)["held"] is True


def test_a_short_run_jitter_of_a_few_messages_is_not_growth() -> None:
    accepted = [100.0 + i / 100 for i in range(150)]  # 100/s for 1.5 s
    delivered = [t + (0.01 if t < 101.0 else 0.04) for t in accepted]  # the pipe fills by 3 messages
    figures = e2e.held(accepted, delivered, 100, accepted_per_s=100)
    assert figures["backlog_growth_per_s"] > e2e.HELD_GROWTH * 100  # a slope, but of three messages
    assert figures["held"] is True
    slow = [100.0 + i / 100 * 1.2 for i in range(150)]  # 83/s: 25 behind at the end
    assert e2e.held(accepted, slow, 100, accepted_per_s=100)["held"] is False


def test_an_api_that_did_not_take_the_offered_rate_does_not_hold_it() -> None:
    accepted, delivered = timeline(900, 20, delivered_per_s=1200, pipeline=0.05)
    figures = e2e.held(accepted, delivered, 1000, accepted_per_s=900)
    assert abs(figures["backlog_growth_per_s"]) < 1
    assert figures["held"] is False


def test_nothing_delivered_is_not_held_and_says_so_without_a_growth() -> None:
    figures = e2e.held([1.0, 2.0, 3.0], [], 10, accepted_per_s=10)
    assert figures == {"steady_delivered_per_s": 0.0, "backlog_growth_per_s": None, "backlog_rise": None,
                       "backlog_end": 3, "held": False}


def test_a_burst_that_drains_before_the_end_is_not_growth() -> None:
    # The workers stall for 0.8 s at 13.4 s, then catch up at 1,200/s by about 15.8 s.
    accepted, delivered = timeline(800, 16, delivered_per_s=1200, pipeline=0.04, stall=(13.4, 0.8))
    figures = e2e.held(accepted, delivered, 800, accepted_per_s=800)
    assert figures["backlog_growth_per_s"] > e2e.HELD_GROWTH * 800  # the line tilts up
    assert figures["backlog_rise"] <= 40 and figures["held"] is True  # but the backlog is back down
    # Had they not caught up by the end, it would not hold.
    accepted, delivered = timeline(800, 16, delivered_per_s=1200, pipeline=0.04, stall=(14.6, 0.8))
    assert e2e.held(accepted, delivered, 800, accepted_per_s=800)["held"] is False


def test_growth_that_ends_the_run_is_not_held() -> None:
    accepted, delivered = timeline(800, 16, delivered_per_s=1200, pipeline=0.04)
    stall = 100.0 + 14
    delivered = [d if d < stall else d + 0.5 for d in delivered]  # the last 2 s, half a second late
    figures = e2e.held(accepted, delivered, 800, accepted_per_s=800)
    assert figures["backlog_rise"] > 300 and figures["held"] is False


def test_the_terminal_line_gives_the_verdict_only_for_an_offered_rate() -> None:
    accepted, delivered = timeline(100, 5, delivered_per_s=50, pipeline=0.05)
    point = {"offered_per_s": 100.0, "accepted_per_s": 100.0, "delivered_per_s": 50.0, "delivered_per_hour": 180000.0,
             "acceptance_ms": {"p50": 1.0, "p95": 2.0, "p99": 3.0}, "accept_to_250_ms": {"p50": 1.0, "p95": 2.0, "p99": 3.0},
             "cpu_seconds_per_1000": 1.0, "peak_pss_mb": 100.0}
    assert "held" not in e2e.show(point)
    line = e2e.show({**point, **e2e.held(accepted, delivered, 100, accepted_per_s=100)})
    assert "NOT held" in line and "backlog +50/s" in line
