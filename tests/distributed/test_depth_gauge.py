"""The lanes' depth gauge, read the way KEDA's nats-jetstream trigger reads it.

A real nats-server; messages of two tenants in a lane, each tenant with its own consumer
(fairness); the gauge reconciles; then the monitoring endpoint's ``/jsz?acc=$G&consumers=
true&config=true`` gives, for ``PW_<LANE>_DEPTH`` / ``pw-<lane>-depth``, num_pending +
num_ack_pending == the lane's depth, as it rises (publishes) and falls (acks: the purge path).
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from postwave import config as config_module
from postwave import roles
from postwave.backends import open_queue
from postwave.errors import InvalidArgumentError
from postwave.queue.base import QueueItem
from postwave.queue import nats_depth
from postwave.queue.nats import NatsQueue
from postwave.queue.nats_depth import DepthGauge, depth_consumer, depth_stream
from tests.k8s.jetstream import jsz, keda_lag
from tests.servers.nats import NatsCluster

ACCOUNT = "$G"  # the account of a server without accounts, as the manifests' trigger names it


def keda_reading(node: NatsCluster, lane: str) -> int:
    """The lag KEDA computes for the lane's trigger, from the server's monitoring port."""
    lag, source = keda_lag(jsz(f"127.0.0.1:{node.monitor_ports[0]}", ACCOUNT), account=ACCOUNT,
                           stream=depth_stream(lane), consumer=depth_consumer(lane))
    assert source == "consumer", f"KEDA would not find consumer {depth_consumer(lane)}"
    return lag


async def read(node: NatsCluster, lane: str) -> int:
    return await asyncio.to_thread(keda_reading, node, lane)


def items(tenant: str, lane: str, n: int, start: int = 0) -> list[QueueItem]:
    return [QueueItem(f"m_{tenant}_{lane}_{i}", tenant, lane) for i in range(start, start + n)]


def test_keda_reads_each_lane_depth_as_it_rises_and_falls(nats_node):
    async def scenario() -> None:
        queue = NatsQueue(servers=nats_node.urls, request_timeout=10.0)
        gauge = DepthGauge(queue, cap=10_000)
        try:
            await queue.publish(items("t_big", "bulk", 30) + items("t_small", "bulk", 5)
                                + items("t_small", "transactional", 2))
            assert await gauge.reconcile_all() == {"transactional": 2, "bulk": 35}
            assert await read(nats_node, "bulk") == await queue.depth("bulk") == 35
            assert await read(nats_node, "transactional") == 2

            # claimed through both tenants' own consumers: leased still counts, acked leaves
            leases = await queue.claim("bulk", 12, 60.0)
            assert {le.tenant_id for le in leases} == {"t_big", "t_small"}
            await gauge.reconcile_all()
            assert await read(nats_node, "bulk") == 35
            await queue.ack(leases[:10])
            assert await gauge.reconcile("bulk", await queue.depth("bulk")) == 25
            assert await read(nats_node, "bulk") == await queue.depth("bulk") == 25

            await queue.publish(items("t_small", "bulk", 8, start=5))
            await gauge.reconcile_all()
            assert await read(nats_node, "bulk") == await queue.depth("bulk") == 33

            await queue.ack(leases[10:])
            for _ in range(100):  # claims skip a just-drained tenant for a moment: a few rounds
                if not await queue.depth("bulk"):
                    break
                await queue.ack(await queue.claim("bulk", 100, 60.0))
                await asyncio.sleep(0.1)
            assert await gauge.reconcile_all() == {"transactional": 2, "bulk": 0}
            assert await read(nats_node, "bulk") == 0
            assert await read(nats_node, "transactional") == 2
        finally:
            await queue.close()

    asyncio.run(scenario())


def test_the_tokens_are_capped_and_follow_a_lowered_depth(nats_node, monkeypatch):
    monkeypatch.setattr(nats_depth, "MAX_STEP", 15)

    async def scenario() -> None:
        queue = NatsQueue(servers=nats_node.urls, request_timeout=10.0)
        gauge = DepthGauge(queue, cap=40)
        try:
            # a big jump is mirrored over several passes of at most MAX_STEP tokens
            assert [await gauge.reconcile("bulk", 1_000) for _ in range(4)] == [15, 30, 40, 40]
            assert await read(nats_node, "bulk") == 40
            assert await gauge.reconcile("bulk", 17) == 17  # purge keeps 17
            assert await read(nats_node, "bulk") == 17
        finally:
            await queue.close()

    asyncio.run(scenario())


def test_a_nats_outage_is_logged_once_and_the_gauge_catches_up_after(nats_node, caplog):
    caplog.set_level(logging.INFO, logger="postwave.queue.nats_depth")

    def said(text: str) -> int:
        return sum(text in r.getMessage() for r in caplog.records if r.name == "postwave.queue.nats_depth")

    async def until(condition, what: str, timeout: float = 120.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not await condition():
            assert asyncio.get_running_loop().time() < deadline, f"{what} did not happen in {timeout:.0f} s"
            await asyncio.sleep(0.1)

    async def scenario() -> None:
        queue = NatsQueue(servers=nats_node.urls, request_timeout=1.0)
        await queue.publish(items("t_a", "bulk", 4))
        task = asyncio.get_running_loop().create_task(DepthGauge(queue, cap=1_000).run(0.2))
        try:
            await until(lambda: _equal(read(nats_node, "bulk"), 4), "the first reconcile")
            await asyncio.to_thread(nats_node.stop_node, 0)

            async def failed_passes() -> bool:
                return said("reconciling failed") >= 1 and not task.done()

            await until(failed_passes, "a failed pass")
            await asyncio.sleep(1.0)  # several more failing passes, still one warning
            assert not task.done(), "the gauge's loop must survive the outage"
            await asyncio.to_thread(nats_node.start_node, 0)
            await asyncio.to_thread(nats_node.wait_healthy)
            await until(queue.ping, "reconnecting")
            await queue.publish(items("t_b", "bulk", 3))
            await until(lambda: _equal(read(nats_node, "bulk"), 7), "the gauge catching up")
            assert said("reconciling failed") == 1
            assert said("reconciled again") == 1
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await queue.close()

    asyncio.run(scenario())


async def _equal(reading, expected: int) -> bool:
    try:
        return await reading == expected
    except (OSError, AssertionError):  # the server restarting, or the gauge not made yet
        return False


def test_only_a_nats_queue_gets_a_gauge(tmp_path):
    """The scheduler runs the gauge with queue=nats and a cap above 0; never on the embedded queue."""
    def settings(**values: str) -> config_module.Config:
        return config_module.load(environ={"POSTWAVE_DATA_DIR": str(tmp_path), **values})

    nats_config = settings(POSTWAVE_QUEUE="nats", POSTWAVE_NATS_REPLICAS="3")
    queue = open_queue(nats_config, role="scheduler")
    gauge = roles.depth_gauge(nats_config, queue)
    assert isinstance(gauge, DepthGauge) and gauge.cap == nats_config.nats_depth_gauge_cap and gauge.replicas == 3
    assert roles.depth_gauge(settings(POSTWAVE_QUEUE="nats", POSTWAVE_NATS_DEPTH_GAUGE_CAP="0"), queue) is None
    embedded_config = settings(POSTWAVE_QUEUE="embedded")
    embedded = open_queue(embedded_config, role="scheduler")
    try:
        assert roles.depth_gauge(embedded_config, embedded) is None
    finally:
        asyncio.run(embedded.close())
    with pytest.raises(InvalidArgumentError, match="nats_depth_gauge_cap"):
        settings(POSTWAVE_NATS_DEPTH_GAUGE_CAP="-1")


def test_the_active_scheduler_process_keeps_the_gauge(nats_node, make_cluster):
    """`postwave scheduler`, once it holds the lease, keeps KEDA's reading equal to the depth
    (no workers here, so what is queued stays queued)."""
    make_cluster(nats_node, workers=0, schedulers=1)

    async def scenario() -> None:
        queue = NatsQueue(servers=nats_node.urls, request_timeout=10.0)
        try:
            await queue.publish(items("t_a", "bulk", 6) + items("t_b", "bulk", 2) + items("t_b", "transactional", 1))
            deadline = asyncio.get_running_loop().time() + 120.0
            while not (await _equal(read(nats_node, "bulk"), 8) and await _equal(read(nats_node, "transactional"), 1)):
                assert asyncio.get_running_loop().time() < deadline, "the scheduler did not mirror the depth"
                await asyncio.sleep(0.2)
        finally:
            await queue.close()

    asyncio.run(scenario())
