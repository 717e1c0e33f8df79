"""The breaker policy's judgement of a window, and its configuration checks (pure functions)."""

from __future__ import annotations

import pytest
from postwave import config as config_mod
from postwave.breakers.policy import BreakerPolicy, check_stream
from postwave.errors import InvalidArgumentError
from postwave.store.base import BreakerTotals


def _policy(**settings: object) -> BreakerPolicy:
    base = {"breaker_min_samples": 10, "breaker_min_complaint_samples": 100, "breaker_bounce_rates": "0.05,0.08,0.1",
            "breaker_complaint_rates": "0.001,0.003,0.005"}
    return BreakerPolicy.from_config(config_mod.load({**base, **settings}, environ={}))


@pytest.mark.parametrize(("totals", "level"), [
    (BreakerTotals(delivered=5, bounced=4), "closed"),  # 9 samples: below the minimum, whatever the rate
    (BreakerTotals(delivered=96, bounced=4), "closed"),  # 4 %
    (BreakerTotals(delivered=95, bounced=5), "slowed"),  # exactly 5 %
    (BreakerTotals(delivered=92, bounced=8), "bulk_paused"),
    (BreakerTotals(delivered=9, bounced=1), "paused"),  # 10 %, at the minimum sample size
    (BreakerTotals(delivered=1000, complained=3), "bulk_paused"),  # complaints: 0.3 %
    (BreakerTotals(delivered=99, complained=50), "closed"),  # too few deliveries for complaints to count
    (BreakerTotals(delivered=1000, bounced=60, complained=5), "paused"),  # the worse of the two decides
])
def test_a_window_trips_the_highest_level_its_rates_reach(totals: BreakerTotals, level: str) -> None:
    found, reason = _policy().judge("bulk", totals)
    assert found == level
    assert (reason == "") == (level == "closed") and (not reason or reason.startswith("bulk "))


@pytest.mark.parametrize(("name", "value"), [
    ("breaker_bounce_rates", "0.1,0.05,0.2"), ("breaker_bounce_rates", "0.05,0.08"),
    ("breaker_complaint_rates", "0,0.1,0.2"), ("breaker_complaint_rates", "a,b,c"),
    ("breaker_window_minutes", "2000"), ("breaker_min_samples", "0"), ("breaker_hold_seconds", "0"),
    ("reputation_sync_seconds", "-1"),
])
def test_bad_breaker_settings_are_refused_naming_the_option(name: str, value: str) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        config_mod.load({name: value}, environ={})
    assert raised.value.field == name


def test_streams_are_checked_by_name() -> None:
    assert check_stream("bulk") == "bulk" and check_stream("") == ""
    with pytest.raises(InvalidArgumentError, match="unknown stream 'promo'"):
        check_stream("promo")
    with pytest.raises(InvalidArgumentError):
        check_stream("", allow_all=False)
