"""Acceptance: validate, check limits, then a durable group commit before the reply.

Requests from every concurrent RPC are queued to one committer task, which writes all that
arrived while the previous commit was in progress in a single transaction (group commit):
one fsync serves hundreds of requests, and the reply of each waits only for its own commit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from datetime import UTC, datetime

from postwave import metrics, native, tracing
from postwave.backends import shared_database
from postwave.config import Config
from postwave.domains.policy import SenderPolicy
from postwave.lookups import Lookups
from postwave.loop import cancel_and_wait
from postwave.errors import (
    AlreadyExistsError,
    NotFoundError,
    PostwaveError,
    RateLimitedError,
    StoreUnavailableError,
)
from postwave.pipeline import compose
from postwave.pipeline.validate import Plan, validate
from postwave.queue.base import Queue, QueueItem
from postwave.render.templates import TemplateEngine
from postwave.store.base import (
    AcceptedRequest,
    AcceptResult,
    AsyncStore,
    EventRecord,
    IdempotencyHit,
    NewMessage,
    Store,
    TemplateRecord,
    Tenant,
    as_async,
    native_async,
)
from postwave.store.sqlite import WriteLockBusy
from postwave.tracking.consent import suppression_address
from postwave.v1 import send_pb2

log = logging.getLogger(__name__)

SCHEDULE_THRESHOLD = 1.0  # a send_at closer than this is sent at once
TENANT_SECONDS = 5.0  # a tenant's quota and rate changes reach the API processes within this
# A commit overlaps one already running only with at least this many requests: each commit
# has a fixed cost in statements (suppression shards, usage, bucket markers), and on a busy
# client CPU many small commits cost more than they gain.
OVERLAP_MIN = 64
# With accept_linger_ms, a commit of fewer requests than this may wait that long for more first.
LINGER_MIN = 4
# The mean time between requests is taken over this many last arrivals: enough to smooth the
# bursts in which a busy event loop reads its requests.
GAP_SPAN = 32


def new_message_id() -> str:
    """Time-ordered, random, URL-safe."""
    return f"{int(time.time() * 1000):011x}{secrets.token_hex(8)}"


def utc_day(t: float) -> str:
    """The UTC day of a timestamp, as the usage counters key it."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")


@dataclasses.dataclass(slots=True)
class _Pending:
    tenant_id: str
    req: send_pb2.SendRequest
    plan: Plan
    future: asyncio.Future[send_pb2.SendResponse]
    arrived_ns: int = 0  # wall clock, for the accept span (tracing only)


