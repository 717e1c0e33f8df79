"""Distributed mode: one process per role, each runnable alone.

``postwave api`` (gRPC + REST, acceptance), ``postwave worker`` (delivery) and ``postwave
scheduler`` (scheduled releases, the start-up sweep, queue metrics; one active at a time
behind a lease). Each takes the same options as ``serve`` (``--store cql://...``, ``--queue
nats://...``), serves /metrics, /healthz and /readyz on ``admin_listen``, and stops
gracefully on SIGTERM: the API finishes the requests in flight, a worker finishes or hands
back the messages it holds, the scheduler releases its lease so a standby takes over at once.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from postwave import cpu, loop, metrics, tracing
from postwave.backends import open_backends
from postwave.config import Config, streams_events
from postwave.logs import setup_from_config
from postwave.pipeline.leader import NatsMembership, scheduler_lease
from postwave.pipeline.worker import Worker
from postwave.pipeline.schedule import SWEEP_GRACE, Scheduler, sweep_forever
from postwave.queue.base import LANES, Queue
from postwave.store.base import Store

if TYPE_CHECKING:
    from postwave.queue.nats_depth import DepthGauge

log = logging.getLogger("postwave.roles")

QUEUE_STATS_INTERVAL = 5.0
ROLES = ("api", "worker", "scheduler")


def init_process(config: Config, role: str) -> None:
    """What every postwave process does first: logging (format, secrets scrubbed), metric
    label bounds and role, tracing (off unless otlp_endpoint is set)."""
    setup_from_config(config, role=role)
    metrics.set_role(role.split("-")[0])
    metrics.configure_from(config)
    tracing.configure(config, role.split("-")[0])
    tune_gc()
    set_cpu_slice(config, role)


def set_cpu_slice(config: Config, role: str) -> None:
    """The API asks the kernel for a short CPU slice (api_cpu_slice_us; see postwave.cpu).
    Every other role runs with the kernel's default, which the workers `serve` forks would
    otherwise inherit from the API process."""
    micros = config.api_cpu_slice_us if role == "api" else 0
    try:
        cpu.set_process_slice(micros * 1000)
    except cpu.SliceUnsupported as exc:
        if micros:
            log.warning("could not set the API's CPU slice to %d us (%s): under CPU contention acceptance may "
                        "wait longer for a core; api_cpu_slice_us=0 stops trying", micros, exc)
        else:
            log.debug("CPU slice left as it is: %s", exc)
        return
    if micros:
        log.info("the API's threads ask for a %d us CPU slice (api_cpu_slice_us)", micros)


def tune_gc() -> None:
    """Collect the youngest generation every 20,000 net allocations instead of 700: a
    delivery allocates thousands of short-lived objects, and the default made the cyclic
    collector about 5% of a worker's CPU. What is loaded by now (modules, configuration)
    is frozen out of every collection."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def run(role: str, config: Config) -> None:
    """Run one role until SIGTERM or SIGINT (``init``: prepare the backends and return)."""
    init_process(config, role)
    main: dict[str, Callable[[Config], Awaitable[None]]] = {
        "api": _api, "worker": _worker, "scheduler": _scheduler, "init": _init}
    try:
        loop.run(main[role](config), config)
    finally:
        tracing.shutdown()


async def _init(config: Config) -> None:
    """Apply the CQL schema (keyspace, tables, migrations) and create the JetStream streams,
    once, before the roles start (the Kubernetes bootstrap Job; ``make up``)."""
    store, queue = open_backends(config, role="init")
    try:
        depths = {lane: (await queue.stats(lane)).depth for lane in LANES}  # NATS: creates the streams
        gauge = depth_gauge(config, queue)
        if gauge is not None:  # KEDA finds the gauges before the first scheduler pass
            for lane in LANES:
                await gauge.ensure(lane)
    finally:
        await queue.close()
        store.close()
    print(f"postwave init: store {config.store} schema current; queue {config.queue} ready "
          f"(queued: {', '.join(f'{k} {v}' for k, v in depths.items())})", flush=True)


def stop_event() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def readiness(store: Store, queue: Queue) -> Callable[[], Awaitable[bool]]:
    """/readyz: the store answers a point read and the queue answers."""

    async def ready() -> bool:
        await asyncio.to_thread(store.get_tenant, "t_readiness_probe")
        return await queue.ping()

    return ready


async def observe_queues(queue: Queue) -> None:
    """Publish each lane's depth and oldest age as metrics, for ever."""
    while True:
        for lane in LANES:
            try:
                stats = await queue.stats(lane)
            except Exception as exc:  # noqa: BLE001 - the gauges keep their last value
                log.debug("queue stats of %s: %s", lane, exc)
                continue
            metrics.observe_queue(lane, stats.depth, stats.oldest_age)
        await asyncio.sleep(QUEUE_STATS_INTERVAL)


def depth_gauge(config: Config, queue: Queue) -> DepthGauge | None:
    """The lanes' depth gauge KEDA reads (queue=nats, cap above 0), else None."""
    from postwave.queue.nats import NatsQueue
    from postwave.queue.nats_depth import DepthGauge

    if not isinstance(queue, NatsQueue) or config.nats_depth_gauge_cap <= 0:
        return None
    return DepthGauge(queue, cap=config.nats_depth_gauge_cap, replicas=config.nats_replicas)


