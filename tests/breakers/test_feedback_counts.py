"""Asynchronous bounces and complaints count toward a tenant's breaker.

The real ``postwave feedback`` receiver (tests/feedback) gets DSNs and an ARF report over
SMTP for messages of tenant t_acme. Its hard bounces and complaint are written as breaker
samples of the message's stream (a soft bounce is not); with the deliveries a worker
counted for the same window, the bounce rate crosses the slow-down threshold and the
receiver trips the breaker: state, audit record and a breaker.slowed event in the store.
"""

from __future__ import annotations

import json
import time

from postwave.store.base import BreakerSample, BreakerTotals

from tests.breakers.conftest import FeedbackWorld
from tests.feedback import samples
from tests.feedback.conftest import RETURN_PATH_DOMAIN


def _breaker_events(world: FeedbackWorld) -> list[str]:
    return [e.type for e in world.store.list_events(world.tenant_id, 0, [], "", 1000) if e.type.startswith("breaker.")]


def test_feedback_bounces_and_complaints_are_counted_and_trip_the_breaker(breaker_feedback: FeedbackWorld) -> None:
    world = breaker_feedback
    start = time.time()
    # What a worker counted at SMTP time for this tenant's transactional stream.
    world.store.add_breaker_samples([BreakerSample(world.tenant_id, "transactional", start, delivered=12,
                                                   writer="worker:test")])
    sent = world.sent(5, prefix="fb")
    soft = samples.dsn(to=sent[0].return_path, recipient=sent[0].recipient, status="4.2.2", action="delayed",
                       diagnostic="smtp; 452 4.2.2 mailbox full", returned="none")
    assert world.deliver(soft, sent[0].return_path)[0] == 250
    complaint = samples.arf(to="fbl@acme.test", mail_from=sent[1].return_path, returned="none")
    assert world.deliver(complaint, "fbl@" + RETURN_PATH_DOMAIN)[0] == 250
    assert world.store.get_breaker(world.tenant_id) is None  # 0 bounces, 1 complaint of 12: below both
    for s in sent[2:]:
        hard = samples.dsn(to=s.return_path, recipient=s.recipient, returned="none")
        assert world.deliver(hard, s.return_path)[0] == 250

    # Each reply waits for the events' commit; the samples follow it within moments.
    deadline = time.monotonic() + 20
    while world.store.get_breaker(world.tenant_id) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    totals = world.store.breaker_totals(world.tenant_id, "transactional", start - 1, time.time() + 1)
    assert totals == BreakerTotals(delivered=12, bounced=3, complained=1)
    state = world.store.get_breaker(world.tenant_id)
    assert state is not None and state.level == "slowed", state  # 3 / (12 + 3) = 20 %
    assert "transactional bounce rate 20.0% (3 of 15)" in state.reason
    [audit] = world.store.breaker_history(world.tenant_id, 10)
    assert (audit.from_level, audit.to_level, audit.actor) == ("closed", "slowed", "breaker")
    assert _breaker_events(world) == ["breaker.slowed"]
    [event] = [e for e in world.store.list_events(world.tenant_id, 0, ["breaker.slowed"], "", 10)]
    assert json.loads(event.detail)["previous"] == "closed" and event.message_id == ""
    assert world.store.breaker_totals(world.tenant_id, "bulk", start - 1, time.time() + 1) == BreakerTotals()
