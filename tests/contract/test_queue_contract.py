"""The Queue contract: leases, redelivery, fairness, idempotent publish."""

from __future__ import annotations

import asyncio

from postwave.queue.base import QueueItem


async def test_claim_ack_and_publish_is_idempotent(queue) -> None:  # type: ignore[no-untyped-def]
    await queue.publish([QueueItem("m1", "t1", "transactional"), QueueItem("m1", "t1", "transactional")])
    assert await queue.depth("transactional") == 1
    (lease,) = await queue.claim("transactional", 10, 30)
    assert (lease.message_id, lease.deliveries) == ("m1", 1)
    assert await queue.claim("transactional", 10, 30) == []  # leased: nobody else gets it
    await queue.ack([lease])
    assert await queue.depth("transactional") == 0


async def test_expired_lease_is_redelivered(queue) -> None:  # type: ignore[no-untyped-def]
    await queue.publish([QueueItem("m1", "t1", "bulk")])
    first = await queue.claim("bulk", 1, 0.2)
    assert len(first) == 1
    await asyncio.sleep(0.3)  # the claimer "died" without acking
    (again,) = await queue.claim("bulk", 1, 30)
    assert again.message_id == "m1" and again.deliveries == 2


async def test_nak_delays_the_item(queue) -> None:  # type: ignore[no-untyped-def]
    await queue.publish([QueueItem("m1", "t1", "transactional")])
    (lease,) = await queue.claim("transactional", 1, 30)
    await queue.nak([(lease, 0.3)])
    assert await queue.claim("transactional", 1, 30) == []
    await asyncio.sleep(0.35)
    assert [le.message_id for le in await queue.claim("transactional", 1, 30)] == ["m1"]


async def test_lanes_are_separate(queue) -> None:  # type: ignore[no-untyped-def]
    await queue.publish([QueueItem("b1", "t1", "bulk"), QueueItem("x1", "t1", "transactional")])
    assert [le.message_id for le in await queue.claim("transactional", 10, 30)] == ["x1"]


async def test_a_big_tenant_does_not_starve_a_small_one(queue) -> None:  # type: ignore[no-untyped-def]
    await queue.publish([QueueItem(f"big{i:04d}", "big", "bulk", i * 1e-6) for i in range(1000)])
    await queue.publish([QueueItem(f"small{i}", "small", "bulk", 1.0) for i in range(10)])
    claimed = await queue.claim("bulk", 20, 30)
    tenants = [le.tenant_id for le in claimed]
    assert len(claimed) == 20 and tenants.count("small") == 10
