"""The delivery stage: one claimed message, as a short list of named guard steps.

Each step either lets the message go on or ends it with a :class:`Result` — what to write
to the store and whether to acknowledge the queue item or give it back with a delay.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections import OrderedDict
from typing import Any

from google.protobuf import json_format

from postwave import native
from postwave.config import Config
from postwave.errors import DeliveryError, PostwaveError
from postwave.mta.classify import Outcome as Reply, classify
from postwave.mta.client import DeliveryPool
from postwave.mta.mx import MXResolver, Target
from postwave.pipeline import compose
from postwave.pipeline.retry import backoff
from postwave.queue.base import Lease
from postwave.render.addresses import domain_of, parse_address
from postwave.render.dkim import load_keys
from postwave.render.templates import TemplateEngine
from postwave.store.base import Attempt, EventRecord, MessageRecord, Outcome, Store, TemplateRecord
from postwave.v1 import send_pb2

log = logging.getLogger(__name__)

DELIVERABLE = frozenset({"accepted", "deferred"})


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    """What became of one claimed message."""

    lease: Lease
    outcome: Outcome | None  # None: nothing to write (already final)
    retry_in: float | None = None  # None: acknowledge; else give back for this long


class _Stop(Exception):
    """Raised by a guard step that has decided the result."""

    def __init__(self, result: Result) -> None:
        super().__init__()
        self.result = result


class Deliverer:
    """Delivers claimed messages; stateless apart from caches and the SMTP pool."""

    def __init__(
        self, *, store: Store, config: Config, engine: TemplateEngine, resolver: MXResolver, pool: DeliveryPool
    ) -> None:
        self.store = store
        self.config = config
        self.engine = engine
        self.resolver = resolver
        self.pool = pool
        self._requests: OrderedDict[str, send_pb2.SendRequest] = OrderedDict()
        self._templates: OrderedDict[tuple[str, str, int], TemplateRecord | None] = OrderedDict()
        route = config.route_all_to
        self._route = [Target(route.rsplit(":", 1)[0], route.rsplit(":", 1)[0], int(route.rsplit(":", 1)[1]))] if route else None
        self._dkim_keys = load_keys(
            domain=config.dkim_domain, selectors=config.dkim_selector, paths=config.dkim_private_key_path
        ) if config.dkim_private_key_path else []
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
            template = await self.load_template(lease, msg, req, load)
            data = self.compose_message(lease, msg, req, template)
            data = self.sign_message(lease, msg, data)
            targets = await self.resolve_destination(lease, msg)
            return await self.send(lease, msg, req, targets, data)
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
        """A message deferred past its expiry fails."""
        if time.time() > msg.expires:
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
            _remember(self._requests, msg.request_id, req, 512)
        return req

    async def load_template(
        self, lease: Lease, msg: MessageRecord, req: send_pb2.SendRequest, load: Any
    ) -> TemplateRecord | None:
        """The template version pinned at acceptance."""
        if not req.template_id:
            return None
        key = (msg.tenant_id, req.template_id, req.template_version)
        if key not in self._templates:
            found = await load(self.store.get_template, *key)
            _remember(self._templates, key, found, 256)
        template = self._templates[key]
        if template is None:
            raise _Stop(self._final(lease, msg, "failed", f"template {req.template_id!r} was deleted"))
        return template

    def compose_message(
        self, lease: Lease, msg: MessageRecord, req: send_pb2.SendRequest, template: TemplateRecord | None
    ) -> bytes:
        """Render and assemble the MIME bytes."""
        p = req.personalizations[msg.index]
        context: dict[str, Any] = json_format.MessageToDict(p.substitutions) if p.HasField("substitutions") else {}
        try:
            rendered = compose.render(self.engine, req, template, msg.index, context)
            unsubscribe = self._unsubscribe_url(msg) if msg.lane == "bulk" else None
            return compose.compose(
                rendered, req, msg.index, message_id=f"{msg.message_id}@{self.config.helo_name}",
                list_unsubscribe=unsubscribe, tracking=self._tracking(msg),
            )
        except PostwaveError as exc:
            raise _Stop(self._final(lease, msg, "failed", f"rendering failed: {exc.message}")) from None

    def sign_message(self, lease: Lease, msg: MessageRecord, data: bytes) -> bytes:
        """DKIM-sign the message with every configured key (none: unsigned)."""
        if not self._dkim_keys:
            return data
        try:
            return native.dkim.sign(data, self._dkim_keys)
        except ValueError as exc:  # only a malformed message; ours never is
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

    async def send(
        self, lease: Lease, msg: MessageRecord, req: send_pb2.SendRequest, targets: list[Target], data: bytes
    ) -> Result:
        """One SMTP transaction, classified."""
        if req.sandbox:
            return self._final(lease, msg, "sandboxed", "sandbox: not delivered")
        mail_from = _envelope_sender(getattr(req, "from"))
        try:
            reply = await self.pool.deliver(targets, mail_from, msg.recipient, data)
        except DeliveryError as exc:
            if exc.temporary:
                return self._defer(lease, msg, None, exc.message)
            return self._final(lease, msg, "bounced", exc.message)
        verdict = classify(reply.code, reply.text)
        attempt = Attempt(msg.message_id, time.time(), reply.host, reply.code, reply.text, verdict.outcome.value)
        detail = f"{reply.code} {reply.text} ({reply.host}, at {reply.stage})"
        if verdict.outcome is Reply.DELIVERED:
            return self._final(lease, msg, "delivered", detail, attempt=attempt)
        if verdict.outcome is Reply.DEFERRED:
            return self._defer(lease, msg, attempt, detail)
        return self._final(lease, msg, "bounced", detail, attempt=attempt, suppress=verdict.suppress)

    # results

    def _event(self, msg: MessageRecord, kind: str, detail: str, now: float) -> EventRecord:
        req = self._requests.get(msg.request_id)
        custom = dict(req.personalizations[msg.index].custom_args) if req is not None else {}
        return EventRecord(
            msg.tenant_id, msg.message_id, kind, now, detail, msg.recipient, msg.send_id, msg.batch_id,
            json.dumps(custom) if custom else "",
        )

    def _final(
        self, lease: Lease, msg: MessageRecord, state: str, detail: str, *,
        attempt: Attempt | None = None, suppress: bool = False,
    ) -> Result:
        now = time.time()
        suppression = (msg.recipient.lower(), f"bounce: {detail}"[:500]) if suppress else None
        events = [self._event(msg, state, detail, now)]
        if suppression:
            events.append(self._event(msg, "suppressed", f"address suppressed after {state}", now))
        return Result(lease, Outcome(msg.message_id, msg.tenant_id, state, attempt, tuple(events), suppression))

    def _defer(self, lease: Lease, msg: MessageRecord, attempt: Attempt | None, detail: str) -> Result:
        now = time.time()
        delay = backoff(msg.attempt_count + 1, base=self.config.retry_base_seconds, cap=self.config.retry_max_seconds)
        if now + delay > msg.expires:
            return self._final(lease, msg, "failed", f"expired after {msg.attempt_count + 1} attempts: {detail}",
                               attempt=attempt)
        events = (self._event(msg, "deferred", f"{detail}; retry in {delay:.1f}s", now),)
        counted = attempt or Attempt(msg.message_id, now, "", 0, detail, "deferred")
        return Result(lease, Outcome(msg.message_id, msg.tenant_id, "deferred", counted, events), retry_in=delay)

    def _tracking(self, msg: MessageRecord) -> compose.Tracking | None:
        config = self.config
        if not (config.track_clicks or config.track_opens):
            return None
        return compose.Tracking(config.tracking_base_url.rstrip("/"), config.tracking_secret.encode("utf-8"),
                                msg.message_id, config.track_clicks, config.track_opens)

    def _unsubscribe_url(self, msg: MessageRecord) -> str:
        return f"{self.config.tracking_base_url.rstrip('/')}/unsubscribe/{msg.message_id}"


def _envelope_sender(from_header: str) -> str:
    return parse_address(from_header, field="from")[1]


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any, size: int) -> None:
    cache[key] = value
    if len(cache) > size:
        cache.popitem(last=False)
