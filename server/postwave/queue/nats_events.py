"""The events stream on NATS JetStream: ``PW_EVENTS``, subjects ``events.<tenant>.<type>``.

With ``queue=nats`` and ``store=cql`` (and ``events_stream`` on), a worker publishes the events
of its delivery outcomes here instead of writing them to the store (the first event of an
outcome carries its delivery attempt), and waits for the stream's acknowledgement before it
records the new state and acknowledges the message. Four consumers read the stream:

- **The store writer** (one, in the active scheduler) writes the events to the store's event
  tables in stream order, each attempt in one batch with its message's event. It stamps each
  event's id from its stream position, ``max(stream timestamp in microseconds * 1000 + sequence
  % 1000, previous id + 1)``, and after each batch records a watermark ``(stream sequence, id)``
  in the store. So ids are strictly increasing in stream order, and a writer that dies between
  writing a batch and its watermark writes the same events under the same ids again when it (or
  its successor) resumes from the watermark: no duplicates. Readers of the event feed
  (ListEvents, StreamEvents, webhooks) read up to the watermark only, so no cursor passes an
  event the writer has not stored yet. While the stream is idle, the watermark moves on to the
  present twice a second, so events that other processes write directly (acceptances, feedback,
  clicks) are not held back.
- **Suppression** (a durable consumer, ``pw-events-suppression``, on ``events.*.bounced``):
  a bounce whose reply says the address is bad carries the suppression in its payload; the
  consumer writes it, idempotently, and acknowledges.
- **Reputation** (a durable consumer, ``pw-events-reputation``, on ``events.*.delivered`` and
  ``events.*.bounced``): an outcome that counts toward its tenant's circuit breaker names its
  stream; the consumer writes the counts as breaker samples every ``breaker_refresh_seconds``
  (evaluating the tenants), then acknowledges them.
- **Webhooks and StreamEvents** read the feed the writer keeps in the store, up to its watermark.

Dedupe: each event carries ``Nats-Msg-Id``, ``<message id>:<update time of the row it
changes>:<type>:<index>``. A worker killed after publishing but before recording the outcome reads the same message row
on redelivery and publishes the same ids for the same outcome, which the stream drops within
its duplicate window; a different outcome of the retry (delivered after deferred) has another
type, so another id.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Protocol

from nats.js import api

from postwave import metrics
from postwave.queue.nats import DUPLICATE_WINDOW, NatsQueue, _describe, _token
from postwave.store.base import Attempt, BreakerSample, EventRecord, Outcome, Suppression

log = logging.getLogger(__name__)

EVENTS_STREAM = "PW_EVENTS"
EVENTS_PREFIX = "events"
EVENTS_MAX_AGE = 72 * 3600.0  # seconds the stream keeps an event (the store keeps them longer)
EVENTS_MAX_BYTES = 16 * 2**30
SUPPRESSION_CONSUMER = "pw-events-suppression"
REPUTATION_CONSUMER = "pw-events-reputation"
WRITER_BATCH = 500  # events a store-writer step takes at most
IDLE_WAIT = 0.5  # seconds a writer waits for events before moving the watermark to the present
RETRY_PAUSE = 1.0  # seconds before a consumer starts again after NATS or the store failed
ID_SEQUENCE = 1000  # the same layout as the store's event ids: microseconds * 1000 + a sequence


def events_stream_config(replicas: int) -> api.StreamConfig:
    """PW_EVENTS: limits retention (every consumer reads every event it wants, nothing is
    removed by reading), kept EVENTS_MAX_AGE, oldest dropped first beyond EVENTS_MAX_BYTES."""
    return api.StreamConfig(
        name=EVENTS_STREAM, subjects=[f"{EVENTS_PREFIX}.>"], retention=api.RetentionPolicy.LIMITS,
        storage=api.StorageType.FILE, num_replicas=replicas, duplicate_window=DUPLICATE_WINDOW,
        max_age=EVENTS_MAX_AGE, max_bytes=EVENTS_MAX_BYTES, discard=api.DiscardPolicy.OLD,
        description="postwave message events: events.<tenant>.<type>",
    )


def event_subject(tenant_id: str, event_type: str) -> str:
    """``events.<tenant>.<type>`` (a type with dots, breaker.opened, adds subject tokens)."""
    return f"{EVENTS_PREFIX}.{_token(tenant_id)}.{event_type}"


def encode(event: EventRecord, suppress: Suppression | None = None, attempt: Attempt | None = None,
           breaker_stream: str = "") -> bytes:
    """An event (with the suppression it causes, the delivery attempt behind it and the tenant
    stream whose circuit breaker counts it) as the stream's JSON payload."""
    body: dict[str, Any] = {"tenant_id": event.tenant_id, "message_id": event.message_id, "type": event.type,
                            "time": event.time, "detail": event.detail, "recipient": event.recipient,
                            "send_id": event.send_id, "batch_id": event.batch_id, "custom_args": event.custom_args}
    if suppress is not None:
        body["suppress"] = {"address": suppress.address, "reason": suppress.reason}
    if attempt is not None:
        body["attempt"] = [attempt.time, attempt.mx_host, attempt.smtp_code, attempt.smtp_reply, attempt.outcome]
    if breaker_stream:
        body["breaker"] = breaker_stream
    return json.dumps(body, separators=(",", ":")).encode()