class Acceptor:
    """The acceptance stage of the API process."""

    def __init__(self, *, store: Store, queue: Queue, config: Config, engine: TemplateEngine) -> None:
        self.store = store
        self.queue = queue
        self.config = config
        self.engine = engine
        self._pending: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._buckets = native.tokenbucket.TokenBuckets(1.0)
        self._rates: dict[str, float] = {}
        self._usage: dict[tuple[str, str], int] = {}
        self._tenants: Lookups[str, Tenant | None] = Lookups(TENANT_SECONDS)
        self.senders = SenderPolicy(store, config)  # deliverability: the From-domain rule
        # The group commit runs on the store's own asyncio face where it has one.
        self._async: AsyncStore | None = as_async(store) if native_async(store) and config.store_async else None
        self._commits: set[asyncio.Task[None]] = set()
        # accept_linger_ms: until this loop time a small commit waits for company. Set when a
        # commit ends that had company (more than one request, or more waiting before its
        # answers went out): one client sending one request at a time never waits.
        self._crowded_until = float("-inf")
        # Loop times of the last GAP_SPAN requests to reach the commit queue: a commit lingers
        # only while they come faster than one a linger, so that the wait is likely to find
        # company instead of only adding latency.
        self._arrivals: deque[float] = deque(maxlen=GAP_SPAN)
        self._republishing: set[asyncio.Task[None]] = set()  # stored, waiting for the queue to return
        # A queue that can publish from a blocking thread (the embedded one) is written by the
        # commit's own thread, right after the store: one thread hop a commit instead of two.
        self._publish_sync: Callable[[Sequence[QueueItem]], None] | None = getattr(queue, "publish_sync", None)
        # The embedded store and queue share one SQLite file: their writes go in one
        # transaction (one write lock, one fsync a commit; stored and queued, or neither).
        self._shared_db = shared_database(store, queue)
        # accept_commit_on_loop: the commits made on the loop, and those the write lock sent to a thread.
        self._on_loop = self._shared_db is not None and config.accept_commit_on_loop
        self.commits_on_loop = 0
        self.commits_on_thread = 0

    def start(self) -> None:
        """Start the committer task."""
        self._task = asyncio.get_running_loop().create_task(self._committer(), name="accept-committer")

    async def stop(self) -> None:
        """Finish pending commits, then stop."""
        if self._task:
            while self._pending:
                await asyncio.sleep(0.01)
            await asyncio.gather(*self._commits, return_exceptions=True)
            if self._republishing:
                # A republish waiting for a downed queue gives up here: its messages stay in
                # ``accepted`` and the next start-up sweep queues them.
                _, stuck = await asyncio.wait(set(self._republishing), timeout=10.0)
                await cancel_and_wait(stuck)
            await cancel_and_wait([self._task])

    async def send(self, tenant_id: str, req: send_pb2.SendRequest) -> send_pb2.SendResponse:
        """Accept one request durably; raises a PostwaveError on any refusal."""
        started = time.perf_counter()
        lane = "bulk" if req.stream == send_pb2.STREAM_BULK else "transactional"
        try:
            response = await self._send(tenant_id, req)
        except BaseException as exc:
            metrics.observe_accept(lane, metrics.accept_outcome(exc), time.perf_counter() - started)
            raise
        metrics.observe_accept(lane, "accepted", time.perf_counter() - started)
        return response

    async def _send(self, tenant_id: str, req: send_pb2.SendRequest) -> send_pb2.SendResponse:
        arrived_ns = tracing.now_ns() if tracing.ENABLED else 0
        plan = validate(
            req,
            max_recipients=self.config.max_recipients,
            max_bytes=self.config.max_message_bytes,
            max_ahead_seconds=self.config.max_schedule_ahead_hours * 3600,
        )
        await self.senders.check(tenant_id, getattr(req, "from"), plan.lane)  # deliverability: sending domains
        template = await self._template(tenant_id, req)
        self._check_render(req, plan, template)
        if template is not None and not req.template_version:
            # Pin the version: a template edited after acceptance must not change this mail.
            pinned = send_pb2.SendRequest()
            pinned.CopyFrom(req)
            pinned.template_version = template.version
            req = pinned
        await self._check_limits(tenant_id, len(plan.recipients))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[send_pb2.SendResponse] = loop.create_future()
        self._arrivals.append(loop.time())
        self._pending.append(_Pending(tenant_id, req, plan, future, arrived_ns))
        self._wakeup.set()
        return await future

    def _arrival_gap(self) -> float:
        """Mean seconds between the last GAP_SPAN requests (infinite before the second)."""
        arrivals = self._arrivals
        return (arrivals[-1] - arrivals[0]) / (len(arrivals) - 1) if len(arrivals) > 1 else float("inf")

    async def send_many(self, tenant_id: str, reqs: Sequence[send_pb2.SendRequest]) -> list[send_pb2.SendResponse]:
        """Accept each request on its own: one item's error never fails another."""
        results = await asyncio.gather(*(self.send(tenant_id, r) for r in reqs), return_exceptions=True)
        return [item_response(r, res) for r, res in zip(reqs, results)]

    # guard steps

    async def _template(self, tenant_id: str, req: send_pb2.SendRequest) -> TemplateRecord | None:
        if not req.template_id:
            return None
        found = await asyncio.to_thread(self.store.get_template, tenant_id, req.template_id, req.template_version)
        if found is None:
            version = f" version {req.template_version}" if req.template_version else ""
            raise NotFoundError(f"template {req.template_id!r}{version} does not exist for this tenant")
        return found

    def _check_render(self, req: send_pb2.SendRequest, plan: Plan, template: TemplateRecord | None) -> None:
        try:
            for index, context in enumerate(plan.substitutions):
                compose.render(self.engine, req, template, index, context)
        except PostwaveError:
            metrics.count_render_error("accept")
            raise

    async def _check_limits(self, tenant_id: str, count: int) -> None:
        tenant = await self._tenant(tenant_id)
        if tenant.rate_per_second > 0:
            now = time.monotonic()
            if self._rates.get(tenant_id) != tenant.rate_per_second:
                self._buckets.configure(tenant_id, tenant.rate_per_second, None, now)
                self._rates[tenant_id] = tenant.rate_per_second
            if not self._buckets.try_acquire(tenant_id, count, now):
                raise RateLimitedError(
                    f"tenant rate limit of {tenant.rate_per_second:g} messages/s reached",
                    retry_after=self._buckets.wait_time(tenant_id, count, now),
                )
        if tenant.daily_quota > 0:
            day = utc_day(time.time())
            used = self._usage.get((tenant_id, day))
            if used is None:
                used = await asyncio.to_thread(self.store.usage, tenant_id, day)
            if used + count > tenant.daily_quota:
                raise RateLimitedError(
                    f"daily quota of {tenant.daily_quota} messages used ({used} today)",
                    retry_after=86400 - time.time() % 86400,
                )
            self._usage[(tenant_id, day)] = used + count

    async def _tenant(self, tenant_id: str) -> Tenant:
        tenant = await self._tenants.get(tenant_id, lambda: asyncio.to_thread(self.store.get_tenant, tenant_id))
        if tenant is None:
            self._tenants.forget(tenant_id)  # looked up again next time (it may be created again)
            raise NotFoundError(f"tenant {tenant_id} no longer exists")
        return tenant

    # group commit

    async def _committer(self) -> None:
        # A store with its own asyncio face takes several commits at once (each one waits on
        # the cluster's round trips, not on a lock); a blocking store gets one at a time.
        room = asyncio.Semaphore(self.config.accept_commits_in_flight if self._async else 1)
        loop = asyncio.get_running_loop()
        linger = 0.0 if self._async else self.config.accept_linger_ms / 1000
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                if self._commits and len(self._pending) < OVERLAP_MIN:
                    break  # a small batch waits for the running commit: fewer, fuller commits cost less
                if linger and not self._commits and len(self._pending) < LINGER_MIN \
                        and loop.time() < self._crowded_until and self._arrival_gap() < linger:
                    # Requests are arriving together, faster than one a linger: a moment's wait
                    # lets the next few share this commit's write lock, fsync and thread
                    # hand-offs (README, Performance). Slower, it would only add latency.
                    self._crowded_until = float("-inf")
                    await asyncio.sleep(linger)
                await room.acquire()
                batch = self._pending[: self.config.accept_batch_max]
                del self._pending[: len(batch)]
                task = loop.create_task(self._commit(batch))
                self._commits.add(task)
                task.add_done_callback(self._commit_done)
                task.add_done_callback(lambda _: room.release())

    def _commit_done(self, task: asyncio.Task[None]) -> None:
        self._commits.discard(task)
        self._wakeup.set()  # requests that waited for it go now

    async def _commit(self, batch: list[_Pending]) -> None:
        commit_ns = tracing.now_ns() if tracing.ENABLED else 0
        metrics.observe_commit(len(batch))
        try:
            if self._async is not None:
                outcomes, items = await self._write_async(self._async, batch)
            else:
                outcomes, items = await self._write_blocking(batch)
            await self._publish(items)
        except Exception as exc:
            error = exc if isinstance(exc, PostwaveError) else PostwaveError(f"acceptance failed: {exc}")
            log.exception("group commit of %d requests failed", len(batch))
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(error)
            return
        if len(batch) > 1 or self._pending:  # company; read before the answers wake their senders
            self._crowded_until = asyncio.get_running_loop().time() + self.config.accept_linger_ms / 1000
        for p, outcome in zip(batch, outcomes):
            if p.future.done():
                continue
            if isinstance(outcome, Exception):
                p.future.set_exception(outcome)
            else:
                p.future.set_result(outcome)
                _observe_accepted(p, outcome, commit_ns)

    async def _publish(self, items: list[QueueItem]) -> None:
        """Queue what the store now holds. If the queue is down, the messages are already
        durable: keep publishing them in the background until it returns (the client hears
        UNAVAILABLE and may retry with the same send_id to learn their ids), so they are
        neither lost nor left for a sweep."""
        try:
            await self.queue.publish(items)
        except Exception as exc:  # noqa: BLE001 - whatever the queue raised, the messages are stored
            # Not one of self._commits: the committer waits for those before a small batch.
            task = asyncio.get_running_loop().create_task(self._republish(items))
            self._republishing.add(task)
            task.add_done_callback(self._republishing.discard)
            reason = exc.message if isinstance(exc, PostwaveError) else f"queue unavailable: {exc!r}"
            raise StoreUnavailableError(f"{reason}; the messages were stored and will be sent when the "
                                        f"queue returns: retry with the same send_id to get their ids") from exc

    async def _republish(self, items: list[QueueItem]) -> None:
        delay = 0.5
        while True:
            await asyncio.sleep(delay)
            try:
                await self.queue.publish(items)
                log.info("queued %d messages stored during a queue outage", len(items))
                return
            except Exception:  # noqa: BLE001 - keep trying until the queue takes them
                log.debug("republishing %d stored messages failed; trying again", len(items), exc_info=True)
                delay = min(delay * 2, 10.0)

    async def _write_blocking(self, batch: list[_Pending]
                              ) -> tuple[list[send_pb2.SendResponse | Exception], list[QueueItem]]:
        """The group commit on a blocking store: on the event loop when the embedded file's
        write lock is free at once (accept_commit_on_loop), else on a thread, which waits for
        the lock (README, Performance)."""
        if not self._on_loop:
            return await asyncio.to_thread(self._write, batch)
        prepared = self._read(batch)
        try:
            written = self._write_prepared(*prepared, wait=False)
        except WriteLockBusy:
            # The thread reuses the reads: they were made outside the lock, as a thread's
            # own are, and commit.lost() settles a send_id claimed meanwhile.
            self.commits_on_thread += 1
            return await asyncio.to_thread(self._write_prepared, *prepared)
        self.commits_on_loop += 1
        return written

    def _write(self, batch: list[_Pending]) -> tuple[list[send_pb2.SendResponse | Exception], list[QueueItem]]:
        """Idempotency, suppression, then one transaction. Blocks: runs on a thread."""
        return self._write_prepared(*self._read(batch))

    def _read(self, batch: list[_Pending]
              ) -> tuple[_Commit, dict[tuple[str, str], IdempotencyHit | None], float]:
        """The reads before the write lock (send_ids already answered, suppressed
        recipients) and the commit built from them."""
        now = time.time()
        hits = {key: self.store.get_idempotency(*key, now) for key in _send_ids(batch)}
        suppressed = {t: self.store.suppressed(t, addresses, now) for t, addresses in _recipients(batch).items()}
        return self._prepare(batch, hits, suppressed, now), hits, now

    def _write_prepared(self, commit: _Commit, hits: dict[tuple[str, str], IdempotencyHit | None], now: float,
                        wait: bool = True) -> tuple[list[send_pb2.SendResponse | Exception], list[QueueItem]]:
        """One transaction (``wait``: for the write lock; see Database.transaction). Blocks:
        on a thread, or on the loop when the lock is free."""
        together = self._shared_db.transaction(wait) if self._shared_db is not None and commit.requests else nullcontext()
        with together:
            results = self.store.accept(commit.requests, commit.events, utc_day(now)) if commit.requests else []
            hits.update({key: self.store.get_idempotency(*key, now) for key in commit.lost(results)})
            responses, items = commit.finish(results, hits)
            if items and self._publish_sync is not None:
                try:
                    self._publish_sync(items)
                except Exception as exc:  # noqa: BLE001 - stored: _publish tries again from the event loop
                    log.warning("queueing %d stored messages failed (%s); trying again", len(items), exc)
                    return responses, items
                return responses, []
        return responses, items

    async def _write_async(
        self, store: AsyncStore, batch: list[_Pending]
    ) -> tuple[list[send_pb2.SendResponse | Exception], list[QueueItem]]:
        """The same on the event loop, with every look-up of the batch in flight at once."""
        now = time.time()
        keys, tenants = _send_ids(batch), _recipients(batch)
        found = await asyncio.gather(*(store.get_idempotency_async(t, s, now) for t, s in keys),
                                     *(store.suppressed_async(t, a, now) for t, a in tenants.items()))
        hits: dict[tuple[str, str], IdempotencyHit | None] = dict(zip(keys, found[:len(keys)]))  # type: ignore[arg-type]
        suppressed: dict[str, dict[str, str]] = dict(zip(tenants, found[len(keys):]))  # type: ignore[arg-type]
        commit = self._prepare(batch, hits, suppressed, now)
        results = await store.accept_async(commit.requests, commit.events, utc_day(now)) if commit.requests else []
        lost = commit.lost(results)
        if lost:
            hits.update(zip(lost, await asyncio.gather(*(store.get_idempotency_async(t, s, now) for t, s in lost))))
        return commit.finish(results, hits)

    def _prepare(self, batch: list[_Pending], hits: dict[tuple[str, str], IdempotencyHit | None],
                 suppressed: dict[str, dict[str, str]], now: float) -> _Commit:
        """Answer repeated send_ids from their first answer; build the rest for writing."""
        commit = _Commit(batch, [None] * len(batch))
        seen: set[tuple[str, str]] = set()
        for i, p in enumerate(batch):
            key = (p.tenant_id, p.req.send_id)
            replay = _replay(p, hits.get(key), key in seen)
            if replay is not None:
                commit.outcomes[i] = replay
                continue
            if p.req.send_id:
                seen.add(key)
            accepted, evs, its, response = self._build(p, suppressed.get(p.tenant_id, {}), now)
            commit.add(i, accepted, evs, its, response)
        return commit

    def _build(
        self, p: _Pending, suppressed: dict[str, str], now: float
    ) -> tuple[AcceptedRequest, list[EventRecord], list[QueueItem], send_pb2.SendResponse]:
        req, plan = p.req, p.plan
        scheduled = plan.send_at > now + SCHEDULE_THRESHOLD
        messages: list[NewMessage] = []
        events: list[EventRecord] = []
        items: list[QueueItem] = []
        response = send_pb2.SendResponse(send_id=req.send_id)
        for r in plan.recipients:
            mid = new_message_id()
            reason = suppressed.get(r.address.lower()) or suppressed.get(
                suppression_address(r.address, req.unsubscribe_group) if req.unsubscribe_group else "")
            if reason:
                state, detail = "dropped", f"suppressed: {reason}"
            elif req.sandbox:
                state, detail = "sandboxed", "sandbox: rendered, not delivered"
            elif scheduled:
                state, detail = "scheduled", f"send_at {datetime.fromtimestamp(plan.send_at, UTC).isoformat()}"
            else:
                state, detail = "accepted", ""
                items.append(QueueItem(mid, p.tenant_id, plan.lane, now))
            messages.append(NewMessage(mid, r.personalization, r.address, state, detail))
            custom = dict(req.personalizations[r.personalization].custom_args)
            events.append(EventRecord(
                p.tenant_id, mid, state, now, detail, r.address, req.send_id, req.batch_id,
                json.dumps(custom) if custom else "",
            ))
            response.messages.add(message_id=mid, recipient=r.address, state=state, detail=detail)
        accepted = AcceptedRequest(
            request_id=secrets.token_hex(12), tenant_id=p.tenant_id, send_id=req.send_id,
            batch_id=req.batch_id, body_hash=plan.body_hash, payload=req.SerializeToString(),
            lane=plan.lane, send_at=plan.send_at, created=now,
            expires=plan.send_at + self.config.message_expiry_seconds,
            messages=tuple(messages), response=response.SerializeToString(),
        )
        return accepted, events, items, response


