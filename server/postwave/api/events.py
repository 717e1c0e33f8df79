"""EventService: a tenant's live event tail with a resume cursor, paged listing, statistics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from postwave.api import convert
from postwave.api.auth import Authenticator, Principal
from postwave.api.rpc import Servicer, rpc
from postwave.errors import InvalidArgumentError
from postwave.store.base import EventRecord, Store, as_async
from postwave.tracking import stats
from postwave.v1 import events_pb2, send_pb2

PAGE = 500
POLL_SECONDS = 0.2  # workers in other processes write events; the tail polls the store
LIST_DEFAULT = 100
LIST_MAX = 1000
STATS_DEFAULT_SECONDS = 7 * 86400.0
STATS_MAX_SECONDS = 93 * 86400.0
_GROUPS = {0: stats.DAY, 1: stats.DAY, 2: stats.TAG, 3: stats.STREAM, 4: stats.DOMAIN}


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
            page = await as_async(self.store).list_events_async(who.tenant_id, cursor, types, request.message_id, PAGE)
            for record in page:
                yield convert.event(record)
                cursor = record.id
            if len(page) == PAGE:
                continue
            if request.no_follow:
                return
            await asyncio.sleep(POLL_SECONDS)

    @rpc("events.read")
    async def ListEvents(
        self, who: Principal, request: events_pb2.ListEventsRequest, context: Any
    ) -> events_pb2.ListEventsResponse:
        """One page of stored events matching the filters, oldest first."""
        size = _page_size(request.page_size)
        cursor = _page_token(request.page_token)
        start = request.start_time.ToNanoseconds() / 1e9 if request.HasField("start_time") else 0.0
        end = request.end_time.ToNanoseconds() / 1e9 if request.HasField("end_time") else float("inf")
        if start and not cursor and not request.message_id:
            first = await asyncio.to_thread(self.store.events_since, who.tenant_id, start, 0, 1)
            cursor = first[0].id - 1 if first else cursor
        found, cursor, more = await asyncio.to_thread(
            self._page, who.tenant_id, cursor, list(request.types), request.message_id,
            request.recipient.strip().lower(), (start, end), size)
        return events_pb2.ListEventsResponse(events=[convert.event(e) for e in found],
                                             next_page_token=str(cursor) if more else "")

    def _page(self, tenant_id: str, cursor: int, types: list[str], message_id: str, recipient: str,
              window: tuple[float, float], size: int) -> tuple[list[EventRecord], int, bool]:
        """Read pages until ``size`` events pass the filters; (events, next cursor, maybe more)."""
        found: list[EventRecord] = []
        while len(found) < size:
            page = self.store.list_events(tenant_id, cursor, types, message_id, PAGE)
            for e in page:
                if e.time >= window[1]:
                    return found, cursor, False
                cursor = e.id
                if window[0] <= e.time and (not recipient or e.recipient.lower() == recipient):
                    found.append(e)
                    if len(found) == size:
                        return found, cursor, True
            if len(page) < PAGE:
                return found, cursor, False
        return found, cursor, True

    @rpc("events.read")
    async def GetStats(
        self, who: Principal, request: events_pb2.GetStatsRequest, context: Any
    ) -> events_pb2.GetStatsResponse:
        """Counts and rates per day, tag, stream or domain over a period (at most 93 days)."""
        now = time.time()
        end = request.end_time.ToNanoseconds() / 1e9 if request.HasField("end_time") else now
        start = request.start_time.ToNanoseconds() / 1e9 if request.HasField("start_time") else end - STATS_DEFAULT_SECONDS
        if end <= start:
            raise InvalidArgumentError("end_time", "must be after start_time")
        if end - start > STATS_MAX_SECONDS:
            raise InvalidArgumentError("start_time", "the period is at most 93 days")
        group = _GROUPS.get(request.group_by)
        if group is None:
            raise InvalidArgumentError("group_by", "unknown grouping")
        rows, overall = await asyncio.to_thread(stats.collect, self.store, who.tenant_id, start, end, group)
        return events_pb2.GetStatsResponse(rows=[_row(key, rows[key]) for key in sorted(rows)],
                                           total=_row("", overall))


def _page_size(value: int) -> int:
    if value < 0 or value > LIST_MAX:
        raise InvalidArgumentError("page_size", f"must be 0 (= {LIST_DEFAULT}) to {LIST_MAX}")
    return value or LIST_DEFAULT


def _page_token(token: str) -> int:
    if not token:
        return 0
    if not token.isdigit() or len(token) > 19:
        raise InvalidArgumentError("page_token", "is not a token this API returned")
    return int(token)


def _row(key: str, counts: stats.Counts) -> events_pb2.StatsRow:
    return events_pb2.StatsRow(
        key=key, sent=counts.sent, delivered=counts.delivered, bounced=counts.bounced, complained=counts.complained,
        opened_human=counts.opened_human, opened_machine=counts.opened_machine, clicked_human=counts.clicked_human,
        clicked_machine=counts.clicked_machine, unique_opened_human=len(counts.opened_by),
        unique_clicked_human=len(counts.clicked_by), unsubscribed=counts.unsubscribed, **stats.rates(counts),
    )

