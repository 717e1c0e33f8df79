"""AdminService RPCs of the tracking feature: webhook endpoints and recipient erasure.

A mixin of :class:`postwave.api.admin.AdminServicer`; every call needs scope ``admin`` and
acts on the caller's own tenant.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

from postwave.api import convert
from postwave.api.auth import Principal
from postwave.api.rpc import rpc
from postwave.config import Config
from postwave.errors import InvalidArgumentError, NotFoundError
from postwave.store.base import EventRecord, Store, WebhookEndpoint
from postwave.store.tracking_erasure import address_hash
from postwave.v1 import admin_pb2
from postwave.webhooks import signing
from postwave.webhooks.dispatcher import Sender, active_secrets, batch_body
from postwave.webhooks.ssrf import allow_list, check_url

DEFAULT_OVERLAP = 86400
MAX_OVERLAP = 7 * 86400
MAX_ENDPOINTS = 20
_EVENT_TYPE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz_.")


class TrackingAdmin:
    """What the tracking RPCs need besides the store: configuration."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.allowed = allow_list(config.webhook_allow_networks)


def webhook_message(e: WebhookEndpoint, *, secret: str = "") -> admin_pb2.Webhook:
    """A Webhook message; the secret only when just issued."""
    message = admin_pb2.Webhook(endpoint_id=e.endpoint_id, url=e.url, event_types=list(e.event_types), secret=secret,
                                state=e.state, cursor=e.cursor, detail=e.detail, created=convert.timestamp(e.created))
    if e.previous_secret and e.previous_until > time.time():
        message.previous_secret_expires.CopyFrom(convert.timestamp(e.previous_until))
    return message


