"""IP warm-up: caps on a new source IP's sends per day and per hour, shared by all workers.

Mailbox providers distrust an IP with no sending history; volume has to grow over weeks.
A warming IP's caps come from the schedule by its warm-up day (day 1 = the UTC day it
started, configured or its first use); the counts live in the store, so they survive
restarts and every worker on every host draws from the same caps.

A store call per message would be too dear, so a worker reserves sends in small blocks
(about a twentieth of the hourly cap, at most 50) and spends them locally. A block left
over when the hour ends, or when a worker stops, is never sent: the caps may be under-used
by a block per worker, never exceeded.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from postwave.shaping.policy import PoolIP, Warmup
from postwave.store.base import Store

__all__ = ["WarmupLedger", "hour_of"]

log = logging.getLogger(__name__)

Load = Callable[..., Awaitable[Any]]

MAX_BLOCK = 50


def hour_of(now: float) -> int:
    """The UTC hour number (hours since the epoch) of ``now``."""
    return int(now // 3600)


@dataclasses.dataclass(slots=True)
class _Allowance:
    hour: int = -1
    left: int = 0
    exhausted_until: float = 0.0  # no cap left before this time (the next hour or day)


class WarmupLedger:
    """Per-IP warm-up allowances of one worker, backed by the store's shared counts."""

    def __init__(self, store: Store, warmup: Warmup) -> None:
        self.store = store
        self.warmup = warmup
        self._starts: dict[str, float] = {}
        self._warmed: set[str] = set()
        self._allowances: dict[str, _Allowance] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def is_warming(self, member: PoolIP, now: float) -> bool:
        """Whether ``member`` still has caps (False before its start is known: see :meth:`take`)."""
        if not member.warmup or member.ip in self._warmed:
            return False
        start = member.start if member.start is not None else self._starts.get(member.ip)
        return start is None or self._caps(start, now) is not None

    def blocked_for(self, member: PoolIP, now: float) -> float:
        """Seconds until a capped IP has room again (0.0: it may have room now)."""
        allowance = self._allowances.get(member.ip)
        return max(0.0, allowance.exhausted_until - now) if allowance else 0.0

    async def take(self, member: PoolIP, now: float, load: Load) -> bool:
        """Count one send from ``member``; False when its warm-up caps are used up."""
        if not member.warmup or member.ip in self._warmed:
            return True
        allowance = self._allowances.setdefault(member.ip, _Allowance())
        hour = hour_of(now)
        if allowance.hour == hour and allowance.left > 0:
            allowance.left -= 1
            return True
        if allowance.exhausted_until > now:
            return False
        lock = self._locks.setdefault(member.ip, asyncio.Lock())
        async with lock:  # one reservation per IP at a time; the others then find its block
            if allowance.hour == hour and allowance.left > 0:
                allowance.left -= 1
                return True
            return await self._reserve(member, allowance, now, load)

    async def _reserve(self, member: PoolIP, allowance: _Allowance, now: float, load: Load) -> bool:
        start = member.start if member.start is not None else await self._start(member.ip, now, load)
        caps = self._caps(start, now)
        if caps is None:
            self._warmed.add(member.ip)
            log.info("source IP %s has finished its warm-up", member.ip)
            return True
        daily, hourly = caps
        hour = hour_of(now)
        block = max(1, min(MAX_BLOCK, hourly // 20))
        granted = int(await load(self.store.reserve_ip_sends, member.ip, hour, block, hourly, daily))
        if granted == 0:
            in_hour, in_day = await load(self.store.ip_sends, member.ip, hour)
            day_full = in_day >= daily
            allowance.exhausted_until = (hour // 24 + 1) * 86400.0 if day_full else (hour + 1) * 3600.0
            log.info("source IP %s reached its warm-up cap (%d of %d today, %d of %d this hour)",
                     member.ip, in_day, daily, in_hour, hourly)
            return False
        allowance.hour, allowance.left = hour, granted - 1
        return True

    async def _start(self, ip: str, now: float, load: Load) -> float:
        start = self._starts.get(ip)
        if start is None:
            start = self._starts[ip] = float(await load(self.store.ip_warmup_start, ip, now))
        return start

    def _caps(self, start: float, now: float) -> tuple[int, int] | None:
        day = int(now // 86400) - int(start // 86400) + 1
        return self.warmup.caps(max(1, day))
