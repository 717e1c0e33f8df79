"""The delivery stage: one claimed message, as a short list of named guard steps.

Each step either lets the message go on or ends it with a :class:`Result` — what to write
to the store and whether to acknowledge the queue item or give it back with a delay.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any


from postwave import metrics, native
from postwave.breakers.gate import Breakers
from postwave.breakers.policy import BreakerPolicy
from postwave.config import Config, streams_events
from postwave.domains.signing import DomainSigner, DomainSigning
from postwave.errors import DeliveryError, PostwaveError
from postwave.lookups import Lookups
from postwave.mta.classify import Outcome as Reply, classify
from postwave.mta.client import DeliveryPool
from postwave.mta.mx import MXResolver, Target
from postwave.pipeline import compose
from postwave.pipeline.retry import backoff
from postwave.queue.base import Lease
from postwave.render.addresses import domain_of, parse_address
from postwave.render.dkim import DkimKey, load_keys
from postwave.render.templates import TemplateEngine
from postwave.shaping.policy import load_policy
from postwave.shaping.shaper import Grant, Hold, Shaper
from postwave.store.base import Attempt, EventRecord, MessageRecord, Outcome, Store, TemplateRecord
from postwave.tracking import consent
from postwave.tracking.domains import TrackingHosts
from postwave.v1 import send_pb2

log = logging.getLogger(__name__)

DELIVERABLE = frozenset({"accepted", "deferred"})
LATE_RETRY_GRACE = 30.0  # seconds past the expiry a retry due before it may still run
REQUEST_CACHE = 1024  # parsed requests kept (a claim's are read at once; one request may have many messages)


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    """What became of one claimed message."""

    lease: Lease
    outcome: Outcome | None  # None: nothing to write (already final)
    retry_in: float | None = None  # None: acknowledge; else give back for this long
    held: bool = False  # given back by traffic shaping, not tried: no delivery attempt was made


class _Stop(Exception):
    """Raised by a guard step that has decided the result."""

    def __init__(self, result: Result) -> None:
        super().__init__()
        self.result = result


class Deliverer:
    """Delivers claimed messages; stateless apart from caches and the SMTP pool."""

    def __init__(
        self, *, store: Store, config: Config, engine: TemplateEngine, resolver: MXResolver, pool: DeliveryPool,
        shaper: Shaper | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.engine = engine
        self.resolver = resolver
        self.pool = pool
        self._requests: OrderedDict[str, send_pb2.SendRequest] = OrderedDict()
        # A pinned template version never changes: kept an hour, one store read per version at a time.
        self._templates: Lookups[tuple[str, str, int], TemplateRecord | None] = Lookups(3600.0, 256)
        route = config.route_all_to
        self._route = [Target(route.rsplit(":", 1)[0], route.rsplit(":", 1)[0], int(route.rsplit(":", 1)[1]))] if route else None
        self._dkim_keys = load_keys(
            domain=config.dkim_domain, selectors=config.dkim_selector, paths=config.dkim_private_key_path
        ) if config.dkim_private_key_path else []
        self.domains = DomainSigner(store, config)  # deliverability: sending domains
        self.tracking_hosts = TrackingHosts(store, config)  # tracking: links on the tenant's own host
        # Shaping: each forked worker of `postwave serve` takes a 1/workers share of every
        # limit; distributed roles set the live worker count with shaper.set_live_workers().
        self.shaper = shaper or Shaper(load_policy(config.shaping_config, default_ip=config.source_address), store,
                                       live_workers=config.workers)
        # Tenant circuit breakers (breakers/gate.py): a slowed tenant's rate is shared like the shaper's limits.
        self.breakers = Breakers(store, BreakerPolicy.from_config(config), shares=lambda: self.shaper.live_workers)
        self.streams_events = streams_events(config)
        log.info("hot path implementations:\n%s", native.report())

    async def deliver(self, lease: Lease, message: MessageRecord | None, suppressed: str | None,
                      load: Any) -> Result:
        """Run the guard steps; ``load(fn, *args)`` runs a blocking store call off the loop."""
        try:
            msg = self.check_message_exists(lease, message)
            self.check_still_deliverable(lease, msg)
            self.check_not_expired(lease, msg)
            self.check_not_suppressed(lease, msg, suppressed)
            req = await self.load_request(lease, msg, load)
            await self.check_tenant_breaker(lease, msg, req, load)
            targets = await self.resolve_destination(lease, msg)
            grant = await self.shape(lease, msg, req, targets, load)
            try:
                template = await self.load_template(lease, msg, req, load)
                base = await self.tracking_hosts.base_url(msg.tenant_id, getattr(req, "from"), load)
                data = self.compose_message(lease, msg, req, template, base)
                signing = await self.domain_signing(lease, msg, req, load)
                data = self.sign_message(lease, msg, data, signing.keys if signing else None)
            except BaseException:
                self._release(grant)
                raise
            return_path = self.domains.return_path(msg.message_id, signing)
            return await self.send(lease, msg, req, targets, data, return_path, grant)
        except _Stop as stop:
            return stop.result

    # guard steps

    def check_message_exists(self, lease: Lease, message: MessageRecord | None) -> MessageRecord:
        """A queue item without a message (never committed) is dropped from the queue."""
        if message is None:
            log.warning("queue item %s has no message; acknowledging it", lease.message_id)
            raise _Stop(Result(lease, None))
        return message

    def check_still_deliverable(self, lease: Lease, msg: MessageRecord) -> None:
        """Delivered, bounced or cancelled messages met again after a crash are skipped."""
        if msg.state not in DELIVERABLE:
            raise _Stop(Result(lease, None))

    def check_not_expired(self, lease: Lease, msg: MessageRecord) -> None:
        """A message past its expiry fails, unless it is a retry that fell due before the
        expiry and reached a worker a little late (a busy machine, a claim in flight): that
        attempt was promised, and if it fails too its event says why ("expired after N
        attempts: <the last reply>") instead of only that time ran out."""
        now = time.time()
        late_retry = msg.attempt_count > 0 and now <= msg.expires + LATE_RETRY_GRACE
        if now > msg.expires and not late_retry:
            raise _Stop(self._final(lease, msg, "failed", "expired: not delivered before the message expiry"))

    def check_not_suppressed(self, lease: Lease, msg: MessageRecord, suppressed: str | None) -> None:
        """Suppressions added since acceptance still stop the message."""
        if suppressed:
            raise _Stop(self._final(lease, msg, "dropped", f"suppressed: {suppressed}"))

    async def load_request(self, lease: Lease, msg: MessageRecord, load: Any) -> send_pb2.SendRequest:
        """The request the message came from (cached: one request has many messages)."""
        req = self._requests.get(msg.request_id)
        if req is None:
            payload = await load(self.store.get_payload, msg.request_id)
            if payload is None:
                raise _Stop(self._final(lease, msg, "failed", "request payload missing"))
            req = send_pb2.SendRequest.FromString(payload)
            _remember(self._requests, msg.request_id, req, REQUEST_CACHE)
        return req

    def prefetch_requests(self, request_ids: Sequence[str]) -> None:
        """Read and parse, in one store call, the requests of a claim not cached yet, so each
        delivery finds its request without a store round trip of its own. Blocking: call it
        off the loop (the cache is only added to; a request evicted before its delivery is
        read again by :meth:`load_request`)."""
        missing = [rid for rid in dict.fromkeys(request_ids) if rid not in self._requests]
        if not missing:
            return
        for request_id, payload in self.store.get_payloads(missing).items():
            _remember(self._requests, request_id, send_pb2.SendRequest.FromString(payload), REQUEST_CACHE)

    async def check_tenant_breaker(self, lease: Lease, msg: MessageRecord, req: send_pb2.SendRequest,
                                   load: Any) -> None:
        """A tenant (or stream) paused by its circuit breaker, or over its slowed rate: back to
        the queue, untouched -- nothing is lost, it leaves after a resume."""
        if req.sandbox:
            return
        held = await self.breakers.gate(msg.tenant_id, msg.lane, load)
        if held is not None:
            log.debug("holding %s for %.1fs (%s)", msg.message_id, held[0], held[1])
            raise _Stop(Result(lease, None, retry_in=held[0], held=True))

    async def load_template(
        self, lease: Lease, msg: MessageRecord, req: send_pb2.SendRequest, load: Any
    ) -> TemplateRecord | None:
        """The template version pinned at acceptance."""
        if not req.template_id:
            return None
        key = (msg.tenant_id, req.template_id, req.template_version)
        template = await self._templates.get(key, lambda: load(self.store.get_template, *key))
        if template is None:
            raise _Stop(self._final(lease, msg, "failed", f"template {req.template_id!r} was deleted"))
        return template

    def compose_message(
        self, lease: Lease, msg: MessageRecord, req: send_pb2.SendRequest, template: TemplateRecord | None,
        tracking_base: str = "",
    ) -> bytes:
        """Render and assemble the MIME bytes (tracking links on ``tracking_base``, else tracking_base_url)."""
        p = req.personalizations[msg.index]
        context = compose.substitutions(p)
        try:
            rendered = compose.render(self.engine, req, template, msg.index, context)
            unsubscribe = self._unsubscribe_url(msg, tracking_base)
            return compose.compose(
                rendered, req, msg.index, message_id=f"{msg.message_id}@{self.config.helo_name}",
                list_unsubscribe=unsubscribe if msg.lane == "bulk" else None,
                tracking=consent.tracking_for(self.config, msg, req, tracking_base), unsubscribe_link=unsubscribe,
            )
        except PostwaveError as exc:
            metrics.count_render_error("deliver")
            raise _Stop(self._final(lease, msg, "failed", f"rendering failed: {exc.message}")) from None

    # --- deliverability: the From domain's DKIM keys and VERP return path (owner: deliverability helper) ---
    async def domain_signing(self, lease: Lease, msg: MessageRecord, req: send_pb2.SendRequest,
                             load: Any) -> DomainSigning | None:
        """The signing setup of a registered From domain (None: configured keys, plain envelope)."""
        try:
            return await self.domains.lookup(getattr(req, "from"), load)
        except DeliveryError as exc:  # its keys cannot be decrypted now: wait, never send unsigned
            raise _Stop(self._defer(lease, msg, None, exc.message)) from None

    def sign_message(self, lease: Lease, msg: MessageRecord, data: bytes,
                     domain_keys: Sequence[DkimKey] | None = None) -> bytes:
        """DKIM-sign with the From domain's active keys, else every configured key (none: unsigned)."""
        keys = domain_keys or self._dkim_keys
        if not keys:
            return data
        try:
            return native.dkim.sign(data, keys)
        except ValueError as exc:  # only a malformed message; ours never is
            metrics.count_dkim_error()
            raise _Stop(self._final(lease, msg, "failed", f"DKIM signing failed: {exc}")) from None

    async def resolve_destination(self, lease: Lease, msg: MessageRecord) -> list[Target]:
        """MX hosts of the recipient's domain (or the development route)."""
        if self._route is not None:
            return self._route
        try:
            return await self.resolver.resolve(domain_of(msg.recipient))
        except DeliveryError as exc:
            if exc.temporary:
                raise _Stop(self._defer(lease, msg, None, f"DNS: {exc.message}")) from None
            raise _Stop(self._final(lease, msg, "bounced", f"DNS: {exc.message}", suppress=True)) from None

    async def shape(self, lease: Lease, msg: MessageRecord, req: send_pb2.SendRequest, targets: list[Target],
                    load: Any) -> Grant | None:
        """Traffic shaping: the source IP to send from, or back to the queue while the site's
        budget (rate, connections, warm-up caps) is used up -- never waiting in a slot."""
        if req.sandbox:
            return None
        decision = await self.shaper.admit(msg.tenant_id, msg.lane, targets, load)
        if isinstance(decision, Hold):
            log.debug("holding %s for %.1fs (%s toward %s)", msg.message_id, decision.delay, decision.reason,
                      decision.site)
            raise _Stop(Result(lease, None, retry_in=decision.delay, held=True))
        return decision

    async def send(
        self, lease: Lease, msg: MessageRecord, req: send_pb2.SendRequest, targets: list[Target], data: bytes,
        return_path: str | None = None, grant: Grant | None = None,
    ) -> Result:
        """One SMTP transaction, classified (MAIL FROM: the VERP return path, else the From address)."""
        if req.sandbox:
            return self._final(lease, msg, "sandboxed", "sandbox: not delivered")
        mail_from = return_path or _envelope_sender(getattr(req, "from"))
        site = grant.site if grant else domain_of(msg.recipient)
        source = (grant.ip if grant else None) or self.config.source_address
        try:
            reply = await self.pool.deliver(targets, mail_from, msg.recipient, data, source_address=source or None)
        except DeliveryError as exc:
            self._release(grant)
            metrics.observe_smtp_reply(site, source, None)
            if exc.temporary:
                return self._defer(lease, msg, None, exc.message)
            return self._final(lease, msg, "bounced", exc.message)
        except BaseException:
            self._release(grant)
            raise
        verdict = classify(reply.code, reply.text)
        note = self.shaper.finish(grant, verdict, reply.stage) if grant else ""
        metrics.observe_smtp_reply(site, source, reply.code, verdict.enhanced)
        attempt = Attempt(msg.message_id, time.time(), reply.host, reply.code, reply.text, verdict.outcome.value)
        detail = f"{reply.code} {reply.text} ({reply.host}, at {reply.stage}{', from ' + source if source else ''}){note}"
        if verdict.outcome is Reply.DELIVERED:
            return self._final(lease, msg, "delivered", detail, attempt=attempt)
        if verdict.outcome is Reply.DEFERRED:
            return self._defer(lease, msg, attempt, detail)
        return self._final(lease, msg, "bounced", detail, attempt=attempt, suppress=verdict.suppress,
                           counted=not verdict.policy)

    # results

    def _event(self, msg: MessageRecord, kind: str, detail: str, now: float) -> EventRecord:
        req = self._requests.get(msg.request_id)
        custom = dict(req.personalizations[msg.index].custom_args) if req is not None else {}
        return EventRecord(
            msg.tenant_id, msg.message_id, kind, now, detail, msg.recipient, msg.send_id, msg.batch_id,
            json.dumps(custom) if custom else "",
        )

    def _release(self, grant: Grant | None) -> None:
        """Give back a grant that sent nothing (its connection slot; no rate change)."""
        if grant is not None:
            self.shaper.finish(grant, None)

    def exhausted(self, lease: Lease, msg: MessageRecord | None, limit: int) -> Result:
        """A queue item delivered more than ``limit`` times (crashing workers, endless hand-backs)
        fails with an event instead of going round for ever; nothing is dropped silently."""
        if msg is None or msg.state not in DELIVERABLE:
            return Result(lease, None)
        return self._final(lease, msg, "failed", f"gave up after {lease.deliveries - 1} deliveries from the queue "
                                                 f"(max_deliveries {limit})")

    def _final(
        self, lease: Lease, msg: MessageRecord, state: str, detail: str, *,
        attempt: Attempt | None = None, suppress: bool = False, counted: bool = True,
    ) -> Result:
        """``counted``: the outcome counts toward the tenant's breaker (not a policy refusal of our IP)."""
        now = time.time()
        breaker_stream = ""
        if counted and state in ("delivered", "bounced"):
            if self.streams_events:  # the events stream's reputation consumer counts it
                breaker_stream = msg.lane
            else:
                self.breakers.count(msg.tenant_id, msg.lane, delivered=state == "delivered",
                                    bounced=state == "bounced")
        suppression = (msg.recipient.lower(), f"bounce: {detail}"[:500]) if suppress else None
        events = [self._event(msg, state, detail, now)]
        if suppression:
            events.append(self._event(msg, "suppressed", f"address suppressed after {state}", now))
        metrics.observe_delivery(msg.lane, state, msg.tenant_id, accepted_at=msg.created, now=now)
        return Result(lease, Outcome(msg.message_id, msg.tenant_id, state, attempt, tuple(events), suppression,
                                    previous=msg, breaker_stream=breaker_stream))

    def _defer(self, lease: Lease, msg: MessageRecord, attempt: Attempt | None, detail: str) -> Result:
        now = time.time()
        delay = backoff(msg.attempt_count + 1, base=self.config.retry_base_seconds, cap=self.config.retry_max_seconds)
        if now + delay > msg.expires:
            return self._final(lease, msg, "failed", f"expired after {msg.attempt_count + 1} attempts: {detail}",
                               attempt=attempt)
        events = (self._event(msg, "deferred", f"{detail}; retry in {delay:.1f}s", now),)
        counted = attempt or Attempt(msg.message_id, now, "", 0, detail, "deferred")
        metrics.observe_delivery(msg.lane, "deferred", msg.tenant_id)
        return Result(lease, Outcome(msg.message_id, msg.tenant_id, "deferred", counted, events, previous=msg),
                      retry_in=delay)

    # --- stored reputation and breakers: start, background, stop (owner: reputation helper) ---

    async def start(self) -> None:
        """Before the first claim: the lanes' learned rates and pauses from the store."""
        try:
            count = await self.shaper.reputation.load(_to_thread)
        except PostwaveError as exc:
            log.warning("cannot load the stored reputation (%s); starting from the configured rates", exc.message)
        else:
            log.info("loaded the stored reputation of %d (source IP, site) lanes", count)

    async def background(self) -> None:
        """Until cancelled: write breaker samples and re-read breaker states every
        breaker_refresh_seconds, sync the lanes' reputation every reputation_sync_seconds."""
        step = min(self.config.breaker_refresh_seconds, self.config.reputation_sync_seconds)
        last_sync = time.monotonic()
        while True:
            await asyncio.sleep(step)
            await self._quietly("writing circuit breaker samples", self.breakers.flush(_to_thread))
            if time.monotonic() - last_sync >= self.config.reputation_sync_seconds:
                last_sync = time.monotonic()
                await self._quietly("syncing the stored reputation", self.shaper.reputation.sync(_to_thread))

    async def stop(self) -> None:
        """At shutdown: what the lanes learned and the last counts, written once more."""
        await self._quietly("writing circuit breaker samples", self.breakers.flush(_to_thread))
        await self._quietly("syncing the stored reputation", self.shaper.reputation.sync(_to_thread))

    @staticmethod
    async def _quietly(what: str, step: Any) -> None:
        try:
            await step
        except Exception as exc:  # noqa: BLE001 - kept for the next round; delivery goes on
            log.warning("%s failed (%s); trying again later", what, exc)

    def _unsubscribe_url(self, msg: MessageRecord, tracking_base: str = "") -> str:
        # the tracker's /u/<token> (tracking/consent.py), on the tenant's tracking host if it has one
        return consent.unsubscribe_url(self.config, msg.message_id, tracking_base)


async def _to_thread(fn: Any, *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


def _envelope_sender(from_header: str) -> str:
    return parse_address(from_header, field="from")[1]


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any, size: int) -> None:
    cache[key] = value
    if len(cache) > size:
        cache.popitem(last=False)
