"""The webhook dispatcher: every active endpoint follows the event log with its own cursor.

Per endpoint, one task repeats three guard steps:

1. ``next_batch`` -- the endpoint's events after its cursor (its event types only), at most
   ``webhook_batch_size``; none: wait ``webhook_poll_seconds``. ``hold`` stores the batch's
   last event id as the endpoint's ``pending`` before the first POST;
2. ``post_batch`` -- one signed POST of the batch as JSON; 2xx is success, anything else
   (an error status, a timeout, a refused connection, a blocked address) a failure;
3. success: ``advance`` the durable cursor to the batch's last event; failure: ``retry_later``
   the *same* batch (same ``webhook-id``) after an exponential back-off with jitter, until the
   endpoint has failed for ``webhook_retry_window_seconds``; then ``disable`` it and write a
   ``webhook.disabled`` event for the tenant. Its cursor stays where it was, so a redrive
   delivers everything it missed.

At least once: the cursor moves only after a 2xx, so a crash between the answer and the
write repeats that batch, for the receiver to drop by its ``webhook-id``: a dispatcher that
takes over finds ``pending`` above the cursor and rebuilds exactly that batch (the events
after the cursor up to ``pending``), so it goes again with the same events and the same
``webhook-id`` even when more events have arrived since. Never twice otherwise: events at
or before the cursor are never read again. Per-message
order holds because an endpoint's events go in event-id order, one batch at a time.

Time comes from an injectable :class:`Clock`, so tests can run a day of retries at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import random
import time
from collections.abc import Sequence
from typing import Any, Protocol

import aiohttp

from postwave import loop, metrics
from postwave.api import convert
from postwave.config import Config
from postwave.store.base import EventRecord, Store, WebhookEndpoint
from postwave.webhooks import signing
from postwave.webhooks.ssrf import (
    BlockedAddressError,
    GuardedResolver,
    allow_list,
    check_url,
)

log = logging.getLogger(__name__)

REFRESH_SECONDS = 2.0
DISABLED_EVENT = "webhook.disabled"


class Clock(Protocol):
    """Time as the dispatcher sees it."""

    def now(self) -> float:
        """Unix time."""

    async def sleep(self, seconds: float) -> None:
        """Wait."""


class WallClock:
    """The real clock."""

    def now(self) -> float:
        """time.time()."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """asyncio.sleep()."""
        await asyncio.sleep(seconds)


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    """What one POST got."""

    ok: bool
    status: int  # 0 = no HTTP answer
    detail: str


def retry_delay(failures: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Delay before retry number ``failures`` (1 = the first): ``min(cap, base * 2**(failures-1))``,
    of which the second half is random ("equal jitter": spread out, yet never shorter than half)."""
    ceiling = min(cap, base * float(2 ** min(failures - 1, 60)))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def event_json(e: EventRecord) -> dict[str, Any]:
    """One event as the JSON a receiver gets."""
    machine, reason = convert.engagement(e)
    body: dict[str, Any] = {
        "id": str(e.id), "type": e.type, "message_id": e.message_id,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(e.time)) + f".{int(e.time % 1 * 1e6):06d}Z",
        "recipient": e.recipient, "detail": e.detail, "send_id": e.send_id, "batch_id": e.batch_id,
        "custom_args": json.loads(e.custom_args) if e.custom_args else {},
    }
    if e.type in convert.ENGAGEMENT_TYPES:
        body.update(machine=machine, machine_reason=reason)
    return body


def batch_body(events: Sequence[EventRecord], now: float) -> bytes:
    """The JSON body of a batch."""
    return json.dumps({"type": "events", "timestamp": int(now), "data": [event_json(e) for e in events]},
                      separators=(",", ":")).encode("utf-8")


def active_secrets(endpoint: WebhookEndpoint, now: float, config: Config | None = None) -> list[str]:
    """The current secret, and the previous one while its overlap lasts; sealed ones (see
    signing.seal) are opened with the master key of ``config``."""
    stored = [endpoint.secret] + ([endpoint.previous_secret] if endpoint.previous_secret and
                                  now < endpoint.previous_until else [])
    if config is None:
        return stored
    return [signing.unseal(config, endpoint.endpoint_id, s) for s in stored]


