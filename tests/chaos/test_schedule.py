"""The chaos harness's own logic: a seed replays its schedule, and the webhook tally counts
repeats the way a receiver that drops repeated webhook-ids sees them."""

from __future__ import annotations

import collections

from tests.chaos.harness import plan_faults, webhook_tally


def test_a_seed_replays_its_schedule_and_every_role_dies_once_per_round() -> None:
    assert plan_faults(7, rounds=3) == plan_faults(7, rounds=3)
    assert plan_faults(7) != plan_faults(8)
    faults = plan_faults(7, rounds=3)
    kinds = collections.Counter(f.target.split("-")[0] for f in faults)
    assert kinds == {"nats": 1, "api": 3, "worker": 3, "scheduler": 3, "webhooks": 3}
    assert [f.at for f in faults] == sorted(f.at for f in faults)
    assert all(0.05 <= f.at <= 0.9 and 0.3 <= f.down <= 4.0 for f in faults)
    assert "webhooks" not in {f.target.split("-")[0] for f in plan_faults(7, webhooks=False)}


def test_webhook_tally_separates_resent_batches_from_events_repeated_under_new_ids() -> None:
    def event(n: int, message: str, kind: str = "delivered") -> dict[str, str]:
        return {"id": str(n), "message_id": message, "type": kind}

    kept = [
        {"id": "msg_a", "data": [event(1, "m1"), event(2, "m2")]},
        {"id": "msg_a", "data": [event(1, "m1"), event(2, "m2")]},  # the same batch again: the receiver drops it
        {"id": "msg_b", "data": [event(2, "m2"), event(3, "m3"), event(4, "m3", "opened")]},
        {"id": "msg_c", "data": [event(5, "m3")]},  # a second delivered event of m3
    ]
    tally = webhook_tally(kept)
    assert (tally.batches, tally.repeated_batches, tally.events, tally.repeated_events) == (4, 1, 6, 1)
    assert tally.delivered == {"m1": 1, "m2": 1, "m3": 2}