@dataclasses.dataclass(frozen=True, slots=True)
class StreamedEvent:
    """A payload read back: the event, and what it carries."""

    event: EventRecord
    suppress: dict[str, str] | None
    attempt: Attempt | None
    breaker_stream: str = ""


def decode(payload: bytes, event_id: int = 0) -> StreamedEvent:
    """The event of a payload (with the id given), its suppression and its attempt."""
    body = json.loads(payload)
    event = EventRecord(body["tenant_id"], body["message_id"], body["type"], float(body["time"]),
                        body.get("detail", ""), body.get("recipient", ""), body.get("send_id", ""),
                        body.get("batch_id", ""), body.get("custom_args", ""), id=event_id)
    a = body.get("attempt")
    attempt = Attempt(event.message_id, float(a[0]), a[1], a[2] if a[2] is None else int(a[2]), a[3], a[4]) \
        if a else None
    return StreamedEvent(event, body.get("suppress"), attempt, body.get("breaker", ""))


def stream_event_id(timestamp: dt.datetime, sequence: int) -> int:
    """The id an event at this stream position gets, before the writer's increasing rule."""
    micros = int(timestamp.timestamp()) * 1_000_000 + timestamp.microsecond
    return micros * ID_SEQUENCE + sequence % ID_SEQUENCE


class EventPublisher:
    """What a worker uses: publishes outcomes' events, returns the outcomes left to record."""

    def __init__(self, queue: NatsQueue) -> None:
        self.queue = queue

    async def publish_outcomes(self, outcomes: Sequence[Outcome]) -> list[Outcome]:
        """Publish the events of these outcomes (and their suppressions) and wait for the
        stream; the outcomes without them, for the store. Raises StoreUnavailableError."""
        messages = []
        rest = []
        for o in outcomes:
            base = f"{o.message_id}:{o.previous.updated!r}" if o.previous is not None else \
                f"{o.message_id}:{o.events[0].time!r}" if o.events else o.message_id
            cause = next((e for e in o.events if e.type == "bounced"), None) if o.suppress else None
            for i, e in enumerate(o.events):
                supp = Suppression(o.tenant_id, o.suppress[0], o.suppress[1]) if o.suppress and e is cause else None
                first = i == 0  # the outcome's own event carries its attempt (joined with it in the store)
                messages.append((event_subject(e.tenant_id, e.type),
                                 encode(e, supp, o.attempt if first else None, o.breaker_stream if first else ""),
                                 f"{base}:{e.type}:{i}"))
            rest.append(dataclasses.replace(o, events=(), suppress=o.suppress if o.suppress and cause is None else None,
                                            attempt_elsewhere=bool(o.events), breaker_stream=""))
        await self.queue.publish_raw(messages, "events")
        return rest


class EventFeedStore(Protocol):
    """The store side of the writer and the suppression consumer (the CQL store)."""

    def event_watermark(self) -> tuple[int, int]: ...

    def store_stream_events(self, events: Sequence[EventRecord], seq: int, last_id: int,
                            attempts: Sequence[Attempt] = ()) -> None: ...

    def set_event_watermark(self, seq: int, last_id: int) -> None: ...

    def record_feedback(self, events: Sequence[EventRecord], suppressions: Sequence[Suppression]) -> None: ...


