"""The suppression RPCs of AdminService (scope admin), mixed into AdminServicer.

A tenant manages its own list; an operator's key may name another tenant. Every address is
keyed as acceptance looks it up (see policy.suppression_key), and a bad entry fails the
whole AddSuppressions call with the index of the entry in the field path.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from postwave.api.auth import Principal
from postwave.api.convert import timestamp
from postwave.api.rpc import rpc
from postwave.errors import InvalidArgumentError, NotFoundError, PermissionDeniedError
from postwave.store.base import Store, Suppression
from postwave.suppression.policy import check_reason, suppression_key
from postwave.v1 import admin_pb2

MAX_ADD = 1000
DEFAULT_PAGE = 100
MAX_PAGE = 1000
ADD_SOURCES = ("manual", "import")


def suppression_message(entry: Suppression) -> admin_pb2.Suppression:
    """The API message of an entry."""
    message = admin_pb2.Suppression(
        address=entry.address, reason=entry.reason, source=entry.source, source_event_id=entry.source_event_id,
        message_id=entry.message_id, created=timestamp(entry.created),
    )
    if entry.expires is not None:
        message.expires.CopyFrom(timestamp(entry.expires))
    return message


def new_entries(tenant_id: str, request: admin_pb2.AddSuppressionsRequest, now: float) -> list[Suppression]:
    """Validated entries of an AddSuppressions request (InvalidArgumentError names the entry)."""
    source = request.source or "manual"
    if source not in ADD_SOURCES:
        raise InvalidArgumentError("source", f"must be one of {', '.join(ADD_SOURCES)} (or empty)")
    if not request.suppressions:
        raise InvalidArgumentError("suppressions", "give at least one address")
    if len(request.suppressions) > MAX_ADD:
        raise InvalidArgumentError("suppressions", f"at most {MAX_ADD} per call; split larger imports")
    entries: dict[str, Suppression] = {}
    for i, item in enumerate(request.suppressions):
        field = f"suppressions[{i}]"
        address = suppression_key(item.address, field=f"{field}.address")
        expires = item.expires.ToNanoseconds() / 1e9 if item.HasField("expires") else None
        if expires is not None and expires <= now:
            raise InvalidArgumentError(f"{field}.expires", "must lie in the future (leave it unset for good)")
        reason = check_reason(item.reason or "manual", field=f"{field}.reason")
        entries[address] = Suppression(tenant_id, address, reason, expires, source=source, created=now)
    return list(entries.values())


class SuppressionRpcs:
    """AddSuppressions, GetSuppression, ListSuppressions, RemoveSuppression."""

    store: Store

    async def _suppression_tenant(self, who: Principal, tenant_id: str) -> str:
        """The tenant whose list a request manages: the caller's, or any for an operator."""
        if not tenant_id or tenant_id == who.tenant_id:
            return who.tenant_id
        if not who.operator:
            raise PermissionDeniedError("only an operator tenant's admin key may manage another tenant's suppressions")
        if await asyncio.to_thread(self.store.get_tenant, tenant_id) is None:
            raise NotFoundError(f"tenant {tenant_id!r} not found")
        return tenant_id

    async def _live_entry(
        self, who: Principal, request: admin_pb2.GetSuppressionRequest | admin_pb2.RemoveSuppressionRequest
    ) -> tuple[str, Suppression]:
        """(tenant, its live entry for the requested address); NOT_FOUND when there is none."""
        tenant_id = await self._suppression_tenant(who, request.tenant_id)
        address = suppression_key(request.address)
        entry = await asyncio.to_thread(self.store.get_suppression, tenant_id, address, time.time())
        if entry is None:
            raise NotFoundError(f"{address} is not suppressed")
        return tenant_id, entry

    @rpc("admin")
    async def AddSuppressions(
        self, who: Principal, request: admin_pb2.AddSuppressionsRequest, context: Any
    ) -> admin_pb2.AddSuppressionsResponse:
        """Suppress addresses, all or none."""
        tenant_id = await self._suppression_tenant(who, request.tenant_id)
        entries = new_entries(tenant_id, request, time.time())
        await asyncio.to_thread(self.store.put_suppressions, entries)
        return admin_pb2.AddSuppressionsResponse(added=len(entries))

    @rpc("admin")
    async def GetSuppression(
        self, who: Principal, request: admin_pb2.GetSuppressionRequest, context: Any
    ) -> admin_pb2.Suppression:
        """Whether an address is suppressed, and why."""
        _, entry = await self._live_entry(who, request)
        return suppression_message(entry)

    @rpc("admin")
    async def ListSuppressions(
        self, who: Principal, request: admin_pb2.ListSuppressionsRequest, context: Any
    ) -> admin_pb2.ListSuppressionsResponse:
        """A page of the tenant's live suppressions."""
        tenant_id = await self._suppression_tenant(who, request.tenant_id)
        if not 0 <= request.page_size <= MAX_PAGE:
            raise InvalidArgumentError("page_size", f"must be 1-{MAX_PAGE} (0 = {DEFAULT_PAGE})")
        entries, token = await asyncio.to_thread(
            self.store.list_suppressions, tenant_id, request.page_token, request.page_size or DEFAULT_PAGE, time.time())
        return admin_pb2.ListSuppressionsResponse(
            suppressions=[suppression_message(e) for e in entries], next_page_token=token)

    @rpc("admin")
    async def RemoveSuppression(
        self, who: Principal, request: admin_pb2.RemoveSuppressionRequest, context: Any
    ) -> admin_pb2.Suppression:
        """Lift a suppression; the entry it was."""
        tenant_id, entry = await self._live_entry(who, request)
        if not await asyncio.to_thread(self.store.remove_suppression, tenant_id, entry.address):
            raise NotFoundError(f"{entry.address} is not suppressed")
        return suppression_message(entry)
