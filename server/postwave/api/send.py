"""SendService: Send, BatchSend, SendBatch, GetStatus, CancelScheduled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from postwave.api import convert
from postwave.api.auth import Authenticator, Principal
from postwave.api.rpc import Servicer, Undecodable, check_decoded, rpc
from postwave.errors import InvalidArgumentError, NotFoundError, PostwaveError
from postwave.pipeline.accept import Acceptor, item_response
from postwave.store.base import Store, as_async
from postwave.v1 import send_pb2

MAX_BATCH_ITEMS = 1000
STREAM_WINDOW = 2048  # requests of one BatchSend stream in flight at once


class SendServicer(Servicer):
    """The sending API."""

    def __init__(self, auth: Authenticator, acceptor: Acceptor, store: Store) -> None:
        super().__init__(auth)
        self.acceptor = acceptor
        self.store = store

    @rpc("mail.send")
    async def Send(self, who: Principal, request: send_pb2.SendRequest, context: Any) -> send_pb2.SendResponse:
        """Accept one request durably."""
        return await self.acceptor.send(who.tenant_id, request)

    @rpc("mail.send")
    async def SendBatch(
        self, who: Principal, request: send_pb2.SendBatchRequest, context: Any
    ) -> send_pb2.SendBatchResponse:
        """Accept a list; each item answered on its own."""
        if len(request.requests) > MAX_BATCH_ITEMS:
            raise InvalidArgumentError("requests", f"at most {MAX_BATCH_ITEMS} requests per call; use BatchSend")
        responses = await self.acceptor.send_many(who.tenant_id, list(request.requests))
        return send_pb2.SendBatchResponse(responses=responses)

    @rpc("mail.send", streaming_request=True)
    async def BatchSend(
        self, who: Principal, requests: AsyncIterator[Any], context: Any
    ) -> AsyncIterator[send_pb2.SendResponse]:
        """Stream in, stream out: one response per request, in order."""
        window: asyncio.Queue[asyncio.Task[send_pb2.SendResponse] | None] = asyncio.Queue(STREAM_WINDOW)
        reader = asyncio.get_running_loop().create_task(self._read(who, requests, window))
        try:
            while (task := await window.get()) is not None:
                yield await task
            await reader
        finally:
            reader.cancel()

    async def _read(
        self, who: Principal, requests: AsyncIterator[Any],
        window: asyncio.Queue[asyncio.Task[send_pb2.SendResponse] | None],
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            async for req in requests:
                await window.put(loop.create_task(self._one(who.tenant_id, req)))
        finally:
            await window.put(None)

    async def _one(self, tenant_id: str, req: Any) -> send_pb2.SendResponse:
        try:
            check_decoded(req)
            return await self.acceptor.send(tenant_id, req)
        except PostwaveError as exc:
            plain = req if not isinstance(req, Undecodable) else send_pb2.SendRequest()
            return item_response(plain, exc)

    @rpc("mail.read")
    async def GetStatus(
        self, who: Principal, request: send_pb2.GetStatusRequest, context: Any
    ) -> send_pb2.MessageStatus:
        """A message's state, attempts and events; NOT_FOUND for another tenant's message."""
        if not request.message_id:
            raise InvalidArgumentError("message_id", "is required")
        msg = await asyncio.to_thread(self.store.get_message, request.message_id)
        if msg is None or msg.tenant_id != who.tenant_id:
            raise NotFoundError(f"message {request.message_id!r} not found")
        # Events before attempts: the events stream's store writer writes an outcome's event and
        # its attempt in one batch, so a status that shows the event also shows the attempt.
        events = await as_async(self.store).list_events_async(who.tenant_id, 0, (), msg.message_id, 1000)
        attempts = await asyncio.to_thread(self.store.get_attempts, msg.message_id)
        return convert.status(msg, attempts, events)

    @rpc("mail.send")
    async def CancelScheduled(
        self, who: Principal, request: send_pb2.CancelScheduledRequest, context: Any
    ) -> send_pb2.CancelScheduledResponse:
        """Cancel still-scheduled messages by send_id or batch_id."""
        if not request.send_id and not request.batch_id:
            raise InvalidArgumentError("target", "set send_id or batch_id")
        ids = await asyncio.to_thread(
            self.store.cancel_scheduled, who.tenant_id, request.send_id, request.batch_id, time.time()
        )
        return send_pb2.CancelScheduledResponse(cancelled=len(ids), message_ids=ids)