@dataclasses.dataclass(slots=True)
class _Commit:
    """One group commit being assembled: what to write, and each request's answer so far."""

    batch: list[_Pending]
    outcomes: list[send_pb2.SendResponse | Exception | None]
    fresh: list[int] = dataclasses.field(default_factory=list)
    requests: list[AcceptedRequest] = dataclasses.field(default_factory=list)
    events: list[EventRecord] = dataclasses.field(default_factory=list)
    items: list[QueueItem] = dataclasses.field(default_factory=list)

    def add(self, index: int, accepted: AcceptedRequest, events: list[EventRecord], items: list[QueueItem],
            response: send_pb2.SendResponse) -> None:
        """A request to write, and its answer if the write succeeds."""
        self.fresh.append(index)
        self.requests.append(accepted)
        self.events.extend(events)
        self.items.extend(items)
        self.outcomes[index] = response

    def lost(self, results: Sequence[AcceptResult]) -> list[tuple[str, str]]:
        """(tenant, send_id) of the requests that lost a race with another process on their send_id."""
        written = {r.request_id for r in results if r.written}
        return [(r.tenant_id, r.send_id) for r in self.requests if r.request_id not in written]

    def finish(self, results: Sequence[AcceptResult], hits: dict[tuple[str, str], IdempotencyHit | None]
               ) -> tuple[list[send_pb2.SendResponse | Exception], list[QueueItem]]:
        """The answers, a lost race answered from the winner's record; the queue items of what was written."""
        written = {r.request_id for r in results if r.written}
        keep: set[str] = set()
        for i, req in zip(self.fresh, self.requests):
            if req.request_id in written:
                keep.update(m.message_id for m in req.messages)
            else:
                p = self.batch[i]
                replayed = _replay(p, hits.get((p.tenant_id, p.req.send_id)), False)
                self.outcomes[i] = replayed or AlreadyExistsError("send_id conflict")
        items = [it for it in self.items if it.message_id in keep]
        # A repeated send_id is answered from the first answer; its messages still waiting in
        # ``accepted`` are published again (a no-op if queued: the queue dedupes by message
        # id, and a worker skips a message already final). This is what gets a message out
        # whose API process died between storing it and queueing it, when the client retries.
        fresh, now = set(self.fresh), time.time()
        for i, (p, o) in enumerate(zip(self.batch, self.outcomes)):
            if i not in fresh and isinstance(o, send_pb2.SendResponse):
                items.extend(QueueItem(m.message_id, p.tenant_id, p.plan.lane, now)
                             for m in o.messages if m.state == "accepted")
        return [o if o is not None else PostwaveError("not processed") for o in self.outcomes], items