def event_consumers(config: Config, store: Store, queue: Queue) -> list[Any]:
    """The events stream's store writer, suppression and reputation consumers (queue=nats,
    store=cql, events_stream on; they run in the active scheduler), else none."""
    if not streams_events(config):
        return []
    from postwave.breakers.gate import SampleWriter, writer_name
    from postwave.breakers.policy import BreakerPolicy
    from postwave.queue.nats import NatsQueue
    from postwave.queue.nats_events import ReputationConsumer, StoreWriter, SuppressionConsumer
    from postwave.store.cql import CqlStore

    assert isinstance(queue, NatsQueue) and isinstance(store, CqlStore), "streams_events implies nats and cql"
    breakers = SampleWriter(store, BreakerPolicy.from_config(config))
    return [StoreWriter(queue, store), SuppressionConsumer(queue, store),
            ReputationConsumer(queue, breakers.record, every=config.breaker_refresh_seconds,
                               writer=writer_name("reputation"))]


async def recheck_domains_forever(store: Store, config: Config) -> None:
    """Re-verify the sending domains' DNS records every ``domain_recheck_seconds``."""
    from postwave.domains.service import recheck_domains

    while True:
        await asyncio.sleep(config.domain_recheck_seconds)
        try:
            changed = await recheck_domains(store, config)
        except Exception as exc:  # noqa: BLE001 - DNS or store trouble: the next pass tries again
            log.warning("re-checking sending domains failed (%s)", exc)
            continue
        for line in changed:
            log.warning("sending domain changed state: %s", line)


async def _api(config: Config) -> None:
    from postwave.app import announce_bootstrap, start_api

    store, queue = open_backends(config, role="api")
    await asyncio.to_thread(announce_bootstrap, store, config)
    stop = stop_event()
    api = await start_api(config, store, queue)
    admin = await metrics.start_admin_server(config.admin_listen, readiness(store, queue))
    print(f"postwave api listening on {api.describe()}; store {config.store}, queue {config.queue}", flush=True)
    await stop.wait()
    log.info("shutting down: refusing new requests, finishing accepted ones")
    await api.stop()
    await admin.stop()
    await queue.close()
    store.close()


async def _worker(config: Config) -> None:
    from postwave.pipeline.worker import build_worker

    store, queue = open_backends(config, role="worker")
    worker, pool = build_worker(config, store, queue)
    stop = stop_event()
    stop_task = asyncio.get_running_loop().create_task(_on(stop, worker.stop))
    admin = await metrics.start_admin_server(config.admin_listen, readiness(store, queue))
    membership = NatsMembership(queue, replicas=config.nats_replicas) if config.queue == "nats" else None
    beats = asyncio.get_running_loop().create_task(_heartbeats(membership, worker)) if membership else None
    print(f"postwave worker running ({worker.slots} slots); store {config.store}, queue {config.queue}", flush=True)
    try:
        await worker.run()
    finally:
        stop_task.cancel()
        if beats is not None and membership is not None:
            await loop.cancel_and_wait([beats])
            await membership.leave()
        await pool.close()
        await admin.stop()
        await queue.close()
        store.close()
        log.info("worker stopped; %d delivered", worker.delivered)


async def _heartbeats(membership: NatsMembership, worker: Worker) -> None:
    """Tell the shaper how many workers share the global limits, every heartbeat."""
    live = 0
    while True:
        try:
            count = await membership.beat()
        except Exception as exc:  # noqa: BLE001 - keep the last count while NATS is away
            log.debug("worker heartbeat: %s", exc)
        else:
            if count != live:
                log.info("%d live workers share the rate limits", count)
                live = count
                worker.deliverer.shaper.set_live_workers(count)
        await asyncio.sleep(membership.interval)


async def _on(event: asyncio.Event, action: Callable[[], None]) -> None:
    await event.wait()
    action()


async def _scheduler(config: Config) -> None:
    store, queue = open_backends(config, role="scheduler")
    lease = scheduler_lease(config, queue)
    stop = stop_event()
    admin = await metrics.start_admin_server(config.admin_listen, readiness(store, queue))
    stats = asyncio.get_running_loop().create_task(observe_queues(queue))
    print(f"postwave scheduler standing by for the lease; store {config.store}, queue {config.queue}", flush=True)
    try:
        while await lease.acquire(stop):
            await _lead(config, store, queue, lease, stop)
    finally:
        await lease.release()
        await loop.cancel_and_wait([stats])
        await admin.stop()
        await queue.close()
        store.close()


async def _lead(config: Config, store: Store, queue: Queue, lease: object, stop: asyncio.Event) -> None:
    """Act as the active scheduler until stopped or the lease is lost."""
    log.info("this process is the active scheduler")
    print("postwave scheduler active", flush=True)
    started = time.monotonic()
    scheduler = Scheduler(store=store, queue=queue, interval=config.scheduler_interval)
    running = asyncio.get_running_loop()
    tasks = [running.create_task(scheduler.run()), running.create_task(recheck_domains_forever(store, config)),
             running.create_task(sweep_forever(store, queue, grace=SWEEP_GRACE, first=0.0))]
    gauge = depth_gauge(config, queue)
    if gauge is not None:
        tasks.append(running.create_task(gauge.run(QUEUE_STATS_INTERVAL)))
    tasks.extend(running.create_task(consumer.run()) for consumer in event_consumers(config, store, queue))
    every = config.scheduler_lease_seconds / 3
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), every)
            except TimeoutError:
                pass
            if not stop.is_set() and not await lease.renew():  # type: ignore[attr-defined]
                log.warning("lost the scheduler lease after %.0f s; standing by", time.monotonic() - started)
                break
    finally:
        await loop.cancel_and_wait(tasks)
