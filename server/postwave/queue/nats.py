"""The Queue on NATS JetStream: a work-queue stream per lane, a subject and a consumer per tenant.

Streams ``PW_TRANSACTIONAL`` and ``PW_BULK`` hold subjects ``pw.q.<lane>.<tenant_id>`` with
work-queue retention: a message leaves its stream when it is acknowledged, so the stream's
message count is the lane's depth (queued plus leased). Each (lane, tenant) has its own
durable pull consumer, ``pw-<lane>-<tenant_id>``, filtered on the tenant's subject. A claim
serves the tenants with a backlog round-robin, so a tenant with 50,000 queued messages owns
one consumer's backlog while another tenant's ten messages sit at the head of theirs. A
consumer idle for an hour is removed by the server and made again on the next claim.

- Lease = the consumer's ack wait. A worker that dies lets it run out and the server
  redelivers; ``touch`` sends in-progress heartbeats for slow SMTP servers.
- Dedupe: every publish carries ``Nats-Msg-Id`` = message id, so a republish within the
  stream's duplicate window (the sweeper's, a retried acceptance) adds nothing.
- ``ack`` waits for the server's confirmation (the worker acks only after the outcome is
  in the store); ``nak`` asks for redelivery after a delay (retries and shaping back-off).
- The consumers never give up on a message (max_deliver unlimited): the worker turns too
  many deliveries into a ``failed`` outcome itself, so exhaustion is never a silent drop.
- Publishing waits for the stream's acknowledgement (stored, and with ``sync_interval:
  always`` on disk) before acceptance answers. NATS down: publish, claim and depth raise
  :class:`StoreUnavailableError` after ``nats_request_timeout``; the client reconnects by
  itself when the server returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import re
import time
from collections.abc import Sequence
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import api

from postwave.errors import StoreUnavailableError
from postwave.queue.base import LANES, Lease, QueueItem, QueueStats, bulk_room_left

log = logging.getLogger(__name__)

SUBJECT_PREFIX = "pw.q"
DUPLICATE_WINDOW = 20 * 60.0  # seconds a message id is remembered for dedupe
CONSUMER_IDLE = 3600.0  # an idle tenant consumer is removed after this long
PUBLISH_RETRY_PAUSE = 0.2  # seconds between attempts of a publish that failed (leader election)
DRAINED_PAUSE = 0.25  # a tenant whose consumer had nothing left is skipped this long
_SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


def stream_name(lane: str) -> str:
    """The lane's stream: PW_TRANSACTIONAL or PW_BULK."""
    return f"PW_{lane.upper()}"


def subject(lane: str, tenant_id: str) -> str:
    """The tenant's subject in a lane."""
    return f"{SUBJECT_PREFIX}.{lane}.{_token(tenant_id)}"


def consumer_name(lane: str, tenant_id: str) -> str:
    """The tenant's durable consumer in a lane."""
    return f"pw-{lane}-{_token(tenant_id)}"


def _token(tenant_id: str) -> str:
    """A subject token for a tenant id (ids are t_<hex>; anything else is hex-encoded)."""
    if _SAFE_TOKEN.match(tenant_id):
        return tenant_id
    return "x" + tenant_id.encode().hex()


def _tenant(token: str) -> str:
    if token.startswith("x") and len(token) % 2 == 1:
        try:
            return bytes.fromhex(token[1:]).decode()
        except ValueError:
            pass
    return token


@dataclasses.dataclass
class _Consumer:
    """A tenant consumer this process pulls from: its inbox and its ack wait."""

    lane: str
    tenant_id: str
    next_subject: str
    sub: Subscription
    ack_wait: float