def _send_ids(batch: list[_Pending]) -> list[tuple[str, str]]:
    """The (tenant, send_id) keys of a batch, each once."""
    return list(dict.fromkeys((p.tenant_id, p.req.send_id) for p in batch if p.req.send_id))


def _recipients(batch: list[_Pending]) -> dict[str, list[str]]:
    """Every recipient address of a batch (lower case), by tenant."""
    by_tenant: dict[str, list[str]] = {}
    for p in batch:
        by_tenant.setdefault(p.tenant_id, []).extend(r.address.lower() for r in p.plan.recipients)
        if p.req.unsubscribe_group:  # unsubscribed from this group only (tracking helper)
            by_tenant[p.tenant_id].extend(suppression_address(r.address, p.req.unsubscribe_group)
                                          for r in p.plan.recipients)
    return by_tenant


def _replay(p: _Pending, hit: IdempotencyHit | None, repeated: bool) -> send_pb2.SendResponse | Exception | None:
    """The earlier answer for a repeated send_id, an error for a changed body, or None."""
    if not p.req.send_id:
        return None
    if repeated:
        return AlreadyExistsError(
            f"send_id {p.req.send_id!r} appears twice in one batch; use a distinct send_id per request"
        )
    if hit is None:
        return None
    if hit.body_hash != p.plan.body_hash:
        return AlreadyExistsError(
            f"send_id {p.req.send_id!r} was used in the last 24 h with a different body; use a new send_id"
        )
    return send_pb2.SendResponse.FromString(hit.response)