class Sender:
    """Signed POSTs through an SSRF-guarded HTTP client."""

    def __init__(self, config: Config) -> None:
        self.allowed = allow_list(config.webhook_allow_networks)
        self.timeout = aiohttp.ClientTimeout(total=config.webhook_timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """The shared client session (made on first use, inside the running loop)."""
        if self._session is None:
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(self.allowed), limit=256)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self.timeout)
        return self._session

    async def post(self, url: str, secrets: Sequence[str], message_id: str, timestamp: int, body: bytes) -> Answer:
        """One signed POST; never raises for what the endpoint or the network does."""
        try:
            check_url(url, self.allowed)
            async with self.session().post(url, data=body, allow_redirects=False,
                                           headers=signing.headers(secrets, message_id, timestamp, body)) as reply:
                await reply.read()
                return Answer(200 <= reply.status < 300, reply.status, f"HTTP {reply.status}")
        except TimeoutError:
            return Answer(False, 0, "timed out")
        except BlockedAddressError as exc:
            return Answer(False, 0, exc.message)
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            blocked = _blocked_cause(exc)  # aiohttp wraps the resolver's refusal
            return Answer(False, 0, blocked.message if blocked else f"{type(exc).__name__}: {exc}"[:300])

    async def close(self) -> None:
        """Close the client session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _blocked_cause(exc: BaseException) -> BlockedAddressError | None:
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, BlockedAddressError):
            return seen
        seen = getattr(seen, "os_error", None) or seen.__cause__ or seen.__context__
    return None


class Dispatcher:
    """Runs one delivery task per active endpoint."""

    def __init__(self, *, store: Store, config: Config, clock: Clock | None = None,
                 rng: random.Random | None = None) -> None:
        self.store = store
        self.config = config
        self.clock = clock or WallClock()
        self.rng = rng or random.Random()
        self.sender = Sender(config)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.delays: list[tuple[str, float]] = []  # (endpoint id, retry delay): what tests and metrics read

    async def run(self, stop: asyncio.Event) -> None:
        """Start a task per active endpoint (re-reading the list every REFRESH_SECONDS) until ``stop``."""
        try:
            while not stop.is_set():
                await self.refresh()
                try:
                    await asyncio.wait_for(stop.wait(), REFRESH_SECONDS)
                except TimeoutError:
                    pass
        finally:
            await self.close()

    async def refresh(self) -> None:
        """Tasks for endpoints that are active and have none."""
        for done in [k for k, t in self._tasks.items() if t.done()]:
            del self._tasks[done]
        try:
            endpoints = await asyncio.to_thread(self.store.list_webhooks, "")
        except Exception as exc:  # noqa: BLE001 - a store outage: look again later
            log.warning("cannot list webhook endpoints: %s", exc)
            return
        for endpoint in endpoints:
            if endpoint.state == "active" and endpoint.endpoint_id not in self._tasks:
                self._tasks[endpoint.endpoint_id] = asyncio.get_running_loop().create_task(
                    self.follow(endpoint.endpoint_id))

    async def close(self) -> None:
        """Stop every task and the HTTP client."""
        await loop.cancel_and_wait(self._tasks.values())
        self._tasks.clear()
        await self.sender.close()

    # one endpoint

    async def follow(self, endpoint_id: str) -> None:
        """Deliver an endpoint's events until it is deleted or disabled."""
        batch: list[EventRecord] = []
        failures = 0
        while True:
            endpoint = await self._load(endpoint_id)
            if endpoint is None or endpoint.state != "active":
                return
            if not batch:
                batch = await self.next_batch(endpoint)
                if not batch:
                    await self.clock.sleep(self.config.webhook_poll_seconds)
                    continue
                await self.hold(endpoint, batch)
            answer = await self.post_batch(endpoint, batch)
            if answer.ok:
                await self.advance(endpoint, batch)
                batch, failures = [], 0
                continue
            failures += 1
            if not await self.retry_later(endpoint, answer, failures):
                return

    async def _load(self, endpoint_id: str) -> WebhookEndpoint | None:
        while True:
            try:
                return await asyncio.to_thread(self.store.get_webhook, endpoint_id)
            except Exception as exc:  # noqa: BLE001 - a store outage: wait, the cursor is safe
                log.warning("cannot read webhook endpoint %s: %s", endpoint_id, exc)
                await self.clock.sleep(self.config.webhook_poll_seconds)

    async def next_batch(self, endpoint: WebhookEndpoint) -> list[EventRecord]:
        """Events after the cursor, of the endpoint's types; cursor 0 = from the endpoint's creation.
        With ``pending`` above the cursor (a batch was posted and not recorded), that batch:
        only the events up to ``pending``, if any of them are still there."""
        size = self.config.webhook_batch_size
        if endpoint.cursor:
            wanted = await asyncio.to_thread(self.store.list_events, endpoint.tenant_id, endpoint.cursor,
                                             list(endpoint.event_types), "", size)
        else:
            page = await asyncio.to_thread(self.store.events_since, endpoint.tenant_id, endpoint.created, 0, size)
            wanted = [e for e in page if not endpoint.event_types or e.type in endpoint.event_types]
            if page and not wanted:  # none of its types yet: start after them
                await asyncio.to_thread(self.store.set_webhook_progress, endpoint.endpoint_id, "active",
                                        page[-1].id, 0.0, "")
        if endpoint.pending > endpoint.cursor:
            held = [e for e in wanted if e.id <= endpoint.pending]
            wanted = held or wanted  # none left (expired, or no longer of its types): go on after them
        return wanted

    async def hold(self, endpoint: WebhookEndpoint, batch: Sequence[EventRecord]) -> None:
        """Store the batch about to be posted as the endpoint's ``pending`` (unless it is that
        one already): after a crash, the dispatcher that takes over posts it again as it was."""
        if endpoint.pending != batch[-1].id:
            await asyncio.to_thread(self.store.set_webhook_pending, endpoint.endpoint_id, batch[-1].id)

    async def post_batch(self, endpoint: WebhookEndpoint, batch: Sequence[EventRecord]) -> Answer:
        """One signed POST; the webhook-id names the endpoint and the batch's event range."""
        now = self.clock.now()
        message_id = f"msg_{endpoint.endpoint_id}_{batch[0].id}_{batch[-1].id}"
        answer = await self.sender.post(endpoint.url, active_secrets(endpoint, now, self.config), message_id, int(now),
                                        batch_body(batch, now))
        metrics.count_webhook("ok" if answer.ok else "retry")
        return answer

    async def advance(self, endpoint: WebhookEndpoint, batch: Sequence[EventRecord]) -> None:
        """Move the durable cursor past the batch."""
        await asyncio.to_thread(self.store.set_webhook_progress, endpoint.endpoint_id, "active", batch[-1].id, 0.0, "")

    async def retry_later(self, endpoint: WebhookEndpoint, answer: Answer, failures: int) -> bool:
        """Record the failure and wait; False when the endpoint is now disabled."""
        now = self.clock.now()
        since = endpoint.failing_since or now
        if now - since >= self.config.webhook_retry_window_seconds:
            await self.disable(endpoint, answer, since)
            return False
        await asyncio.to_thread(self.store.set_webhook_progress, endpoint.endpoint_id, "active", endpoint.cursor,
                                since, answer.detail)
        delay = retry_delay(failures, base=self.config.webhook_retry_base_seconds,
                            cap=self.config.webhook_retry_max_seconds, rng=self.rng)
        self.delays.append((endpoint.endpoint_id, delay))
        await self.clock.sleep(delay)
        return True

    async def disable(self, endpoint: WebhookEndpoint, answer: Answer, since: float) -> None:
        """Disable the endpoint and tell the tenant (an event, which its other endpoints receive)."""
        hours = (self.clock.now() - since) / 3600
        detail = f"failing for {hours:.1f} h; last: {answer.detail}"
        await asyncio.to_thread(self.store.set_webhook_progress, endpoint.endpoint_id, "disabled", endpoint.cursor,
                                since, detail)
        event = EventRecord(endpoint.tenant_id, "", DISABLED_EVENT, self.clock.now(), json.dumps(
            {"endpoint_id": endpoint.endpoint_id, "url": endpoint.url, "reason": detail, "cursor": endpoint.cursor}))
        await asyncio.to_thread(self.store.record_engagement, [event], [])
        metrics.count_webhook("failed")
        log.warning("webhook endpoint %s disabled: %s", endpoint.endpoint_id, detail)


