"""The issue's fairness case at its full size, on a real JetStream node: a tenant with 50,000
queued messages does not delay another tenant's 10 (both lanes' implementations)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from postwave.queue.base import Queue, QueueItem
from postwave.queue.embedded import EmbeddedQueue
from postwave.queue.nats import NatsQueue
from postwave.store.sqlite import Database
from tests.servers.nats import NatsCluster

BIG = 50_000


async def _fifty_thousand_then_ten(queue: Queue) -> list[str]:
    for start in range(0, BIG, 2000):
        await queue.publish([QueueItem(f"big{i:05d}", "t_big", "bulk", time.time()) for i in range(start, start + 2000)])
    await queue.publish([QueueItem(f"small{i}", "t_small", "bulk", time.time()) for i in range(10)])
    assert await queue.depth("bulk") == BIG + 10
    # One worker's first claim (its slots are 256 by default): the small tenant is in it.
    return [lease.tenant_id for lease in await queue.claim("bulk", 256, 30)]


@pytest.mark.timeout(600)
async def test_nats_small_tenant_is_in_the_first_claim(tmp_path: Path) -> None:
    with NatsCluster(tmp_path / "nats") as node:
        queue = NatsQueue(servers=node.urls, request_timeout=10)
        try:
            tenants = await _fifty_thousand_then_ten(queue)
        finally:
            await queue.close()
    assert len(tenants) == 256 and tenants.count("t_small") == 10


async def test_embedded_small_tenant_is_in_the_first_claim(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "q.db"), synchronous="NORMAL")
    try:
        tenants = await _fifty_thousand_then_ten(EmbeddedQueue(db))
    finally:
        db.close()
    assert len(tenants) == 256 and tenants.count("t_small") == 10
