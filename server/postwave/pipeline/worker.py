"""The worker process: claim from the lanes, deliver concurrently, write results in batches.

Results are written before the queue items are acknowledged: a crash between the two
leaves an item whose message is already final, which the next claimer skips. (On the
embedded store and queue, one SQLite file, both go in one transaction.) A crash before the
write leaves the lease to run out and the message is delivered again (at-least-once; the
duplicate is the price of never losing one).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Callable, Sequence
from typing import Any

from postwave import logs, loop, metrics, tracing
from postwave.backends import open_backends, open_event_sink, shared_database
from postwave.config import Config
from postwave.errors import PostwaveError
from postwave.mta.client import DeliveryPool
from postwave.mta.mx import MXResolver
from postwave.pipeline.deliver import Deliverer, Result
from postwave.queue.base import EventSink, Lease, Queue
from postwave.render.templates import TemplateEngine
from postwave.store.base import MessageRecord, Store
from postwave.store.sqlite import Database, WriteLockBusy

log = logging.getLogger(__name__)

BULK_SHARE = 0.75  # bulk may fill at most this share of the slots: transactional always finds room
# Every claim and every flush is a write transaction on the shared database; batching
# them (claim only when a useful number of slots is free, flush every 50 ms) keeps the
# write lock free for the API's acceptance commits.
FLUSH_INTERVAL = 0.05
MIN_CLAIM = 32
# After a claim that emptied the lanes (fewer ready than free slots), the next one waits this
# long: messages trickling in are claimed a few at a time instead of one transaction each.
CLAIM_PAUSE = 0.02
IDLE_POLL_MAX = 0.05
FLUSH_FAILED_RETRY = 5.0  # seconds before a message whose outcome could not be written is tried again


class ClaimWindow:
    """How many deliveries a worker lets itself have in flight: AIMD on holds.

    A claimed message whose site has no connection or token left (or whose tenant a circuit
    breaker holds back) is handed straight back to the queue (a hold, never waiting in a slot). A worker whose slots outnumber what its
    sites take would claim the surplus again at once, and read, parse and hand it back over
    and over: a quarter of a worker's CPU in the benchmark. So a claim round after holds
    shrinks the window by a quarter (not below ``floor``), and a round without holds grows
    it by a quarter of the deliveries that went out since, up to the slots.
    """

    def __init__(self, slots: int, floor: int) -> None:
        self.slots = slots
        self.floor = min(floor, slots)
        self.size = slots
        self._held = 0
        self._sent = 0

    def record(self, held: bool) -> None:
        """One delivery attempt ended: handed back unattempted (held) or not."""
        if held:
            self._held += 1
        else:
            self._sent += 1

    def adapt(self) -> int:
        """The window for the next claim, after what happened since the last one."""
        if self._held:
            self.size = max(self.floor, self.size * 3 // 4)
        elif self._sent:
            self.size = min(self.slots, self.size + max(1, self._sent // 4))
        self._held = self._sent = 0
        return self.size


class Worker:
    """One delivery process's loop."""

    def __init__(self, *, config: Config, store: Store, queue: Queue, deliverer: Deliverer,
                 events: EventSink | None = None) -> None:
        self.config = config
        self.store = store
        self.queue = queue
        self.deliverer = deliverer
        self.events = events  # the events stream (queue=nats): outcomes' events go there, not to the store
        self.slots = config.worker_concurrency
        self.window = ClaimWindow(self.slots, MIN_CLAIM)
        self._in_flight: dict[str, set[asyncio.Task[None]]] = {"transactional": set(), "bulk": set()}
        self._results: list[Result] = []
        self._stopping = asyncio.Event()
        self._claimed_at: dict[str, tuple[Lease, float]] = {}  # in flight: lease, when claimed or touched
        self._queue_down = False
        self._drained = False  # the last claim took every ready item (fewer than it asked for)
        # The embedded store and queue share one SQLite file: a flush writes the results and
        # settles their queue items in one transaction (one write lock and one fsync, not three).
        self._shared_db = shared_database(store, queue)
        # worker_commit_on_loop: the flushes written on the loop, and those the write lock sent to a thread.
        self.commits_on_loop = self.commits_on_thread = 0
        self.delivered = 0

    def stop(self) -> None:
        """Ask the loop to finish what it holds and return."""
        self._stopping.set()

    @property
    def busy(self) -> int:
        """Messages in flight."""
        return sum(len(t) for t in self._in_flight.values())

    async def run(self, should_continue: Callable[[], bool] = lambda: True) -> None:
        """Claim and deliver until stopped; then drain and flush."""
        running = asyncio.get_running_loop()
        await self.deliverer.start()  # stored reputation before the first claim (reputation helper)
        helpers = [running.create_task(self._flush_loop()), running.create_task(self._heartbeat_loop()),
                   running.create_task(self.deliverer.background())]
        idle = 0.01
        try:
            while not self._stopping.is_set() and should_continue():
                leases = await self._claim_or_wait()
                if leases:
                    idle = 0.01
                    await self._start(leases)
                    if self._drained:
                        await self._wait(CLAIM_PAUSE)
                else:
                    idle = min(IDLE_POLL_MAX, idle * 2)
                    await self._wait(idle)
        finally:
            await self._drain()
            await loop.cancel_and_wait(helpers)
            await self._flush()
            await self.deliverer.stop()  # reputation and breaker counts written once more (reputation helper)

    async def _wait(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            pass

    async def _claim_or_wait(self) -> list[Lease]:
        """Claim; while the queue is unreachable, say so once and keep trying every second."""
        try:
            leases = await self._claim()
        except PostwaveError as exc:
            if not self._queue_down:
                log.warning("cannot claim from the queue (%s); retrying every second", exc.message)
            self._queue_down = True
            await self._wait(1.0)
            return []
        if self._queue_down:
            log.info("claiming from the queue works again")
        self._queue_down = False
        return leases

    async def _claim(self) -> list[Lease]:
        window = self.window.adapt()
        free = window - self.busy
        if free < min(MIN_CLAIM, window) and self.busy:
            await self._wait(0.005)
            return []
        bulk_room = int(window * BULK_SHARE) - len(self._in_flight["bulk"])
        transactional, bulk = await self.queue.claim_lanes(free, bulk_room, self.config.lease_seconds)
        leases = interleave(transactional) + interleave(bulk)
        self._drained = len(leases) < free
        return leases

    async def _start(self, leases: Sequence[Lease]) -> None:
        try:
            messages, suppressed = await asyncio.to_thread(self._prefetch, leases)
        except PostwaveError as exc:
            # The store is down: hand the leases back soon instead of crashing the worker.
            log.warning("cannot read %d claimed messages (%s); retrying them in 5 s", len(leases), exc.message)
            await self.queue.nak([(lease, 5.0) for lease in leases])
            await self._wait(1.0)
            return
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        for lease in leases:
            if lease.message_id in self._claimed_at:
                # A second queue copy of a message this worker is delivering (a sweep's
                # republish): never deliver it twice at once. The copy comes back after its
                # lease, finds the message final, and is acknowledged then.
                continue
            msg = messages.get(lease.message_id)
            supp = suppressed.get((msg.tenant_id, msg.recipient.lower())) if msg else None
            self._claimed_at[lease.message_id] = (lease, now)
            task = loop.create_task(self._deliver_one(lease, msg, supp))
            bucket = self._in_flight[lease.lane]
            bucket.add(task)
            task.add_done_callback(bucket.discard)

    def _prefetch(self, leases: Sequence[Lease]) -> tuple[dict[str, MessageRecord], dict[tuple[str, str], str]]:
        """One read for every claimed message, one for the requests they came from (unless
        cached), one per tenant for suppressions. Runs off the loop."""
        messages = {m.message_id: m for m in self.store.get_messages([le.message_id for le in leases])}
        self.deliverer.prefetch_requests([m.request_id for m in messages.values()])
        by_tenant: dict[str, list[str]] = {}
        for m in messages.values():
            by_tenant.setdefault(m.tenant_id, []).append(m.recipient.lower())
        now = time.time()
        suppressed: dict[tuple[str, str], str] = {}
        for tenant, addresses in by_tenant.items():
            for address, reason in self.store.suppressed(tenant, addresses, now).items():
                suppressed[(tenant, address)] = reason
        return messages, suppressed

    async def _deliver_one(self, lease: Lease, msg: MessageRecord | None, suppressed: str | None) -> None:
        try:
            with logs.context(message_id=lease.message_id, tenant=lease.tenant_id):
                if lease.deliveries > self.config.max_deliveries:
                    result = self.deliverer.exhausted(lease, msg, self.config.max_deliveries)
                else:
                    result = await self.deliverer.deliver(lease, msg, suppressed, _off_loop)
        except Exception:  # noqa: BLE001 - a bug must not lose the message: retry it later
            log.exception("delivery of %s crashed; retrying in 60 s", lease.message_id)
            result = Result(lease, None, retry_in=60.0)
        self.window.record(result.held)
        # The lease stays in _claimed_at (heartbeats keep extending it) until its result is
        # written and the queue acknowledged: a slow flush must not let it run out and hand
        # a delivered message to another worker.
        self._results.append(result)

    async def _heartbeat_loop(self) -> None:
        """Extend the leases held longer than a third of a lease: deliveries to a slow
        receiving server, and results waiting for their write and acknowledgement (neither
        may make the queue hand the message to another worker)."""
        lease_seconds = self.config.lease_seconds
        while True:
            await asyncio.sleep(max(0.05, lease_seconds / 6))
            now = time.monotonic()
            due = [lease for lease, since in self._claimed_at.values() if now - since > lease_seconds / 3]
            if not due:
                continue
            try:
                await self.queue.touch(due, lease_seconds)
            except Exception as exc:  # noqa: BLE001 - the lease may run out: at-least-once, never lost
                log.warning("extending %d leases failed (%s)", len(due), exc)
                continue
            for lease in due:
                if lease.message_id in self._claimed_at:
                    self._claimed_at[lease.message_id] = (lease, now)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            await self._flush()

    async def _flush(self) -> None:
        if not self._results:
            return
        batch, self._results = self._results, []
        try:
            await self._write_and_ack(batch)
        finally:
            for r in batch:
                self._claimed_at.pop(r.lease.message_id, None)

    async def _write_and_ack(self, batch: list[Result]) -> None:
        try:
            outcomes = [r.outcome for r in batch if r.outcome]
            if self.events is not None:  # first: a crash before the record below publishes the same ids again
                outcomes = await self.events.publish_outcomes(outcomes)
            done = [r.lease for r in batch if r.retry_in is None]
            again = [(r.lease, r.retry_in) for r in batch if r.retry_in is not None]
            if self._shared_db is not None:
                await self._settle(self._shared_db, outcomes, done, again)
            else:
                await asyncio.to_thread(self.store.record_outcomes, outcomes)
                await self.queue.ack(done)
                await self.queue.nak(again)
        except Exception:  # noqa: BLE001 - the messages come back: handed back now, or when their leases run out
            log.exception("writing %d delivery results failed; handing the messages back to retry in %g s",
                          len(batch), FLUSH_FAILED_RETRY)
            try:
                await self.queue.nak([(r.lease, FLUSH_FAILED_RETRY) for r in batch])
            except Exception as exc:  # noqa: BLE001 - then their leases run out
                log.warning("handing back %d messages failed too (%s); they return when their leases end",
                            len(batch), exc)
            return
        self.delivered += sum(1 for r in batch if r.outcome and r.outcome.state == "delivered")

    async def _settle(self, db: Database, outcomes: list[Any], done: list[Lease],
                      again: list[tuple[Lease, float]]) -> None:
        """The flush's transaction: on the event loop when the shared file's write lock is free
        at once (worker_commit_on_loop), else on a thread, which waits for the lock."""
        if self.config.worker_commit_on_loop:
            try:
                self._settle_together(db, outcomes, done, again, wait=False)
                self.commits_on_loop += 1
                return
            except WriteLockBusy:  # nothing written: BEGIN found the lock taken
                self.commits_on_thread += 1
        await asyncio.to_thread(self._settle_together, db, outcomes, done, again)

    def _settle_together(self, db: Database, outcomes: list[Any], done: list[Lease],
                         again: list[tuple[Lease, float]], wait: bool = True) -> None:
        """Results and their queue items in one transaction of the shared file (``wait``: for
        the write lock, else WriteLockBusy at once)."""
        with db.transaction(wait):
            self.store.record_outcomes(outcomes)
            self.queue.settle_sync(done, again)  # type: ignore[attr-defined]

    async def _drain(self) -> None:
        tasks = [t for group in self._in_flight.values() for t in group]
        if tasks:
            await asyncio.wait(tasks, timeout=30)


def interleave(leases: Sequence[Lease]) -> list[Lease]:
    """Round-robin by tenant: the deliveries start (and meet the per-site shaping) in this
    order, so a claim's fair share per tenant stays fair at the shaper too, instead of one
    tenant's block filling a site's ready queue before the next tenant's first message."""
    by_tenant: dict[str, list[Lease]] = {}
    for lease in leases:
        by_tenant.setdefault(lease.tenant_id, []).append(lease)
    if len(by_tenant) < 2:
        return list(leases)
    queues = list(by_tenant.values())
    out: list[Lease] = []
    for i in range(max(len(q) for q in queues)):
        out.extend(q[i] for q in queues if i < len(q))
    return out


async def _off_loop(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


def build_worker(config: Config, store: Store, queue: Queue) -> tuple[Worker, DeliveryPool]:
    """A worker with its own resolver, SMTP pool and template cache."""
    nameservers = [s.strip() for s in config.dns_nameservers.split(",") if s.strip()] or None
    resolver = MXResolver(nameservers=nameservers, port=config.dns_port, smtp_port=config.smtp_port)
    pool = DeliveryPool(
        helo_name=config.helo_name,
        source_address=config.source_address or None,
        max_connections_per_host=config.max_connections_per_host,
        connect_timeout=config.smtp_connect_timeout,
        command_timeout=config.smtp_command_timeout,
        starttls=config.smtp_starttls,
    )
    deliverer = Deliverer(store=store, config=config, engine=TemplateEngine(), resolver=resolver, pool=pool)
    tracing.instrument_deliverer(deliverer)  # nothing when tracing is off
    return Worker(config=config, store=store, queue=queue, deliverer=deliverer,
                  events=open_event_sink(config, queue)), pool


def _die_with_parent() -> Callable[[], bool]:
    """Linux: get SIGTERM if the parent dies; anywhere: notice a re-parenting."""
    parent = os.getppid()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    return lambda: os.getppid() == parent


def main(values: dict[str, Any], index: int) -> None:
    """Entry point of a forked worker process."""
    config = Config(values)
    lower_priority(config)
    from postwave.roles import init_process

    init_process(config, f"worker-{index}")
    alive = _die_with_parent()
    loop.run(_serve(config, alive, metrics.worker_admin_listen(config.admin_listen, index)), config)


def lower_priority(config: Config) -> None:
    """Give this worker process a lower CPU priority than the API (worker_niceness): on a host
    they share, acceptance latency then holds while the workers take the CPU it leaves."""
    if config.worker_niceness:
        os.nice(config.worker_niceness)


async def _serve(config: Config, alive: Callable[[], bool], admin_listen: str) -> None:
    from postwave.roles import readiness

    store, queue = open_backends(config, role="worker")
    worker, pool = build_worker(config, store, queue)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stop)
    admin = await metrics.start_admin_server(admin_listen, readiness(store, queue))
    log.info("worker started (pid %d, %d slots)", os.getpid(), worker.slots)
    try:
        await worker.run(alive)
    finally:
        await pool.close()
        await admin.stop()
        await queue.close()
        store.close()
        log.info("worker stopped; %d delivered", worker.delivered)
