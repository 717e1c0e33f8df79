"""The worker's side of the tenant circuit breakers: count outcomes, hold back what a
tripped breaker stops, and trip it when a window says so.

- ``count`` -- every final SMTP outcome of a tenant's stream (delivered; bounced, except
  policy refusals, which are about our IP and go to the shaper) is counted in memory and
  written as one sample per (tenant, stream) every ``breaker_refresh_seconds``; then each
  tenant counted is evaluated (transitions.evaluate). The feedback receiver adds the
  asynchronous bounces and complaints the same way (:class:`SampleWriter`).
- ``gate`` -- before a message is sent: a paused tenant's (or paused bulk stream's) message
  goes back to the queue for ``breaker_hold_seconds``, untouched (no attempt, no event);
  a slowed tenant's messages pass at ``breaker_slow_rate_per_minute`` (this worker's share).
  The state is read from the store on a tenant's first message and refreshed every
  ``breaker_refresh_seconds``, so every worker honours a transition within that time.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

from postwave import metrics, native
from postwave.breakers.policy import BreakerPolicy
from postwave.breakers.transitions import closed_state, evaluate
from postwave.store.base import (
    BreakerSample,
    BreakerState,
    EventRecord,
    MessageRecord,
    Store,
)

__all__ = ["Breakers", "SampleWriter", "feedback_samples", "merge_samples", "writer_name"]

log = logging.getLogger(__name__)

MIN_HOLD = 0.05
FORGET_SECONDS = 600.0  # a tenant without messages this long is no longer re-read (its next message reads it)


def writer_name(role: str) -> str:
    """Who counted a sample: role, host and process (keeps concurrent writers' rows apart)."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}"


class SampleWriter:
    """Writes samples and evaluates the tenants they concern (the feedback receiver's side)."""

    def __init__(self, store: Store, policy: BreakerPolicy) -> None:
        self.store = store
        self.policy = policy

    def record(self, samples: Sequence[BreakerSample]) -> dict[str, BreakerState]:
        """Write ``samples``; the state of each tenant they concern after evaluating it."""
        if not samples or not self.policy.enabled:
            return {}
        self.store.add_breaker_samples(samples)
        now = time.time()
        return {tenant: evaluate(self.store, self.policy, tenant, now)
                for tenant in dict.fromkeys(s.tenant_id for s in samples)}


class Breakers(SampleWriter):
    """One worker's breaker gate and outcome counts."""

    def __init__(self, store: Store, policy: BreakerPolicy, *, shares: Callable[[], int]) -> None:
        super().__init__(store, policy)
        self.shares = shares  # live workers: a slowed tenant's rate is shared by all of them
        self.writer = writer_name("worker")
        self._counts: dict[tuple[str, str], list[int]] = {}
        self._states: dict[str, tuple[BreakerState, float]] = {}  # tenant -> (state, monotonic read time)
        self._seen: dict[str, float] = {}  # tenant -> monotonic time of its last message here
        self._buckets = native.tokenbucket.TokenBuckets(max(policy.slow_rate_per_minute / 60.0, 1e-6))

    def count(self, tenant_id: str, stream: str, *, delivered: int = 0, bounced: int = 0) -> None:
        """Count a final outcome of a tenant's stream."""
        if self.policy.enabled:
            counts = self._counts.setdefault((tenant_id, stream), [0, 0])
            counts[0] += delivered
            counts[1] += bounced

    async def gate(self, tenant_id: str, stream: str, load: Any) -> tuple[float, str] | None:
        """None: the message may go; else (seconds to hold it back, why)."""
        if not self.policy.enabled:
            return None
        state = await self._state(tenant_id, load)
        self._seen[tenant_id] = time.monotonic()
        level = state.level
        if level == "paused" or (level == "bulk_paused" and stream == "bulk"):
            metrics.count_breaker_hold(tenant_id, "paused")
            return self.policy.hold_seconds, f"tenant {level}"
        if level in ("slowed", "bulk_paused"):
            now = time.monotonic()
            cost = float(max(1, self.shares()))
            if not self._buckets.try_acquire(tenant_id, cost, now):
                metrics.count_breaker_hold(tenant_id, "slowed")
                return max(MIN_HOLD, self._buckets.wait_time(tenant_id, cost, now)), "tenant slowed"
        return None

    async def flush(self, load: Any) -> None:
        """Write the counted samples, evaluate their tenants, re-read stale states."""
        counts, self._counts = self._counts, {}
        now = time.time()
        samples = [BreakerSample(tenant, stream, now, delivered=d, bounced=b, writer=self.writer)
                   for (tenant, stream), (d, b) in counts.items() if d or b]
        try:
            for tenant, state in (await load(self.record, samples)).items():
                self._remember(state)
        except Exception:
            for (tenant, stream), (d, b) in counts.items():  # kept for the next flush
                self.count(tenant, stream, delivered=d, bounced=b)
            raise
        now_mono = time.monotonic()
        for tenant in [t for t, seen in self._seen.items() if now_mono - seen > FORGET_SECONDS]:
            del self._seen[tenant]
            self._states.pop(tenant, None)
        stale = [t for t, (_, read) in self._states.items() if now_mono - read >= self.policy.refresh_seconds]
        for tenant in stale:
            self._remember(await load(self._read, tenant))

    async def _state(self, tenant_id: str, load: Any) -> BreakerState:
        known = self._states.get(tenant_id)
        if known is None:
            self._remember(await load(self._read, tenant_id))
            known = self._states[tenant_id]
        return known[0]

    def _read(self, tenant_id: str) -> BreakerState:
        return self.store.get_breaker(tenant_id) or closed_state(tenant_id)

    def _remember(self, state: BreakerState) -> None:
        before = self._states.get(state.tenant_id)
        self._states[state.tenant_id] = (state, time.monotonic())
        if before is not None and before[0].level != state.level:
            log.info("tenant %s's circuit breaker is now %s (%s)", state.tenant_id, state.level, state.reason)
        if state.level in ("slowed", "bulk_paused") and (before is None or before[0].level != state.level):
            self._buckets.configure(state.tenant_id, self.policy.slow_rate_per_minute / 60.0, 1.0, time.monotonic())
        metrics.set_breaker_level(state.tenant_id, state.level)


def feedback_samples(msg: MessageRecord, events: Sequence[EventRecord]) -> list[BreakerSample]:
    """What a feedback report counts: a hard bounce or a complaint of ``msg``'s tenant and stream
    (soft bounces and blocks -- refusals of our IP -- are not the tenant's list quality)."""
    bounced = sum(1 for e in events if e.type == "bounced" and e.detail.startswith("hard "))
    complained = sum(1 for e in events if e.type == "complained")
    if not bounced and not complained:
        return []
    return [BreakerSample(msg.tenant_id, msg.lane, time.time(), bounced=bounced, complained=complained,
                          writer=writer_name("feedback"))]


def merge_samples(samples: Sequence[BreakerSample]) -> list[BreakerSample]:
    """One sample per (tenant, stream, writer): the sums, stamped with the latest time."""
    merged: dict[tuple[str, str, str], BreakerSample] = {}
    for s in samples:
        key = (s.tenant_id, s.stream, s.writer)
        had = merged.get(key)
        merged[key] = s if had is None else BreakerSample(
            s.tenant_id, s.stream, max(had.time, s.time), had.delivered + s.delivered, had.bounced + s.bounced,
            had.complained + s.complained, s.writer)
    return list(merged.values())