def _observe_accepted(p: _Pending, response: send_pb2.SendResponse, commit_ns: int) -> None:
    """Messages by initial state, and (tracing on) each message's accept span."""
    states: dict[str, int] = {}
    for m in response.messages:
        states[m.state] = states.get(m.state, 0) + 1
    for state, count in states.items():
        metrics.count_accepted_messages(p.plan.lane, state, count)
    if tracing.ENABLED:
        tracing.record_accept(
            [m.message_id for m in response.messages], tenant=p.tenant_id, lane=p.plan.lane, outcome="accepted",
            start_ns=p.arrived_ns, commit_ns=commit_ns, end_ns=tracing.now_ns(),
        )


def item_response(req: send_pb2.SendRequest, result: send_pb2.SendResponse | BaseException) -> send_pb2.SendResponse:
    """A per-item response of a batch: the result, or the error as code, message and field."""
    if isinstance(result, send_pb2.SendResponse):
        return result
    from postwave.api.status import code_of  # the one error mapping

    if isinstance(result, PostwaveError):
        return send_pb2.SendResponse(
            send_id=req.send_id, code=code_of(result), error=result.message,
            field=getattr(result, "field", ""),
        )
    log.error("unexpected error in batch item: %r", result)
    return send_pb2.SendResponse(send_id=req.send_id, code=13, error="internal error")
