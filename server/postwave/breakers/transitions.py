"""Breaker transitions: trip (automatic, upward) and resume (an operator, downward).

Each transition is one compare-and-set of the tenant's stored state together with an audit
record and an event for the tenant (``breaker.slowed``, ``breaker.bulk_paused``,
``breaker.paused``, ``breaker.resumed``: in ListEvents, StreamEvents and webhooks like any
other event, with no message id), and a metric. Of several workers that see the same spike,
one trips the breaker; the others find the state changed and adopt it.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from postwave import metrics
from postwave.breakers.policy import STREAMS, BreakerPolicy, rank
from postwave.errors import FailedPreconditionError
from postwave.store.base import (
    BreakerAudit,
    BreakerState,
    BreakerTotals,
    EventRecord,
    Store,
)

__all__ = ["closed_state", "evaluate", "resume", "window_totals"]

log = logging.getLogger(__name__)

CAS_ATTEMPTS = 5


def closed_state(tenant_id: str) -> BreakerState:
    """The state of a tenant whose breaker never tripped."""
    return BreakerState(tenant_id, "closed", 0.0)


def window_totals(store: Store, policy: BreakerPolicy, state: BreakerState, now: float) -> dict[str, BreakerTotals]:
    """Each stream's totals over the window (not before the last resume)."""
    since = max(now - policy.window_seconds, state.counting_from)
    return {stream: store.breaker_totals(state.tenant_id, stream, since, now) for stream in STREAMS}


def evaluate(store: Store, policy: BreakerPolicy, tenant_id: str, now: float | None = None) -> BreakerState:
    """Trip the tenant's breaker to the level its windows reach, if higher; the state after."""
    now = time.time() if now is None else now
    for _ in range(CAS_ATTEMPTS):
        state = store.get_breaker(tenant_id) or closed_state(tenant_id)
        level, reason = state.level, ""
        for stream, totals in window_totals(store, policy, state, now).items():
            found, why = policy.judge(stream, totals)
            if rank(found) > rank(level):
                level, reason = found, why
        if level == state.level:
            return state
        new = BreakerState(tenant_id, level, now, reason, state.counting_from)
        if _write(store, state, new, "breaker", now):
            return new
    return store.get_breaker(tenant_id) or closed_state(tenant_id)


def resume(store: Store, tenant_id: str, stream: str, actor: str, now: float | None = None) -> BreakerState:
    """Resume a tenant's sending ("" = everything: closed; ``transactional``: a paused tenant's
    transactional mail, its bulk stays paused; ``bulk``: a tenant whose bulk alone is paused).
    Counting starts afresh. A closed breaker stays as it is.

    Raises:
        FailedPreconditionError: the stream is not paused on its own (field ``stream``).
    """
    now = time.time() if now is None else now
    for _ in range(CAS_ATTEMPTS):
        state = store.get_breaker(tenant_id) or closed_state(tenant_id)
        level = _resumed_level(state, stream)
        if level == state.level:
            return state
        new = BreakerState(tenant_id, level, now, f"resumed by {actor}", counting_from=now)
        if _write(store, state, new, actor, now):
            return new
    return store.get_breaker(tenant_id) or closed_state(tenant_id)


def _resumed_level(state: BreakerState, stream: str) -> str:
    if not stream or state.level == "closed":
        return "closed"
    if stream == "transactional" and state.level == "paused":
        return "bulk_paused"
    if stream == "bulk" and state.level == "bulk_paused":
        return "closed"
    hint = {"transactional": "its transactional stream is not paused", "bulk": "resume transactional first, or "
            "everything (stream empty)" if state.level == "paused" else "its bulk stream is not paused"}[stream]
    raise FailedPreconditionError(f"tenant {state.tenant_id!r} is {state.level}: {hint}", field="stream")


def _write(store: Store, old: BreakerState, new: BreakerState, actor: str, now: float) -> bool:
    audit = BreakerAudit(new.tenant_id, now, old.level, new.level, actor, new.reason)
    kind = "resumed" if rank(new.level) < rank(old.level) else new.level
    detail = json.dumps({"level": new.level, "previous": old.level, "reason": new.reason, "actor": actor})
    event = EventRecord(new.tenant_id, "", f"breaker.{kind}", now, detail)
    if not store.set_breaker(new, old.version, audit, [event]):
        return False
    metrics.breaker_transition(new.tenant_id, old.level, new.level)
    logger: Any = log.warning if rank(new.level) > rank(old.level) else log.info
    logger("circuit breaker of tenant %s: %s -> %s (%s; by %s)", new.tenant_id, old.level, new.level, new.reason,
           actor)
    return True

