"""DeliveryPool against Postfix's smtp-sink: a second, independent SMTP implementation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from postwave.mta.client import DeliveryPool
from postwave.mta.mx import Target
from tests.servers.sink import SMTPSink

MESSAGE = b"Subject: to the sink\r\n\r\nbody\r\n.\r\n"

MakeSink = Callable[..., SMTPSink]


@pytest.fixture
async def pool(make_smtp_sink: MakeSink) -> AsyncIterator[DeliveryPool]:
    pool = DeliveryPool(helo_name="out1.postwave.test", connect_timeout=2.0, command_timeout=2.0)
    yield pool
    await pool.close()


def target(sink: SMTPSink) -> Target:
    return Target("sink.ok.test", sink.address, sink.port)


async def test_sink_counts_pooled_deliveries(
    pool: DeliveryPool, make_smtp_sink: MakeSink
) -> None:
    sink = make_smtp_sink()
    replies = await asyncio.gather(
        *(pool.deliver([target(sink)], "a@x.test", f"r{i}@ok.test", MESSAGE) for i in range(20))
    )
    assert {r.code for r in replies} == {250}
    assert sink.wait_for(20, timeout=5) == 20


async def test_sink_hard_reject_is_returned(pool: DeliveryPool, make_smtp_sink: MakeSink) -> None:
    sink = make_smtp_sink(extra_args=("-f", "RCPT"))
    reply = await pool.deliver([target(sink)], "a@x.test", "b@ok.test", MESSAGE)
    assert (reply.code // 100, reply.stage) == (5, "RCPT")
    assert sink.messages == 0
