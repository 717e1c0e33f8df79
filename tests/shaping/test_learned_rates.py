"""Setting a learned rate on a token bucket (stored reputation): compiled and twin agree,
and the rate stays within [floor, ceiling] so a stale stored rate can never exceed the
configured one."""

from __future__ import annotations

import pytest
from postwave import native
from postwave.shaping import tokenbucket as twin

IMPLEMENTATIONS = [pytest.param(twin, id="twin"), pytest.param(native.tokenbucket, id="native")]


@pytest.mark.parametrize("tb", IMPLEMENTATIONS)
def test_a_learned_rate_is_set_within_floor_and_ceiling_and_then_climbs(tb) -> None:  # type: ignore[no-untyped-def]
    buckets = tb.TokenBuckets(1.0, decrease_factor=0.5, increase_fraction=0.25, min_fraction=0.1)
    buckets.configure(("ip", "site"), 100.0, 1.0, 0.0)
    assert buckets.set_rate(("ip", "site"), 30.0, 0.0) == 30.0
    assert buckets.increase(("ip", "site"), 0.0) == 55.0  # a quarter of the ceiling back
    assert buckets.set_rate(("ip", "site"), 1.0, 0.0) == 10.0  # the floor
    assert buckets.set_rate(("ip", "site"), 500.0, 0.0) == 100.0  # the configured ceiling
    assert buckets.wait_time(("ip", "site"), 1.0, 0.0) == 0.0
    buckets.set_rate(("ip", "site"), 20.0, 0.0)
    assert buckets.try_acquire(("ip", "site"), 1.0, 0.0) and not buckets.try_acquire(("ip", "site"), 1.0, 0.01)
    assert buckets.wait_time(("ip", "site"), 1.0, 0.01) == pytest.approx((1.0 - 0.2) / 20.0)
    with pytest.raises(ValueError):
        buckets.set_rate(("ip", "site"), 0.0, 0.0)