async def run_webhooks(config: Config) -> None:
    """The ``postwave webhooks`` role: the admin endpoint, and the dispatcher while this process
    holds the dispatcher lease (:mod:`postwave.webhooks.lease`), until SIGTERM or SIGINT."""
    from postwave.backends import open_backends
    from postwave.roles import readiness, stop_event
    from postwave.webhooks.lease import dispatcher_lease

    store, queue = open_backends(config, role="webhooks")
    stop = stop_event()
    lease = dispatcher_lease(config, queue)
    admin = await metrics.start_admin_server(config.admin_listen, readiness(store, queue))
    print(f"postwave webhooks standing by for the lease; store {config.store}, queue {config.queue}", flush=True)
    try:
        while await lease.acquire(stop):
            await dispatch_while_held(config, store, lease, stop)
    finally:
        await lease.release()
        await admin.stop()
        await queue.close()
        store.close()


async def dispatch_while_held(config: Config, store: Store, lease: Any, stop: asyncio.Event) -> None:
    """Dispatch until ``stop`` or until a renewal of the lease fails."""
    from postwave.webhooks.lease import hold

    log.info("this process is the active webhook dispatcher")
    print("postwave webhooks active", flush=True)
    done = asyncio.Event()  # stopping, or the lease is lost: the dispatcher's own stop
    running = asyncio.get_running_loop()
    tasks = [running.create_task(hold(lease, config.webhook_lease_seconds, stop, done)),
             running.create_task(_relay(stop, done))]
    try:
        await Dispatcher(store=store, config=config).run(done)
    finally:
        await loop.cancel_and_wait(tasks)


async def _relay(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()
