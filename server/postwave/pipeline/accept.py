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
from collections.abc import Sequence
from datetime import datetime, timezone

from postwave import native
from postwave.config import Config
from postwave.errors import AlreadyExistsError, NotFoundError, PostwaveError, RateLimitedError
from postwave.pipeline import compose
from postwave.pipeline.validate import Plan, validate
from postwave.queue.base import Queue, QueueItem
from postwave.render.templates import TemplateEngine
from postwave.store.base import AcceptedRequest, EventRecord, NewMessage, Store, TemplateRecord, Tenant
from postwave.v1 import send_pb2

log = logging.getLogger(__name__)

SCHEDULE_THRESHOLD = 1.0  # a send_at closer than this is sent at once


def new_message_id() -> str:
    """Time-ordered, random, URL-safe."""
    return f"{int(time.time() * 1000):011x}{secrets.token_hex(8)}"


def utc_day(t: float) -> str:
    """The UTC day of a timestamp, as the usage counters key it."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d")


@dataclasses.dataclass(slots=True)
class _Pending:
    tenant_id: str
    req: send_pb2.SendRequest
    plan: Plan
    future: asyncio.Future[send_pb2.SendResponse]


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
        self._tenant_cache: dict[str, tuple[float, Tenant]] = {}

    def start(self) -> None:
        """Start the committer task."""
        self._task = asyncio.get_running_loop().create_task(self._committer(), name="accept-committer")

    async def stop(self) -> None:
        """Finish pending commits, then stop."""
        if self._task:
            while self._pending:
                await asyncio.sleep(0.01)
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def send(self, tenant_id: str, req: send_pb2.SendRequest) -> send_pb2.SendResponse:
        """Accept one request durably; raises a PostwaveError on any refusal."""
        plan = validate(
            req,
            max_recipients=self.config.max_recipients,
            max_bytes=self.config.max_message_bytes,
            max_ahead_seconds=self.config.max_schedule_ahead_hours * 3600,
        )
        template = await self._template(tenant_id, req)
        self._check_render(req, plan, template)
        if template is not None and not req.template_version:
            # Pin the version: a template edited after acceptance must not change this mail.
            pinned = send_pb2.SendRequest()
            pinned.CopyFrom(req)
            pinned.template_version = template.version
            req = pinned
        await self._check_limits(tenant_id, len(plan.recipients))
        future: asyncio.Future[send_pb2.SendResponse] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(tenant_id, req, plan, future))
        self._wakeup.set()
        return await future

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
        for index, context in enumerate(plan.substitutions):
            compose.render(self.engine, req, template, index, context)

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
        now = time.monotonic()
        hit = self._tenant_cache.get(tenant_id)
        if hit is None or hit[0] < now:
            tenant = await asyncio.to_thread(self.store.get_tenant, tenant_id)
            if tenant is None:
                raise NotFoundError(f"tenant {tenant_id} no longer exists")
            hit = self._tenant_cache[tenant_id] = (now + 5.0, tenant)
        return hit[1]

    # group commit

    async def _committer(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch = self._pending[: self.config.accept_batch_max]
                del self._pending[: len(batch)]
                await self._commit(batch)

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            outcomes, items = await asyncio.to_thread(self._write, batch)
            await self.queue.publish(items)
        except Exception as exc:  # noqa: BLE001 - every waiter must hear of it
            error = exc if isinstance(exc, PostwaveError) else PostwaveError(f"acceptance failed: {exc}")
            log.exception("group commit of %d requests failed", len(batch))
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(error)
            return
        for p, outcome in zip(batch, outcomes):
            if p.future.done():
                continue
            if isinstance(outcome, Exception):
                p.future.set_exception(outcome)
            else:
                p.future.set_result(outcome)

    def _write(self, batch: list[_Pending]) -> tuple[list[send_pb2.SendResponse | Exception], list[QueueItem]]:
        """Runs on a worker thread: idempotency, suppression, then one transaction."""
        now = time.time()
        outcomes: list[send_pb2.SendResponse | Exception | None] = [None] * len(batch)
        seen: dict[tuple[str, str], int] = {}
        fresh: list[int] = []
        for i, p in enumerate(batch):
            replay = self._replay(p, now, seen, batch)
            if replay is not None:
                outcomes[i] = replay
            else:
                fresh.append(i)
                if p.req.send_id:
                    seen[(p.tenant_id, p.req.send_id)] = i
        suppressed = self._suppressed([batch[i] for i in fresh], now)
        requests, events, items = [], [], []
        for i in fresh:
            accepted, evs, its, response = self._build(batch[i], suppressed.get(batch[i].tenant_id, {}), now)
            requests.append(accepted)
            events.extend(evs)
            items.extend(its)
            outcomes[i] = response
        results = self.store.accept(requests, events, utc_day(now)) if requests else []
        written = {r.request_id for r in results if r.written}
        keep: set[str] = set()
        for i, req in zip(fresh, requests):
            if req.request_id in written:
                keep.update(m.message_id for m in req.messages)
            else:  # lost a race with another process on the same send_id
                outcomes[i] = self._replay(batch[i], now, {}, batch) or AlreadyExistsError("send_id conflict")
        items = [it for it in items if it.message_id in keep]
        return [o if o is not None else PostwaveError("not processed") for o in outcomes], items

    def _replay(
        self, p: _Pending, now: float, seen: dict[tuple[str, str], int], batch: list[_Pending]
    ) -> send_pb2.SendResponse | Exception | None:
        """The earlier answer for a repeated send_id, an error for a changed body, or None."""
        if not p.req.send_id:
            return None
        earlier = seen.get((p.tenant_id, p.req.send_id))
        if earlier is not None:
            return AlreadyExistsError(
                f"send_id {p.req.send_id!r} appears twice in one batch; use a distinct send_id per request"
            )
        hit = self.store.get_idempotency(p.tenant_id, p.req.send_id, now)
        if hit is None:
            return None
        if hit.body_hash != p.plan.body_hash:
            return AlreadyExistsError(
                f"send_id {p.req.send_id!r} was used in the last 24 h with a different body; use a new send_id"
            )
        return send_pb2.SendResponse.FromString(hit.response)

    def _suppressed(self, pendings: list[_Pending], now: float) -> dict[str, dict[str, str]]:
        by_tenant: dict[str, list[str]] = {}
        for p in pendings:
            by_tenant.setdefault(p.tenant_id, []).extend(r.address.lower() for r in p.plan.recipients)
        return {t: self.store.suppressed(t, addrs, now) for t, addrs in by_tenant.items()}

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
            reason = suppressed.get(r.address.lower())
            if reason:
                state, detail = "dropped", f"suppressed: {reason}"
            elif req.sandbox:
                state, detail = "sandboxed", "sandbox: rendered, not delivered"
            elif scheduled:
                state, detail = "scheduled", f"send_at {datetime.fromtimestamp(plan.send_at, timezone.utc).isoformat()}"
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