class NatsQueue:
    """Queue on NATS JetStream (see the module docstring)."""

    def __init__(self, *, servers: Sequence[str], replicas: int = 1, request_timeout: float = 5.0,
                 connect_timeout: float = 5.0, max_ack_pending: int = 100_000, name: str = "postwave") -> None:
        self.servers = list(servers)
        self.replicas = replicas
        self.request_timeout = request_timeout
        self.connect_timeout = connect_timeout
        self.max_ack_pending = max_ack_pending
        self.name = name
        self.nc: Client | None = None
        self._connecting = asyncio.Lock()
        self._closing = False
        self._consumers: dict[tuple[str, str], _Consumer] = {}
        self._held: dict[tuple[str, str], Msg] = {}
        self._drained: dict[tuple[str, str], float] = {}
        self._cursor: dict[str, int] = {lane: 0 for lane in LANES}

    # connection

    async def _js(self) -> Any:
        if self.nc is None:
            async with self._connecting:
                if self.nc is None:
                    self.nc = await self._connect()
        if not self.nc.is_connected:
            raise StoreUnavailableError(f"queue unavailable: not connected to NATS at {', '.join(self.servers)}")
        return self.nc.jetstream(timeout=self.request_timeout)

    async def _connect(self) -> Client:
        async def _disconnected() -> None:
            if not self._closing:
                log.warning("lost the connection to NATS; reconnecting")

        async def _reconnected() -> None:
            log.info("reconnected to NATS")

        async def _error(exc: Exception) -> None:
            log.debug("NATS client: %s", exc)

        try:
            # Once connected, the client reconnects for ever; the first connection gets a
            # deadline, so a process started while NATS is away says so instead of hanging.
            nc = await asyncio.wait_for(nats.connect(
                servers=self.servers, name=self.name, connect_timeout=self.connect_timeout,
                allow_reconnect=True, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                disconnected_cb=_disconnected, reconnected_cb=_reconnected, error_cb=_error,
            ), self.connect_timeout * max(2, len(self.servers)))
        except (OSError, nats.errors.Error, asyncio.TimeoutError) as exc:
            raise StoreUnavailableError(f"queue unavailable: cannot connect to NATS at "
                                        f"{', '.join(self.servers)} ({_describe(exc)})") from exc
        try:
            await self._ensure_streams(nc.jetstream(timeout=self.request_timeout))
        except (OSError, nats.errors.Error, asyncio.TimeoutError) as exc:
            await nc.close()
            raise StoreUnavailableError(f"queue unavailable: connected to NATS at {', '.join(self.servers)} "
                                        f"but JetStream did not answer ({_describe(exc)})") from exc
        except BaseException:
            await nc.close()
            raise
        return nc

    async def _ensure_streams(self, js: Any) -> None:
        """Create the lanes' streams when missing (idempotent; safe from many processes)."""
        for lane in LANES:
            config = api.StreamConfig(
                name=stream_name(lane), subjects=[f"{SUBJECT_PREFIX}.{lane}.>"],
                retention=api.RetentionPolicy.WORK_QUEUE, storage=api.StorageType.FILE,
                num_replicas=self.replicas, duplicate_window=DUPLICATE_WINDOW,
                description=f"postwave {lane} lane: message ids to deliver, one subject per tenant",
            )
            await ensure_stream(js, config)
        from postwave.queue.nats_events import events_stream_config  # here: that module imports this one

        await ensure_stream(js, events_stream_config(self.replicas))

    async def jetstream(self) -> Any:
        """The JetStream context on this queue's connection (connecting first), for what shares
        it: the depth gauge KEDA reads (queue/nats_depth.py)."""
        return await self._js()

    async def ping(self) -> bool:
        """Whether JetStream answers (readiness)."""
        try:
            js = await self._js()
            await js.account_info()
            return True
        except Exception:  # noqa: BLE001 - any failure means not ready
            return False

    # the Queue protocol

    async def publish(self, items: Sequence[QueueItem]) -> None:
        """Add items durably (stream acknowledgement); an id already queued is not added twice."""
        await self.publish_raw([(subject(i.lane, i.tenant_id), i.message_id.encode(), i.message_id) for i in items],
                               "messages")

    async def publish_raw(self, messages: Sequence[tuple[str, bytes, str]], what: str) -> None:
        """Publish (subject, payload, Nats-Msg-Id) triples and wait for every acknowledgement.

        Failed attempts are repeated until ``request_timeout`` has passed in all: a stream
        electing a new leader after a node's loss answers "no responders" or not at all for a
        moment, and the duplicate window makes the repeat of an already stored id a no-op."""
        if not messages:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.request_timeout
        while True:
            futures: list[asyncio.Future[Any]] = []
            try:
                # One deadline for connecting and the whole batch: writing to a connection that
                # just broke can block inside the client, not only the wait for acknowledgements.
                await asyncio.wait_for(self._publish_once(messages, futures), max(0.05, deadline - loop.time()))
                return
            except (asyncio.TimeoutError, nats.errors.Error, OSError, StoreUnavailableError) as exc:
                # Acknowledgements that will never come (the server went away) must not keep
                # their places in the client's window of pending publishes: cancel them.
                for future in futures:
                    future.cancel()
                if loop.time() + PUBLISH_RETRY_PAUSE >= deadline:
                    raise StoreUnavailableError(f"queue unavailable: publishing {len(messages)} {what} to NATS "
                                                f"failed ({_describe(exc)})") from exc
                log.debug("publishing %d %s failed (%s); trying again", len(messages), what, _describe(exc))
                await asyncio.sleep(PUBLISH_RETRY_PAUSE)

    async def _publish_once(self, messages: Sequence[tuple[str, bytes, str]],
                            futures: list[asyncio.Future[Any]]) -> None:
        js = await self._js()
        for subj, payload, msg_id in messages:
            futures.append(await js.publish_async(subj, payload, headers={"Nats-Msg-Id": msg_id},
                                                  wait_stall=self.request_timeout))
        await asyncio.gather(*futures)

    async def claim(self, lane: str, limit: int, lease_seconds: float) -> list[Lease]:
        """Take up to ``limit`` ready items, round-robin over the tenants with a backlog."""
        if limit <= 0:
            return []
        leases: list[Lease] = []
        try:
            await asyncio.wait_for(self._claim(lane, limit, lease_seconds, leases), 3 * self.request_timeout)
        except (asyncio.TimeoutError, nats.errors.Error, OSError) as exc:
            if leases:
                return leases  # what arrived is ours (leased); the rest waits for the next claim
            raise StoreUnavailableError(f"queue unavailable: claiming from NATS failed ({_describe(exc)})") \
                from exc
        return leases

    async def claim_lanes(self, limit: int, bulk_room: int, lease_seconds: float) -> tuple[list[Lease], list[Lease]]:
        """Transactional first, then bulk into the room left (Queue.claim_lanes)."""
        first = await self.claim("transactional", limit, lease_seconds)
        return first, await self.claim("bulk", bulk_room_left(limit, len(first), bulk_room), lease_seconds)

    async def _claim(self, lane: str, limit: int, lease_seconds: float, leases: list[Lease]) -> None:
        """Fill ``leases``: an equal share from each tenant with a backlog, round-robin, then
        the room left to the tenants that still had more."""
        tenants = await self._tenants_with_backlog(lane)
        if not tenants:
            return
        start = self._cursor[lane] % len(tenants)
        self._cursor[lane] += 1
        order = tenants[start:] + tenants[:start]
        full: list[str] = []
        share = max(1, -(-limit // len(order)))
        for tenant in order:
            if len(leases) >= limit:
                break
            want = min(share, limit - len(leases))
            got = await self._fetch(lane, tenant, want, lease_seconds, leases)
            if len(got) == want:
                full.append(tenant)
        for tenant in full:  # room left: the tenants that still had more
            if len(leases) >= limit:
                break
            await self._fetch(lane, tenant, limit - len(leases), lease_seconds, leases)

    async def ack(self, leases: Sequence[Lease]) -> None:
        """Remove finished items; waits until the server confirms each."""
        msgs = [m for m in (self._held.pop((le.lane, le.message_id), None) for le in leases) if m is not None]
        if msgs:
            await self._each(msgs, lambda m: m.ack_sync(timeout=self.request_timeout), "acknowledging")

    async def nak(self, leases: Sequence[tuple[Lease, float]]) -> None:
        """Give items back, each redelivered after its delay in seconds."""
        pairs = [(self._held.pop((le.lane, le.message_id), None), delay) for le, delay in leases]
        pairs = [(m, d) for m, d in pairs if m is not None]
        if pairs:
            await self._each(pairs, lambda p: p[0].nak(delay=max(0.0, p[1])), "handing back")

    async def touch(self, leases: Sequence[Lease], lease_seconds: float) -> None:
        """Extend the leases of items still being worked on (in-progress heartbeats restart the
        consumer's ack wait, which is the lease the items were claimed with)."""
        msgs = [m for m in (self._held.get((le.lane, le.message_id)) for le in leases) if m is not None]
        if msgs:
            await self._each(msgs, lambda m: m.in_progress(), "extending")

    async def depth(self, lane: str) -> int:
        """Messages in a lane, queued or leased."""
        return (await self.stats(lane)).depth

    async def stats(self, lane: str) -> QueueStats:
        """Depth and the age of the oldest message in a lane."""
        js = await self._js()
        try:
            info = await js.stream_info(stream_name(lane))
        except (asyncio.TimeoutError, nats.errors.Error, OSError) as exc:
            raise StoreUnavailableError(f"queue unavailable: reading stream {stream_name(lane)} failed ({exc})") \
                from exc
        state = info.state
        age = 0.0
        if state.messages and getattr(state, "first_ts", None):
            first = _parse_ts(state.first_ts)
            age = max(0.0, time.time() - first) if first else 0.0
        return QueueStats(depth=int(state.messages), oldest_age=age)

    async def close(self) -> None:
        """Close the connection (pending acknowledgements are flushed first)."""
        nc, self.nc = self.nc, None
        if nc is None:
            return
        self._closing = True
        try:
            await asyncio.wait_for(nc.drain(), 5.0)
        except Exception:  # noqa: BLE001 - NATS is gone or reconnecting: close without flushing
            with contextlib.suppress(Exception):
                await nc.close()

    # internals

    async def _each(self, things: Sequence[Any], op: Any, what: str) -> None:
        try:
            results = await asyncio.wait_for(asyncio.gather(*(op(t) for t in things), return_exceptions=True),
                                             self.request_timeout + 1)
        except asyncio.TimeoutError as exc:
            raise StoreUnavailableError(f"queue unavailable: {what} {len(things)} messages timed out") from exc
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            # The leases run out and the messages come back: at-least-once, never lost.
            raise StoreUnavailableError(f"queue unavailable: {what} {len(failed)} of {len(things)} messages "
                                        f"failed ({failed[0]!r})")

    async def _tenants_with_backlog(self, lane: str) -> list[str]:
        js = await self._js()
        info = await js.stream_info(stream_name(lane), subjects_filter=f"{SUBJECT_PREFIX}.{lane}.>")
        counts = info.state.subjects or {}
        now = time.monotonic()
        tenants = []
        for subj, count in sorted(counts.items()):
            tenant = _tenant(subj.rsplit(".", 1)[1])
            if count and self._drained.get((lane, tenant), 0.0) <= now:
                tenants.append(tenant)
        return tenants

    async def _fetch(self, lane: str, tenant: str, n: int, lease_seconds: float, into: list[Lease]) -> list[Lease]:
        """Pull up to ``n`` messages from the tenant's consumer without waiting for more; each
        is appended to ``into`` as it arrives (a claim cut short keeps what it got)."""
        consumer = await self._consumer(lane, tenant, lease_seconds)
        assert self.nc is not None
        await self.nc.publish(consumer.next_subject, json.dumps({"batch": n, "no_wait": True}).encode(),
                              reply=consumer.sub.subject)
        leases: list[Lease] = []
        while len(leases) < n:
            try:
                msg = await consumer.sub.next_msg(timeout=self.request_timeout)
            except nats.errors.TimeoutError:
                break
            status = msg.headers.get(api.Header.STATUS) if msg.headers else None
            if status:
                if status not in ("404", "408"):  # not "no messages": the consumer may be gone
                    self._consumers.pop((lane, tenant), None)
                break
            meta = msg.metadata
            message_id = msg.data.decode()
            self._held[(lane, message_id)] = msg
            lease = Lease(message_id, tenant, lane, int(meta.num_delivered))
            leases.append(lease)
            into.append(lease)
        if len(leases) < n:
            self._drained[(lane, tenant)] = time.monotonic() + DRAINED_PAUSE
        return leases

    async def _consumer(self, lane: str, tenant: str, lease_seconds: float) -> _Consumer:
        key = (lane, tenant)
        known = self._consumers.get(key)
        if known is not None and abs(known.ack_wait - lease_seconds) < 1e-3:
            return known
        js = await self._js()
        name = consumer_name(lane, tenant)
        await js.add_consumer(stream_name(lane), api.ConsumerConfig(
            durable_name=name, filter_subject=subject(lane, tenant), ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.ALL, ack_wait=lease_seconds, max_deliver=-1,
            max_ack_pending=self.max_ack_pending, inactive_threshold=CONSUMER_IDLE,
            description=f"postwave workers: tenant {tenant}, {lane} lane",
        ))
        if known is None:
            assert self.nc is not None
            sub = await self.nc.subscribe(self.nc.new_inbox())
            known = _Consumer(lane, tenant, f"$JS.API.CONSUMER.MSG.NEXT.{stream_name(lane)}.{name}", sub,
                              lease_seconds)
            self._consumers[key] = known
        known.ack_wait = lease_seconds
        return known


async def ensure_stream(js: Any, config: api.StreamConfig) -> None:
    """Create a stream when missing; an existing one is left as it is (idempotent; safe from
    many processes)."""
    try:
        await js.stream_info(config.name)
    except nats.js.errors.NotFoundError:
        try:
            await js.add_stream(config)
            log.info("created JetStream stream %s (replicas %d)", config.name, config.num_replicas)
        except nats.js.errors.BadRequestError:
            await js.stream_info(config.name)  # another process made it first


def _describe(exc: BaseException) -> str:
    """An exception as text, naming its type when it has no message (timeouts)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else f"{type(exc).__name__} after the request timeout"


def _parse_ts(value: Any) -> float:
    """A JetStream RFC 3339 timestamp (nanosecond precision) as Unix seconds; 0 if unreadable."""
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str) or value.startswith("0001-"):
        return 0.0
    import datetime as dt

    text = value.rstrip("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6]}"
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()
    except ValueError:
        return 0.0