class StoreWriter:
    """Writes PW_EVENTS into the store in stream order (see the module doc)."""

    def __init__(self, queue: NatsQueue, store: EventFeedStore, *, batch: int = WRITER_BATCH,
                 idle_wait: float = IDLE_WAIT) -> None:
        self.queue = queue
        self.store = store
        self.batch = batch
        self.idle_wait = idle_wait
        self.written = 0  # events stored by this writer (metrics, tests)
        self.seq = 0
        self.last_id = 0

    async def run(self) -> None:
        """Until cancelled; NATS or store trouble: start again from the stored watermark."""
        await _again_and_again("the events store writer", self._follow)

    async def _follow(self) -> None:
        self.seq, self.last_id = await asyncio.to_thread(self.store.event_watermark)
        js = await self.queue.jetstream()
        last = (await js.stream_info(EVENTS_STREAM)).state.last_seq
        if last < self.seq:  # the stream was made again (its data lost): its sequences restarted
            log.warning("PW_EVENTS ends at sequence %d, before the stored watermark %d: the stream was created "
                        "again; storing it from its start", last, self.seq)
            self.seq = 0
        sub = await js.pull_subscribe(f"{EVENTS_PREFIX}.>", durable=None, stream=EVENTS_STREAM,
                                      config=api.ConsumerConfig(
                                          deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
                                          opt_start_seq=self.seq + 1, ack_policy=api.AckPolicy.NONE,
                                          inactive_threshold=60.0, max_deliver=1,
                                          description="postwave store writer (in order, from the stored watermark)"))
        log.info("events store writer resuming after stream sequence %d (id %d)", self.seq, self.last_id)
        async with _subscribed(sub):
            while True:
                started = time.time()
                try:
                    msgs = await sub.fetch(self.batch, timeout=self.idle_wait)
                except TimeoutError:  # nats' own, or asyncio's from inside the client on a busy host
                    msgs = []
                if msgs:
                    await self._store(msgs)
                else:  # caught up: later events get ids above the present
                    metrics.observe_events_stored(0, 0.0)
                    idle_id = int(started * 1_000_000) * ID_SEQUENCE
                    if idle_id > self.last_id:
                        self.last_id = idle_id
                        await asyncio.to_thread(self.store.set_event_watermark, self.seq, self.last_id)

    async def _store(self, msgs: Sequence[Any]) -> None:
        events: list[EventRecord] = []
        attempts: list[Attempt] = []
        seq, last_id = self.seq, self.last_id
        for msg in msgs:
            meta = msg.metadata
            if meta.sequence.stream <= seq:  # a repeat of what this writer stored already
                continue
            if meta.sequence.stream > seq + 1:
                log.error("events at stream sequences %d-%d left PW_EVENTS (max age or size) before the store "
                          "writer stored them", seq + 1, meta.sequence.stream - 1)
            seq = meta.sequence.stream
            last_id = max(stream_event_id(meta.timestamp, seq), last_id + 1)
            try:
                streamed = decode(msg.data, last_id)
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                log.error("skipping unreadable event at stream sequence %d (%s)", seq, exc)
                continue
            events.append(streamed.event)
            if streamed.attempt is not None:
                attempts.append(streamed.attempt)
        if seq == self.seq:
            return
        await asyncio.to_thread(self.store.store_stream_events, events, seq, last_id, attempts)
        self.seq, self.last_id = seq, last_id
        self.written += len(events)
        metrics.observe_events_stored(len(events), time.time() - msgs[-1].metadata.timestamp.timestamp())


class SuppressionConsumer:
    """Writes the suppressions that bounces carry (durable consumer on ``events.*.bounced``)."""

    def __init__(self, queue: NatsQueue, store: EventFeedStore, *, batch: int = 200) -> None:
        self.queue = queue
        self.store = store
        self.batch = batch
        self.written = 0

    async def run(self) -> None:
        """Until cancelled; NATS or store trouble: start again (unacknowledged bounces come back)."""
        await _again_and_again("the suppression consumer", self._follow)

    async def _follow(self) -> None:
        js = await self.queue.jetstream()
        sub = await js.pull_subscribe(f"{EVENTS_PREFIX}.*.bounced", durable=SUPPRESSION_CONSUMER, stream=EVENTS_STREAM,
                                      config=api.ConsumerConfig(
                                          ack_policy=api.AckPolicy.EXPLICIT, ack_wait=30.0, max_deliver=-1,
                                          deliver_policy=api.DeliverPolicy.ALL,
                                          description="postwave suppression: addresses bounces suppress"))
        async with _subscribed(sub):
            while True:
                try:
                    msgs = await sub.fetch(self.batch, timeout=IDLE_WAIT)
                except TimeoutError:  # nats' own, or asyncio's from inside the client on a busy host
                    continue
                suppressions = []
                for msg in msgs:
                    try:
                        streamed = decode(msg.data)
                    except (ValueError, KeyError, IndexError, TypeError) as exc:
                        log.error("skipping an unreadable bounce event (%s)", exc)
                        continue
                    event, supp = streamed.event, streamed.suppress
                    if supp:
                        meta = msg.metadata
                        suppressions.append(Suppression(
                            event.tenant_id, supp["address"], supp["reason"], None, source=event.type,
                            source_event_id=str(stream_event_id(meta.timestamp, meta.sequence.stream)),
                            message_id=event.message_id, created=event.time))
                if suppressions:
                    await asyncio.to_thread(self.store.record_feedback, [], suppressions)
                    self.written += len(suppressions)
                for msg in msgs:
                    await msg.ack()


