"""The circuit breaker RPCs of AdminService, mixed into AdminServicer.

GetTenantBreaker: a tenant reads its own breaker, an operator any tenant's. ResumeTenantBreaker:
operators only -- a tenant that could resume itself would make the breaker pointless.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from postwave.api.auth import Principal
from postwave.api.convert import timestamp
from postwave.api.rpc import rpc
from postwave.breakers.policy import STREAMS, BreakerPolicy, check_stream
from postwave.breakers.transitions import closed_state, resume, window_totals
from postwave.errors import InvalidArgumentError, NotFoundError, PermissionDeniedError
from postwave.store.base import BreakerState, BreakerTotals, Store
from postwave.v1 import admin_pb2

DEFAULT_HISTORY = 20
MAX_HISTORY = 1000


def breaker_message(state: BreakerState, totals: dict[str, BreakerTotals], window: float,
                    history: list[Any]) -> admin_pb2.TenantBreaker:
    """The API message of a tenant's breaker."""
    message = admin_pb2.TenantBreaker(tenant_id=state.tenant_id, level=state.level, reason=state.reason)
    if state.since:
        message.since.CopyFrom(timestamp(state.since))
    if state.counting_from:
        message.counting_from.CopyFrom(timestamp(state.counting_from))
    for stream, t in totals.items():
        sent = t.delivered + t.bounced
        message.windows.add(stream=stream, window_seconds=window, delivered=t.delivered, bounced=t.bounced,
                            complained=t.complained, bounce_rate=t.bounced / sent if sent else 0.0,
                            complaint_rate=t.complained / t.delivered if t.delivered else 0.0)
    for a in history:
        message.history.add(time=timestamp(a.time), from_level=a.from_level, to_level=a.to_level, actor=a.actor,
                            reason=a.reason)
    return message


class BreakerRpcs:
    """GetTenantBreaker, ResumeTenantBreaker."""

    store: Store
    breaker_policy: BreakerPolicy

    async def _breaker_tenant(self, who: Principal, tenant_id: str, *, manage: bool) -> str:
        """The tenant a request is about; NOT_FOUND for a tenant that does not exist."""
        tenant_id = tenant_id or who.tenant_id
        if (manage or tenant_id != who.tenant_id) and not who.operator:
            raise PermissionDeniedError("only an operator tenant's admin key may "
                                        + ("resume a circuit breaker" if manage else "read another tenant's breaker"))
        if await asyncio.to_thread(self.store.get_tenant, tenant_id) is None:
            raise NotFoundError(f"tenant {tenant_id!r} not found")
        return tenant_id

    async def _breaker_answer(self, state: BreakerState, stream: str, limit: int) -> admin_pb2.TenantBreaker:
        def read() -> admin_pb2.TenantBreaker:
            totals = window_totals(self.store, self.breaker_policy, state, time.time())
            history = self.store.breaker_history(state.tenant_id, limit)
            shown = {s: totals[s] for s in STREAMS if not stream or s == stream}
            return breaker_message(state, shown, self.breaker_policy.window_seconds, history)

        return await asyncio.to_thread(read)

    @rpc("admin")
    async def GetTenantBreaker(
        self, who: Principal, request: admin_pb2.GetTenantBreakerRequest, context: Any
    ) -> admin_pb2.TenantBreaker:
        """A tenant's breaker: level, windows, history."""
        stream = check_stream(request.stream)
        if not 0 <= request.history_limit <= MAX_HISTORY:
            raise InvalidArgumentError("history_limit", f"must be 0-{MAX_HISTORY} (0 = {DEFAULT_HISTORY})")
        tenant_id = await self._breaker_tenant(who, request.tenant_id, manage=False)
        state = await asyncio.to_thread(self.store.get_breaker, tenant_id) or closed_state(tenant_id)
        return await self._breaker_answer(state, stream, request.history_limit or DEFAULT_HISTORY)

    @rpc("admin")
    async def ResumeTenantBreaker(
        self, who: Principal, request: admin_pb2.ResumeTenantBreakerRequest, context: Any
    ) -> admin_pb2.TenantBreaker:
        """Lift a tripped breaker (operators only): everything or one stream."""
        stream = check_stream(request.stream)
        if not request.tenant_id:
            raise InvalidArgumentError("tenant_id", "name the tenant whose breaker to resume")
        tenant_id = await self._breaker_tenant(who, request.tenant_id, manage=True)
        state = await asyncio.to_thread(resume, self.store, tenant_id, stream, f"api:{who.key_id}")
        return await self._breaker_answer(state, "", DEFAULT_HISTORY)
