"""EventService: a tenant's live event tail with filters and a resume cursor."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from postwave.api import convert
from postwave.api.auth import Authenticator, Principal
from postwave.api.rpc import Servicer, rpc
from postwave.store.base import Store
from postwave.v1 import events_pb2, send_pb2

PAGE = 500
POLL_SECONDS = 0.2  # workers in other processes write events; the tail polls the store


class EventServicer(Servicer):
    """Streams stored events after a cursor, then new ones as they are written."""

    def __init__(self, auth: Authenticator, store: Store) -> None:
        super().__init__(auth)
        self.store = store

    @rpc("events.read")
    async def StreamEvents(
        self, who: Principal, request: events_pb2.StreamEventsRequest, context: Any
    ) -> AsyncIterator[send_pb2.Event]:
        """Replay from the cursor, then follow unless no_follow is set."""
        cursor = request.cursor
        types = list(request.types)
        while True:
            page = await asyncio.to_thread(
                self.store.list_events, who.tenant_id, cursor, types, request.message_id, PAGE
            )
            for record in page:
                yield convert.event(record)
                cursor = record.id
            if len(page) == PAGE:
                continue
            if request.no_follow:
                return
            await asyncio.sleep(POLL_SECONDS)