class TrackingRpcs:
    """Webhook endpoints (create, list, delete, rotate secret, test, redrive) and erasure."""

    store: Store
    tracking: TrackingAdmin | None

    def _admin(self) -> TrackingAdmin:
        if self.tracking is None:
            raise InvalidArgumentError("request", "webhooks are not configured in this process")
        return self.tracking

    async def _endpoint(self, who: Principal, endpoint_id: str) -> WebhookEndpoint:
        found = await asyncio.to_thread(self.store.get_webhook, endpoint_id) if endpoint_id else None
        if found is None or found.tenant_id != who.tenant_id:
            raise NotFoundError(f"no webhook endpoint {endpoint_id!r}")
        return found

    @rpc("admin")
    async def CreateWebhook(self, who: Principal, request: admin_pb2.CreateWebhookRequest,
                            context: Any) -> admin_pb2.Webhook:
        """Add an endpoint; it receives events written from now on."""
        admin = self._admin()
        check_url(request.url, admin.allowed)
        types = tuple(dict.fromkeys(request.event_types))
        for t in types:
            if not t or len(t) > 64 or not set(t) <= _EVENT_TYPE_CHARS:
                raise InvalidArgumentError("event_types", f"{t!r} is not an event type")
        existing = await asyncio.to_thread(self.store.list_webhooks, who.tenant_id)
        if len(existing) >= MAX_ENDPOINTS:
            raise InvalidArgumentError("url", f"a tenant has at most {MAX_ENDPOINTS} webhook endpoints")
        # Cursor 0: the dispatcher starts at the endpoint's creation time.
        endpoint_id, secret = "wh_" + secrets.token_hex(8), signing.new_secret()
        endpoint = WebhookEndpoint(endpoint_id, who.tenant_id, request.url, types,
                                   signing.seal(admin.config, endpoint_id, secret),  # encrypted at rest
                                   "", 0.0, "active", 0, 0.0, time.time())
        await asyncio.to_thread(self.store.create_webhook, endpoint)
        return webhook_message(endpoint, secret=secret)

    @rpc("admin")
    async def ListWebhooks(self, who: Principal, request: Any, context: Any) -> admin_pb2.ListWebhooksResponse:
        """The tenant's endpoints (without secrets)."""
        found = await asyncio.to_thread(self.store.list_webhooks, who.tenant_id)
        return admin_pb2.ListWebhooksResponse(webhooks=[webhook_message(e) for e in found])

    @rpc("admin")
    async def DeleteWebhook(self, who: Principal, request: admin_pb2.DeleteWebhookRequest,
                            context: Any) -> admin_pb2.DeleteWebhookResponse:
        """Remove an endpoint (its dispatcher task stops at its next step)."""
        if not await asyncio.to_thread(self.store.delete_webhook, who.tenant_id, request.endpoint_id):
            raise NotFoundError(f"no webhook endpoint {request.endpoint_id!r}")
        return admin_pb2.DeleteWebhookResponse()

    @rpc("admin")
    async def RotateWebhookSecret(self, who: Principal, request: admin_pb2.RotateWebhookSecretRequest,
                                  context: Any) -> admin_pb2.Webhook:
        """A new secret; the old one keeps signing too for the overlap."""
        overlap = request.overlap_seconds or DEFAULT_OVERLAP
        if not 0 < overlap <= MAX_OVERLAP:
            raise InvalidArgumentError("overlap_seconds", f"must be 1 to {MAX_OVERLAP} (0 = {DEFAULT_OVERLAP})")
        endpoint = await self._endpoint(who, request.endpoint_id)
        secret = signing.new_secret()
        rotated = WebhookEndpoint(endpoint.endpoint_id, endpoint.tenant_id, endpoint.url, endpoint.event_types,
                                  signing.seal(self._admin().config, endpoint.endpoint_id, secret), endpoint.secret,
                                  time.time() + overlap, endpoint.state,
                                  endpoint.cursor, endpoint.failing_since, endpoint.created, endpoint.detail)
        await asyncio.to_thread(self.store.set_webhook_settings, rotated)
        return webhook_message(rotated, secret=secret)

    @rpc("admin")
    async def TestWebhook(self, who: Principal, request: admin_pb2.TestWebhookRequest,
                          context: Any) -> admin_pb2.TestWebhookResponse:
        """Send one signed sample event now."""
        endpoint = await self._endpoint(who, request.endpoint_id)
        now = time.time()
        sample = EventRecord(who.tenant_id, "msg_sample", "test", now, "a sample event from TestWebhook",
                             "recipient@example.com")
        sender = Sender(self._admin().config)  # one client per test: nothing left open between calls
        try:
            answer = await sender.post(endpoint.url, active_secrets(endpoint, now, self._admin().config),
                                       "msg_test_" + secrets.token_hex(8),
                                       int(now), batch_body([sample], now))
        finally:
            await sender.close()
        return admin_pb2.TestWebhookResponse(http_status=answer.status, detail=answer.detail)

    @rpc("admin")
    async def RedriveWebhook(self, who: Principal, request: admin_pb2.RedriveWebhookRequest,
                             context: Any) -> admin_pb2.Webhook:
        """Re-enable an endpoint; deliver from after its cursor (or ``after_event_id``)."""
        endpoint = await self._endpoint(who, request.endpoint_id)
        if request.after_event_id < 0:
            raise InvalidArgumentError("after_event_id", "must be >= 0")
        cursor = request.after_event_id or endpoint.cursor
        await asyncio.to_thread(self.store.set_webhook_pending, endpoint.endpoint_id, 0)  # batches start afresh
        await asyncio.to_thread(self.store.set_webhook_progress, endpoint.endpoint_id, "active", cursor, 0.0, "")
        return webhook_message(await self._endpoint(who, request.endpoint_id))

    @rpc("admin")
    async def EraseRecipient(self, who: Principal, request: admin_pb2.EraseRecipientRequest,
                             context: Any) -> admin_pb2.EraseRecipientResponse:
        """Remove an address's personal data; keep its suppression as a hash."""
        address = request.address.strip()
        if not address or "@" not in address or len(address) > 320 or any(c in address for c in "\r\n\x00"):
            raise InvalidArgumentError("address", "must be an email address")
        replacement = address_hash(address)
        count = await asyncio.to_thread(self.store.erase_recipient, who.tenant_id, address, replacement)
        return admin_pb2.EraseRecipientResponse(messages=count, replacement=replacement)

