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


async def test_touch_extends_the_lease(queue) -> None:  # type: ignore[no-untyped-def]
    await queue.publish([QueueItem("m1", "t1", "transactional")])
    (lease,) = await queue.claim("transactional", 1, 1.0)
    await asyncio.sleep(0.7)
    await queue.touch([lease], 1.0)  # a slow receiving server: still working on it
    await asyncio.sleep(0.7)  # past the first lease's end, within the extended one
    assert await queue.claim("transactional", 1, 1.0) == []
    await asyncio.sleep(0.6)
    (again,) = await queue.claim("transactional", 1, 30)
    assert again.message_id == "m1" and again.deliveries == 2


async def test_stats_count_queued_and_leased_items(queue) -> None:  # type: ignore[no-untyped-def]
    assert (await queue.stats("bulk")).depth == 0
    await queue.publish([QueueItem(f"m{i}", "t1", "bulk") for i in range(5)])
    leases = await queue.claim("bulk", 2, 30)
    stats = await queue.stats("bulk")
    assert stats.depth == 5 and stats.oldest_age >= 0.0
    await queue.ack(leases)
    assert (await queue.stats("bulk")).depth == 3
    assert await queue.ping() is True


async def test_a_claim_of_both_lanes_fills_with_transactional_first_then_bulk(queue) -> None:  # type: ignore[no-untyped-def]
    await queue.publish([QueueItem(f"b{i}", "t1", "bulk") for i in range(4)]
                        + [QueueItem(f"x{i}", "t1", "transactional") for i in range(3)])
    transactional, bulk = await queue.claim_lanes(5, 10, 30)
    assert sorted(le.message_id for le in transactional) == ["x0", "x1", "x2"]
    assert len(bulk) == 2 and all(le.lane == "bulk" for le in bulk)  # the room left of 5
    # The bulk share caps what bulk takes even when there is room.
    assert [len(part) for part in await queue.claim_lanes(5, 1, 30)] == [0, 1]
    assert [len(part) for part in await queue.claim_lanes(5, 0, 30)] == [0, 0]
    transactional, bulk = await queue.claim_lanes(5, 10, 30)
    assert transactional == [] and len(bulk) == 1  # the last one
    assert await queue.claim_lanes(5, 10, 30) == ([], [])