class ReputationConsumer:
    """Counts delivered and bounced outcomes toward the tenants' circuit breakers (durable
    consumer ``pw-events-reputation`` on ``events.*.delivered`` and ``events.*.bounced``): an
    event that names a breaker stream is counted, and every ``every`` seconds the counts are
    written as samples through ``record`` (which evaluates the tenants), then acknowledged. A
    consumer that dies before writing leaves them unacknowledged: they are counted again."""

    def __init__(self, queue: NatsQueue, record: Callable[[Sequence[BreakerSample]], Any], *, every: float,
                 writer: str, batch: int = 500) -> None:
        self.queue = queue
        self.record = record
        self.every = every
        self.writer = writer
        self.batch = batch
        self.counted = 0  # outcomes written as samples (tests)

    async def run(self) -> None:
        """Until cancelled; NATS or store trouble: start again (unacknowledged events come back)."""
        await _again_and_again("the reputation consumer", self._follow)

    async def _follow(self) -> None:
        js = await self.queue.jetstream()
        sub = await js.pull_subscribe("", durable=REPUTATION_CONSUMER, stream=EVENTS_STREAM, config=api.ConsumerConfig(
            ack_policy=api.AckPolicy.ALL, ack_wait=max(30.0, 10 * self.every), max_deliver=-1,
            max_ack_pending=100_000, deliver_policy=api.DeliverPolicy.ALL,
            filter_subjects=[f"{EVENTS_PREFIX}.*.delivered", f"{EVENTS_PREFIX}.*.bounced"],
            description="postwave reputation: outcomes counted by the tenant circuit breakers"))
        async with _subscribed(sub):
            counts: dict[tuple[str, str], list[int]] = {}
            last: Any = None
            due = time.monotonic() + self.every
            while True:
                try:
                    msgs = await sub.fetch(self.batch, timeout=max(0.05, min(IDLE_WAIT, due - time.monotonic())))
                except TimeoutError:  # nats' own, or asyncio's from inside the client on a busy host
                    msgs = []
                for msg in msgs:
                    last = msg
                    try:
                        streamed = decode(msg.data)
                    except (ValueError, KeyError, IndexError, TypeError) as exc:
                        log.error("skipping an unreadable event (%s)", exc)
                        continue
                    if streamed.breaker_stream:
                        pair = counts.setdefault((streamed.event.tenant_id, streamed.breaker_stream), [0, 0])
                        pair[0 if streamed.event.type == "delivered" else 1] += 1
                if time.monotonic() < due:
                    continue
                if last is None:  # nothing came
                    due = time.monotonic() + self.every
                    continue
                now = time.time()
                samples = [BreakerSample(tenant, stream, now, delivered=d, bounced=b, writer=self.writer)
                           for (tenant, stream), (d, b) in counts.items()]
                if samples:
                    await asyncio.to_thread(self.record, samples)
                # Acknowledges everything up to it (ack policy all), confirmed before it counts: a
                # consumer started next (a new active scheduler) must not get these outcomes again.
                await last.ack_sync(timeout=self.queue.request_timeout)
                self.counted += sum(d + b for d, b in counts.values())
                counts, last, due = {}, None, time.monotonic() + self.every


async def _again_and_again(name: str, follow: Callable[[], Awaitable[None]]) -> None:
    """Run a consumer until cancelled, starting it again RETRY_PAUSE after each failure."""
    while True:
        try:
            await follow()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - each consumer resumes where its record says
            log.warning("%s stopped (%s); starting again in %g s", name, _describe(exc), RETRY_PAUSE)
            await asyncio.sleep(RETRY_PAUSE)


@contextlib.asynccontextmanager
async def _subscribed(sub: Any) -> AsyncIterator[None]:
    """Unsubscribe when the consumer stops: a pull request still open on a cancelled
    subscription would take messages the next one then waits an ack wait for."""
    try:
        yield
    finally:
        try:
            await sub.unsubscribe()
        except Exception:  # noqa: BLE001 - a closed connection has no subscription left
            pass
