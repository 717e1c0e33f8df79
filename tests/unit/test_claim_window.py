"""The worker's in-flight window: shrinks after shaping holds, grows back with deliveries."""

from __future__ import annotations

from postwave.pipeline.worker import ClaimWindow


def test_starts_at_the_slots_and_stays_there_without_holds() -> None:
    window = ClaimWindow(256, 32)
    assert window.adapt() == 256
    for _ in range(100):
        window.record(held=False)
    assert window.adapt() == 256


def test_holds_shrink_it_by_a_quarter_per_round_down_to_the_floor() -> None:
    window = ClaimWindow(256, 32)
    sizes = []
    for _ in range(12):
        window.record(held=True)
        window.record(held=False)  # deliveries in the same round do not outweigh a hold
        sizes.append(window.adapt())
    assert sizes[:3] == [192, 144, 108]
    assert sizes[-1] == 32 and min(sizes) == 32


def test_deliveries_grow_it_back_by_a_quarter_of_what_went_out() -> None:
    window = ClaimWindow(256, 32)
    for _ in range(20):
        window.record(held=True)
        window.adapt()
    assert window.size == 32
    for _ in range(40):
        window.record(held=False)
    assert window.adapt() == 42
    window.record(held=False)
    assert window.adapt() == 43  # at least one per round with a delivery
    assert window.adapt() == 43  # a round with nothing: unchanged
    for _ in range(10_000):
        window.record(held=False)
    assert window.adapt() == 256  # never above the slots


def test_the_floor_never_exceeds_the_slots() -> None:
    window = ClaimWindow(8, 32)
    window.record(held=True)
    assert window.adapt() == 8
